import Base
import Dispatch
import Foundation

/// When appended log bytes are fsynced.
public enum FsyncPolicy: String, CaseIterable, Sendable, Codable {
    /// fsync before `append` returns: what `append` returns is durable (ACK it).
    case always
    /// fsync at most once a second from a background timer (the default): up to ~1 s may be lost on power loss.
    case everysec
    /// Never fsync appends explicitly; the OS writes back when it likes (segment rolls and publishes still fsync).
    case no
}

/// The replica's data directory: a base RDB snapshot from the master's full sync, a framed log of the raw
/// replication stream after it, and a manifest tying them to a replication position.
///
/// Layout of DIR:
///
///     MANIFEST               JSON (see `Manifest`), replaced atomically
///     snapshot-NNNNNN.rdb    the master's full-sync RDB, byte for byte
///     log-NNNNNN.seg         framed records of stream bytes (see `LogRecord`), rolled at `segmentSize`
///     fullsync-NNNNNN.rdb.tmp  a full sync being received (deleted if interrupted)
///     snapshot-NNNNNN.received a full sync received and fsynced, not yet published (see `ReceivedSnapshot`)
///     LOCK                   flock(2) by the process that has the store open for writing
///     state.json             the follower's link state for `status` (see `FollowerState`)
///
/// Usage by the replication driver (single caller; the background fsync is internal):
///
///     let store = try ReplicaStore.open(directory: dir, fsync: .everysec)
///     if let p = store.position { send PSYNC p.replid p.psyncOffset } else { send PSYNC ? -1 }
///     // +FULLRESYNC id off:
///     let w = try store.beginFullSync(replid: id, offset: off)
///     try w.write(chunk) ...             // RDB payload bytes only (no $len line, no EOF mark)
///     try w.finish()                     // fsync
///     try store.markReceived(w, verified: nil) // durable: a restart publishes it (store.receivedSnapshot)
///     // verify w.path with the RDB reader (or while the bytes arrived), then:
///     try store.publish(w)               // atomically becomes the base; the log restarts empty
///     // +CONTINUE [id]:
///     try store.recordPartialSync(replid: id)   // durable before any further append
///     // stream bytes, cut at complete commands outside MULTI, with the db selected after them:
///     let end = try store.append(bytes, streamDB: db)
///     // ACK `end` (or `store.durableOffset` to ACK only what is fsynced)
///
/// The class is thread-safe (one lock), but meant to be driven from one place.
///
/// `@unchecked Sendable`: the mutable state (manifest, current segment, offsets, failure) is read and
/// written under `lock`; the background pass (`syncPass`, SegmentRoll.swift: the `everysec` fsync, the
/// seal of rolled segments, the manifest write after a roll, the next segment's creation) takes what it
/// needs under it and does its file operations outside it, which the file allows (see `POSIXFile`).
/// Manifest file writes also hold `manifestLock`, always taken before `lock`.
public final class ReplicaStore: @unchecked Sendable {
    public struct Options: Sendable {
        /// Roll to a new segment when the current one reaches this size (at a record boundary).
        public var segmentSize: Int64 = 64 << 20
        /// Run the `everysec` fsync on a background timer. Tests turn it off and call `sync()`.
        public var backgroundSync: Bool = true
        /// The background fsync first rolls to the segment created ahead when the current one holds at
        /// least this many bytes not yet fsynced (0: never), so the fsync runs on a file no longer written
        /// to: on Linux ext4 an append to a file being written back waits for its last page's lock and
        /// for its block allocation (measured with tools/thread-waits: 36–43 ms). See SegmentRoll.swift.
        public var rollBeforeSyncBytes: Int64 = 4 << 20
        /// Wall clock in Unix ms (for the manifest's last-sync time).
        public var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        /// Write clock records (`LogRecord`, the time from `clock`) with the appended stream bytes, so a replay
        /// knows when each command arrived (`follow` turns it on; off, the log holds stream records only).
        public var recordArrivalTime: Bool = false
        public init(segmentSize: Int64 = 64 << 20, backgroundSync: Bool = true, rollBeforeSyncBytes: Int64 = 4 << 20) {
            self.segmentSize = segmentSize
            self.backgroundSync = backgroundSync
            self.rollBeforeSyncBytes = rollBeforeSyncBytes
        }
    }

