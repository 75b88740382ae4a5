/// What `redis-replica status` reports about a data directory (JSON with `--json`).
public struct StoreStatus: Codable, Sendable, Equatable {
    public var directory: String
    /// False for an empty directory (no full sync yet: the follower would send `PSYNC ? -1`).
    public var hasPosition: Bool
    public var replid: String?
    /// The resume offset: snapshot offset + valid log bytes. PSYNC asks for offset + 1.
    public var offset: Int64?
    public var streamDB: Int?
    public var replid2: String?
    public var secondReplOffset: Int64?
    public var snapshot: SnapshotRecord?
    public var segmentCount: Int
    /// Bytes of the log files (framing included).
    public var logBytes: Int64
    /// Stream bytes held by the log (offset - snapshot offset).
    public var logStreamBytes: Int64
    public var lastSync: SyncRecord?
    /// Known fsynced offset (only for a store opened by this process).
    public var durableOffset: Int64?
    /// The last segment's tail that is not a whole record: a torn write that the next open cuts, or
    /// (while `follow` runs) a record being written.
    public var tornTail: TornTail?
    /// The follower's link state from `state.json`, when its pid is alive.
    public var follower: FollowerState?
    /// `state.json` names a pid that is not running.
    public var followerStale: Bool

    init(directory: String, recovery r: RecoveryResult, durableOffset: Int64?, follower: FollowerState?) {
        self.directory = directory
        let pos = r.position
        hasPosition = pos != nil
        replid = pos?.replid
        offset = pos?.offset
        streamDB = pos?.streamDB
        replid2 = r.manifest?.replid2
        secondReplOffset = r.manifest?.secondReplOffset
        snapshot = r.manifest?.snapshot
        segmentCount = r.scans.count
        logBytes = r.scans.reduce(0) { $0 + $1.fileSize }
        logStreamBytes = pos.map { $0.offset - (r.manifest?.snapshot.offset ?? 0) } ?? 0
        lastSync = r.manifest?.lastSync
        self.durableOffset = durableOffset
        tornTail = r.tornTail
        let alive = follower?.isProcessAlive ?? false
        self.follower = alive ? follower : nil
        followerStale = follower != nil && !alive
    }

    init(directory: String, manifest m: Manifest?, offset: Int64, streamDB: Int, logBytes: Int64,
         durableOffset: Int64, follower: FollowerState?) {
        self.directory = directory
        hasPosition = m != nil
        replid = m?.replid
        self.offset = m == nil ? nil : offset
        self.streamDB = m == nil ? nil : streamDB
        replid2 = m?.replid2
        secondReplOffset = m?.secondReplOffset
        snapshot = m?.snapshot
        segmentCount = m?.segments.count ?? 0
        self.logBytes = logBytes
        logStreamBytes = m.map { offset - $0.snapshot.offset } ?? 0
        lastSync = m?.lastSync
        self.durableOffset = m == nil ? nil : durableOffset
        tornTail = nil
        let alive = follower?.isProcessAlive ?? false
        self.follower = alive ? follower : nil
        followerStale = follower != nil && !alive
    }
}
