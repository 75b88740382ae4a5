import Base
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
    /// The last compaction since the last full sync (nil: the snapshot is the master's full-sync RDB).
    public var lastCompaction: CompactionRecord?
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
        lastCompaction = r.manifest?.compaction
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
        lastCompaction = m?.compaction
        self.durableOffset = m == nil ? nil : durableOffset
        tornTail = nil
        let alive = follower?.isProcessAlive ?? false
        self.follower = alive ? follower : nil
        followerStale = follower != nil && !alive
    }
}

import Foundation

extension StoreStatus {
    /// The status as JSON (sorted keys), for `status --json`.
    public func json() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(self), as: UTF8.self)
    }

    /// The status as aligned `label: value` lines, for `status`.
    public func text(nowUnixMs: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) -> String {
        var lines: [(String, String)] = [("directory", directory)]
        if let replid, let offset {
            lines.append(("replid", replid))
            lines.append(("offset", "\(offset) (resumes with PSYNC \(replid) \(offset + 1)), stream db \(streamDB ?? 0)"))
        } else {
            lines.append(("position", "none (no full sync yet: follow will send PSYNC ? -1)"))
        }
        if let replid2, let secondReplOffset {
            lines.append(("replid2", "\(replid2) (valid up to offset \(secondReplOffset))"))
        } else if hasPosition {
            lines.append(("replid2", "none"))
        }
        if let s = snapshot {
            lines.append(("snapshot", "\(s.file), \(Self.bytes(s.size)), replid \(s.replid) offset \(s.offset)"))
            if let aux = s.aux {
                let agree = aux.replid == s.replid && aux.offset == s.offset
                lines.append(("snapshot AUX", aux.description + (agree ? " (matches +FULLRESYNC)" : " (differs from +FULLRESYNC; the +FULLRESYNC position is used)")))
            } else {
                lines.append(("snapshot AUX", "no repl-id/repl-offset fields (the +FULLRESYNC position is used)"))
            }
        }
        if hasPosition {
            lines.append(("log", "\(segmentCount) segment\(segmentCount == 1 ? "" : "s"), \(Self.bytes(logBytes)) on disk, \(Self.bytes(logStreamBytes)) of stream"))
        }
        if hasPosition {
            if let c = lastCompaction {
                lines.append(("last compaction", "at offset \(c.offset), \(Self.time(c.unixMs)) (\(Self.ago(nowUnixMs - c.unixMs)) ago), \(c.count) since the full sync \(c.fullSyncSnapshot)"))
            } else {
                lines.append(("last compaction", "none since the full sync (the snapshot is the master's RDB)"))
            }
        }
        if let d = durableOffset { lines.append(("durable offset", String(d))) }
        if let t = tornTail {
            let running = follower != nil
            lines.append(("log tail", "\(t.bytes) bytes after byte \(t.fileOffset) of \(t.file) are not a whole record (\(t.reason)); "
                + (running ? "probably a record being written" : "cut at the next start")))
        }
        if let ls = lastSync {
            lines.append(("last sync", "\(ls.kind.rawValue) at \(Self.time(ls.unixMs)) (\(Self.ago(nowUnixMs - ls.unixMs)) ago)"))
        } else {
            lines.append(("last sync", "never"))
        }
        if let f = follower {
            var s = "\(f.link.rawValue)"
            if let since = f.linkSinceUnixMs { s += " since \(Self.time(since)) (\(Self.ago(nowUnixMs - since)))" }
            if let m = f.master { s += ", master \(m)" }
            s += ", follower pid \(f.pid)"
            if let a = f.ackedOffset { s += ", last ACK \(a)" }
            if let e = f.lastError { s += ", last error: \(e)" }
            s += ", state updated \(Self.ago(nowUnixMs - f.updatedUnixMs)) ago"
            lines.append(("link", s))
            lines.append(("dataset", f.dataset?.summary ?? "not kept (follow --no-dataset)"))
        } else if followerStale {
            lines.append(("link", "not running (state.json names a pid that is gone)"))
        } else {
            lines.append(("link", "not running"))
        }
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0 + ":" + String(repeating: " ", count: width - $0.0.count + 1) + $0.1 }.joined(separator: "\n")
    }

    static func bytes(_ n: Int64) -> String {
        if n < 1024 { return "\(n) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var v = Double(n) / 1024
        var i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return String(format: "%.1f %@ (%lld bytes)", v, units[i], n)
    }

    static func time(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static func ago(_ ms: Int64) -> String {
        let s = max(0, ms / 1000)
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