    public let directory: String
    public let fsyncPolicy: FsyncPolicy
    let fs: FileSystem
    let options: Options
    // Internal, not private: the compaction (Compaction.swift) and the log readers' pins (LogPins.swift)
    // work on the same state under the same lock.
    let lock = Lock()
    /// Held by every write of the manifest file, taken before `lock` (never while holding it).
    let manifestLock = Lock()
    private var lockToken: AnyObject?

    var manifest: Manifest? {
        didSet {
            published.snapshotOffset.store(manifest?.snapshot.offset ?? -1, ordering: .releasing)
            published.manifestGeneration.wrappingAdd(1, ordering: .releasing)
        }
    }
    /// What threads other than the link's read without `lock` (StoreWatch.swift).
    let published = PublishedPosition()
    var segment: DurableFile?
    var segmentBytes: Int64 = 0
    /// File bytes of all segments before the current one.
    var earlierSegmentsBytes: Int64 = 0
    /// The position's offset: the end of the last record that closes a command outside MULTI.
    var endOffset: Int64 = 0 {
        didSet { published.endOffset.store(endOffset, ordering: .releasing) }
    }
    /// Payload bytes written after `endOffset` in records flagged `continues` (an unfinished command), and
    /// the segment size before the first of them (where `discardUnfinished` truncates to).
    var unfinishedBytes: Int64 = 0
    var unfinishedFrom: Int64 = 0
    var currentDB = 0
    /// The time of the last clock record written into the current segment (nil: none yet in it).
    var lastClockMs: Int64?
    var durable: Int64 = 0
    var nextFileNumber = 1
    var failure: StoreError?
    var closed = false
    /// Segments a compaction dropped from the manifest that a log reader still needs (see LogPins.swift).
    var retained: [RetainedSegment] = []
    var pins: [Int: Int64] = [:]
    /// Sealed segments taken on trust at open, not yet verified (SealedVerification.swift).
    var unverifiedSealed: [SegmentScan] = [] {
        didSet { published.sealedVerified.store(unverifiedSealed.isEmpty, ordering: .releasing) }
    }
    var nextPinID = 0
    /// Segments rolled away from, not yet fsynced, oldest first; the next segment, created ahead of the
    /// roll; whether the manifest file lags behind the in-memory one (a roll not yet written); +1 at every
    /// publish, so background work begun before one changes nothing after it; work left for `sync()` when
    /// `Options.backgroundSync` is off. See SegmentRoll.swift.
    var unsealed: [UnsealedSegment] = []
    var spare: SpareSegment?
    var manifestBehind = false
    var epoch = 0
    var pendingWork = false
    var timer: DispatchSourceTimer?
    let syncQueue = DispatchQueue(label: "redis-replica.store.fsync")
    /// What recovery cut from the last segment at open, if anything.
    public private(set) var recoveredTornTail: TornTail?
    /// Leftover files deleted at open.
    public private(set) var removedLeftovers: [String] = []
    /// A full sync that was received completely and fsynced before the last stop, found at open: verify it
    /// (unless `received.verified` says it was) and `publish` it, or `abort` it, before resuming.
    public private(set) var receivedSnapshot: FullSyncWriter?
    /// Received-snapshot markers found at open that were not usable, and why (their files were deleted).
    public private(set) var discardedReceived: [String] = []

    private init(directory: String, fsync: FsyncPolicy, fs: FileSystem, options: Options) {
        self.directory = directory
        self.fsyncPolicy = fsync
        self.fs = fs
        self.options = options
    }

    deinit {
        timer?.cancel()
    }

    // MARK: Opening

    /// Opens (creating if needed) a data directory for writing and recovers it:
    /// reads the manifest, checks the snapshot's header and AUX against it, scans the last log segment
    /// (sealed ones are taken on trust and verified later: `verifySealedSegments`), cuts a torn tail in
    /// it (truncate + fsync), deletes leftovers of interrupted operations.
    /// Throws `StoreError` naming the file and byte offset when the directory cannot be trusted.
    /// An empty directory opens with `position == nil` (send `PSYNC ? -1`).
    public static func open(directory: String, fsync: FsyncPolicy = .everysec,
                            fileSystem: FileSystem = POSIXFileSystem(), options: Options = Options()) throws -> ReplicaStore {
        let store = ReplicaStore(directory: directory, fsync: fsync, fs: fileSystem, options: options)
        if !fileSystem.exists(directory) {
            // A new directory's own name lives in its parent: fsync the parent too, or a crash could
            // take the directory and everything fsynced inside it.
            try fileSystem.createDirectory(directory)
            try fileSystem.syncDirectory(parentDirectory(of: directory))
        }
        do {
            store.lockToken = try fileSystem.lock(joinPath(directory, "LOCK"))
        } catch let e as FileLockedError {
            throw StoreError(.locked, file: e.path, offset: nil, "another process holds this data directory's lock (is `redis-replica follow` running?)")
        }
        let r = try Recovery.run(fs: fileSystem, directory: directory, sealed: .trust)
        store.nextFileNumber = r.highestFileNumber + 1
        store.unverifiedSealed = r.unverified
        var removedAny = false
        for name in r.leftovers {
            try fileSystem.remove(joinPath(directory, name))
            removedAny = true
        }
        store.removedLeftovers = r.leftovers
        store.discardedReceived = r.discardedReceived
        if let received = r.received {
            store.receivedSnapshot = FullSyncWriter(store: store, directory: directory, received: received)
        }
        if let m = r.manifest, let last = r.scans.last, let pos = r.position {
            // Segments rolled to after the manifest file was last written (adopted by recovery): cut what
            // follows the boundary in the ones before them, fsync those, and name them all (below).
            for cut in r.adoptionCuts {
                let f = try fileSystem.openForWriting(joinPath(directory, cut.file), truncate: false)
                try f.truncate(to: cut.fileOffset)
                f.close()
            }
            for name in r.adoptionPredecessors {
                let f = try fileSystem.openForWriting(joinPath(directory, name), truncate: false)
                try f.sync()
                f.close()
            }
            let path = joinPath(directory, last.file)
            let file = try fileSystem.openForWriting(path, truncate: false)
            if let torn = r.tornTail {
                try file.truncate(to: torn.fileOffset)
                try file.sync()
                store.recoveredTornTail = torn
            }
            store.manifest = m
            store.segment = file
            store.segmentBytes = last.validBytes
            store.earlierSegmentsBytes = r.scans.dropLast().reduce(0) { $0 + $1.validBytes }
            store.endOffset = pos.offset
            store.currentDB = pos.streamDB
            // A clean shutdown under `--fsync no` may have left the tail in the page cache only: fsync it
            // once, so everything recovered counts as durable from here on.
            if r.tornTail == nil { try file.sync() }
            store.durable = pos.offset
            if !r.adopted.isEmpty {
                store.manifest = try store.manifestLock.withLock { try store.lock.withLock { try store.writeManifest(m) } }
            }
        }
        if removedAny { try fileSystem.syncDirectory(directory) }
        if fsync == .everysec && options.backgroundSync { store.startTimer() }
        if store.manifest != nil { store.scheduleBackgroundPass() }
        return store
    }

    /// A read-only look at a data directory: the same checks as `open`, but nothing is cut, deleted or
    /// locked, so it is safe while `follow` runs (a record being appended shows up as `tornTail`).
    public static func inspect(directory: String, fileSystem: FileSystem = POSIXFileSystem()) throws -> StoreStatus {
        // The follower may roll or publish (replace and delete files) while we read: when a look fails and
        // the manifest changed meanwhile, look again; when it did not change, the error is real.
        var attempt = 0
        while true {
            let before = Manifest.currentBytes(directory: directory, fileSystem: fileSystem)
            do {
                let r = try Recovery.run(fs: fileSystem, directory: directory)
                return StoreStatus(directory: directory, recovery: r, durableOffset: nil,
                                   follower: FollowerState.read(directory: directory, fileSystem: fileSystem))
            } catch {
                attempt += 1
                if attempt >= 20 || Manifest.currentBytes(directory: directory, fileSystem: fileSystem) == before { throw error }
            }
        }
    }

    // MARK: Position

    /// The resume position, nil when the directory holds no full sync yet (send `PSYNC ? -1`).
    public var position: ReplicationPosition? {
        lock.withLock {
            manifest.map { ReplicationPosition(replid: $0.replid, offset: endOffset, streamDB: currentDB) }
        }
    }

    /// The highest offset known fsynced (equal to `position.offset` under `.always`).
    public var durableOffset: Int64 { lock.withLock { durable } }

    /// The previous replication id and `second_replid_offset`, if a +CONTINUE switched ids.
    public var replid2: (replid: String, offset: Int64)? {
        lock.withLock {
            guard let m = manifest, let r = m.replid2, let o = m.secondReplOffset else { return nil }
            return (r, o)
        }
    }

    /// The current manifest (nil before the first full sync).
    public var currentManifest: Manifest? { lock.withLock { manifest } }

    /// What `status` shows, for the open store.
    public var status: StoreStatus {
        lock.withLock {
            StoreStatus(directory: directory, manifest: manifest, offset: endOffset, streamDB: currentDB,
                        logBytes: logBytesLocked(), durableOffset: durable,
                        follower: FollowerState.read(directory: directory, fileSystem: fs))
        }
    }

    private func logBytesLocked() -> Int64 { earlierSegmentsBytes + segmentBytes }

    // MARK: Full sync

    /// Starts receiving a full sync announced by `+FULLRESYNC <replid> <offset>`: returns a writer for the RDB
    /// payload, streamed into `fullsync-NNNNNN.rdb.tmp` in the directory. The current state stays valid
    /// until `publish`.
    public func beginFullSync(replid: String, offset: Int64) throws -> FullSyncWriter {
        try lock.withLock {
            try checkUsable()
            guard ReplicationID.isValid(replid) else {
                throw StoreError(.invalidArgument, file: nil, offset: nil, "replid \"\(replid)\" is not 40 hex characters")
            }
            guard offset >= 0 && offset <= Int64(1) << 62 else {
                throw StoreError(.invalidArgument, file: nil, offset: nil, "full-sync offset \(offset) out of range")
            }
            let number = nextFileNumber
            let name = "fullsync-\(format6(number)).rdb.tmp"
            nextFileNumber += 1
            let path = joinPath(directory, name)
            let file = try fs.openForWriting(path, truncate: true)
            return FullSyncWriter(store: self, file: file, path: path, name: name, fileNumber: number,
                                  replid: replid, offset: offset)
        }
    }

    /// Makes a completely received full sync durable, before it is verified and published: fsync (if not
    /// yet), check its AUX against the +FULLRESYNC position, rename it to `snapshot-NNNNNN.rdb`, and write
    /// its marker `snapshot-NNNNNN.received` (see `ReceivedSnapshot`). From here on a crash never throws the
    /// transfer away: the next open finds it as `receivedSnapshot`. `verified` names the verification it
    /// already passed (recorded so a restart need not repeat it). Throws `snapshotMismatch` (nothing
    /// changed; `abort` the writer) when the payload's AUX names another position.
    public func markReceived(_ writer: FullSyncWriter, verified: String?) throws {
        if !writer.isFinished { try writer.finish() }
        try lock.withLock {
            try checkUsable()
            guard writer.store === self, !writer.isPublished else {
                throw StoreError(.invalidState, file: writer.path, offset: nil, "this full sync was already published or belongs to another store")
            }
            if writer.received != nil { return }
            let reader = try fs.openForReading(writer.path)
            defer { reader.close() }
            let (header, aux) = try SnapshotInspector.readPosition(file: reader, name: writer.path)
            let size = try reader.size()
            let crc64 = try SnapshotInspector.trailerCRC64(file: reader, size: size, header: header)
            // Redis and Valkey write the FULLRESYNC position into the full-sync RDB (`rdbPopulateSaveInfo`):
            // a payload that says otherwise is not the snapshot of the position announced.
            if let aux, let problem = aux.disagreement(replid: writer.replid, offset: writer.offset) {
                throw StoreError(.snapshotMismatch, file: writer.path, offset: nil,
                                 "the snapshot's AUX \(problem) (+FULLRESYNC \(writer.replid) \(writer.offset)); not publishing it")
            }
            let snapName = "snapshot-\(format6(writer.fileNumber)).rdb"
            let marker = ReceivedSnapshot(file: snapName, replid: writer.replid, offset: writer.offset, size: size,
                                          crc64: crc64.map { hexDigits($0, 16) }, verified: verified)
            let markerName = ReceivedSnapshot.markerName(forSnapshot: snapName)
            do {
                try fs.rename(writer.path, joinPath(directory, snapName))
                writer.path = joinPath(directory, snapName)
                writer.name = snapName
                // Its directory fsync also makes the rename above durable.
                try fs.writeAtomically(joinPath(directory, markerName), bytes: try marker.encoded(),
                                       temporary: joinPath(directory, markerName + ".tmp"))
                writer.received = marker
            } catch {
                throw poison(error, "recording the received full sync")
            }
        }
    }

    /// Makes a finished (fsynced, verified) full sync the new base: `markReceived` if not yet (its
    /// `snapshot-NNNNNN.rdb`), create an empty `log-NNNNNN.seg`, fsync the directory, replace the manifest
    /// (position = the FULLRESYNC replid/offset, replid2 cleared, last sync = full), and only then delete
    /// the received marker and the old snapshot and log segments.
    ///
    /// The snapshot's AUX `repl-id`/`repl-offset`/`repl-stream-db` are read (first records only) and
    /// recorded next to the FULLRESYNC position; the FULLRESYNC values are authoritative for the stream.
    /// Returns the snapshot record written to the manifest (compare `aux` with the position to log a
    /// difference).
    @discardableResult
    public func publish(_ writer: FullSyncWriter) throws -> SnapshotRecord {
        if writer.received == nil { try markReceived(writer, verified: nil) }
        return try manifestLock.withLock { try lock.withLock {
            try checkUsable()
            guard !writer.isPublished, writer.store === self, let received = writer.received else {
                throw StoreError(.invalidState, file: writer.path, offset: nil, "this full sync was already published or belongs to another store")
            }
            let reader = try fs.openForReading(writer.path)
            defer { reader.close() }
            let (_, aux) = try SnapshotInspector.readPosition(file: reader, name: writer.path)
            do {
                let snapName = received.file
                let segName = "log-\(format6(nextFileNumber)).seg"
                nextFileNumber += 1
                let seg = try fs.openForWriting(joinPath(directory, segName), truncate: true)
                try fs.syncDirectory(directory)
                let snapshot = SnapshotRecord(file: snapName, replid: writer.replid, offset: writer.offset,
                                              streamDB: aux?.streamDB ?? 0, aux: aux, size: received.size,
                                              crc64: received.crc64)
                let new = Manifest(replid: writer.replid, snapshot: snapshot,
                                   segments: [SegmentRecord(file: segName, start: writer.offset, startStreamDB: snapshot.streamDB)],
                                   lastSync: SyncRecord(kind: .full, unixMs: options.clock()),
                                   nextFileNumber: nextFileNumber)
                let old = manifest
                // From here the manifest may name the file: `abort` must never delete it.
                writer.isPublished = true
                // The old lineage's rolled segments need no seal (they are deleted below); a spare segment
                // numbered before the new one could never be adopted by recovery (SegmentRoll.swift).
                epoch += 1
                unsealed = []
                let oldSpare = spare
                spare = nil
                manifest = try writeManifest(new)
                if receivedSnapshot === writer { receivedSnapshot = nil }
                segment = seg
                segmentBytes = 0
                earlierSegmentsBytes = 0
                unfinishedBytes = 0
                endOffset = writer.offset
                currentDB = snapshot.streamDB
                durable = writer.offset
                // The marker, then the old base: all leftovers now (a crash leaves them to the next open).
                try fs.remove(joinPath(directory, ReceivedSnapshot.markerName(forSnapshot: snapName)))
                if let old {
                    var oldFiles = [old.snapshot.file] + old.segments.map(\.file) + retained.map(\.record.file)
                    retained = []
                    unverifiedSealed = []
                    oldFiles.removeAll { $0 == snapName || $0 == segName }
                    for f in oldFiles { try fs.remove(joinPath(directory, f)) }
                }
                if let oldSpare {
                    oldSpare.file.close()
                    try fs.remove(joinPath(directory, oldSpare.name))
                }
                try fs.syncDirectory(directory)
                scheduleBackgroundPass()
                return snapshot
            } catch {
                throw poison(error, "publishing the full sync")
            }
        } }
    }

    // MARK: Partial sync

    /// Records a `+CONTINUE [replid]`: when the master announces a new id, replid2 := the old id and
    /// second offset := current offset + 1 (Redis `slaveTryPartialResynchronization`), and the new id is
    /// adopted. Always records the last sync (partial, now). Durable (manifest replaced) when it returns:
    /// call it before appending the stream that follows.
    public func recordPartialSync(replid newID: String?) throws {
        try manifestLock.withLock { try lock.withLock {
            try checkUsable()
            guard var m = manifest else {
                throw StoreError(.invalidState, file: directory, offset: nil, "+CONTINUE without a stored position (no full sync yet)")
            }
            if let newID, newID != m.replid {
                guard ReplicationID.isValid(newID) else {
                    throw StoreError(.invalidArgument, file: nil, offset: nil, "replid \"\(newID)\" is not 40 hex characters")
                }
                m.replid2 = m.replid
                m.secondReplOffset = endOffset + 1
                m.replid = newID
            }
            m.lastSync = SyncRecord(kind: .partial, unixMs: options.clock())
            do {
                manifest = try writeManifest(m)
            } catch {
                throw poison(error, "recording the partial sync")
            }
        } }
    }

    /// fsyncs the log now (rolled segments not yet sealed, then the current one), writes the manifest if
    /// a roll left it behind (see SegmentRoll.swift); returns the durable offset.
    @discardableResult
    public func sync() throws -> Int64 {
        try lock.withLock { try checkUsable() }
        do {
            try syncPass(current: true, spare: false)
        } catch {
            lock.withLock { _ = poison(error, "fsync of the log") }
            throw error
        }
        return durableOffset
    }

    /// Stops the background fsync, fsyncs what was written (unless the policy is `.no`), releases the lock.
    public func close() throws {
        timer?.cancel()
        timer = nil
        syncQueue.sync {}
        let wasUsable = lock.withLock { !closed && failure == nil }
        if wasUsable && manifest != nil {
            do {
                try syncPass(current: fsyncPolicy != .no, spare: false)
            } catch {
                lock.withLock { _ = poison(error, "fsync of the log") }
                throw error
            }
        }
        // Under `manifestLock` too: a compaction's manifest switch holds it from its last check to its commit.
        let unused: SpareSegment? = manifestLock.withLock {
            lock.withLock {
                closed = true
                segment = nil
                unsealed = []
                defer { spare = nil }
                return spare
            }
        }
        // The spare segment is empty and named by nothing: not left for the next open to clean up.
        if let unused {
            unused.file.close()
            try? fs.remove(joinPath(directory, unused.name))
        }
        lock.withLock { lockToken = nil }
    }

    // MARK: Internals (lock held)

    func checkUsable() throws {
        if closed { throw StoreError(.invalidState, file: directory, offset: nil, "the store is closed") }
        if let failure { throw failure }
    }

    /// After a failed write or fsync the on-disk state is unknown: refuse everything until reopened.
    func poison(_ error: Error, _ what: String) -> StoreError {
        let e = (error as? StoreError) ?? StoreError(.failed, file: directory, offset: nil, "\(what) failed: \(error); reopen the store to recover")
        if failure == nil { failure = e }
        return e
    }

    func fileSystem() -> FileSystem { fs }

    static func isPlainName(_ s: String) -> Bool {
        !s.isEmpty && !s.contains("/") && s != "." && s != ".." && !s.contains("\0")
    }
}

func format6(_ n: Int) -> String {
    let s = String(n)
    return s.count >= 6 ? s : String(repeating: "0", count: 6 - s.count) + s
}
