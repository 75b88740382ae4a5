import Base
import Dispatch
import Foundation
import Keyspace
import Logging
import RDB
import ReplicaStore
import Synchronization

/// The master's dataset kept in memory next to the recording: on its own thread it loads the store's base
/// snapshot into a `Keyspace`, replays the committed log after it (from the snapshot's offset, with its
/// `repl-stream-db` selected) and then keeps tailing the log as the link appends, applying each command,
/// as a Redis replica loads the RDB and then applies its master's stream.
///
/// It only reads what the store has committed (through `LogTail`, from the segment files), so it can never
/// stall the link: the link records and ACKs whether or not the dataset keeps up. When the master's full
/// sync publishes a new snapshot, it starts over from it; the old dataset stays whole (and is what
/// `dataset()` returns) until the new one has caught up, then the two are swapped (Redis's
/// `repl-diskless-load swapdb`). A full sync's dataset is normally built while its bytes arrive
/// (`IncomingLoad`, see DatasetFollower+Incoming.swift): the follower then takes it instead of reading the
/// published file again, replays the log recorded meanwhile and swaps. A command the applier cannot take marks the dataset diverged (offset and
/// command, logged once at warning); recording goes on, because the log is still the truth.
///
/// `@unchecked Sendable`: `installed`, `installedSnapshot`, `stopRequested` and `started` are read and
/// written only under `lock`; `current` and `incomingLoad` only under `stateLock`; `lastNotify` and `yielded` only on the follower's own thread; `onStateChange` is set
/// before `start()` and only read afterwards (the thread start orders the two).
public final class DatasetFollower: @unchecked Sendable {
    /// The dataset as last applied: the keyspace, the offset and db of the last command boundary applied,
    /// the snapshot it was built from, and the divergence if it stopped.
    public struct Dataset: Sendable {
        public var keyspace: Keyspace
        public var offset: Int64
        public var streamDB: Int
        public var snapshotFile: String
        public var divergence: Divergence?
    }

    let store: ReplicaStore
    /// The store's manifest and end offset as this follower's threads read them: without the lock the
    /// link appends under (StoreWatch.swift), which a nice +10 thread must not hold.
    let watch: StoreWatch
    let logger: Logger
    let fileSystem: FileSystem
    /// How long the thread sleeps when the log has nothing new (a `wake()` cuts it short).
    let idleWait: DispatchTimeInterval
    /// How long a start waits for the link's sync before loading anyway (`waitForTheLinkToSync`).
    let linkSyncWait: DispatchTimeInterval = .seconds(2)
    /// Called (on the follower's thread) when the state changed: `phaseChanged` for loading/ready/diverged
    /// transitions, else at most once a second for progress. Set before `start()`.
    public var onStateChange: (@Sendable (_ phaseChanged: Bool) -> Void)?
    /// Writes new snapshots when the log grows (`follow --compact-after-bytes`); nil: never. Set before `start()`.
    public var compactor: DatasetCompactor?

    private let lock = Lock()
    /// Guards `current` and `incomingLoad`: the link reads the state for `state.json` every second on its event loop,
    /// and `lock` is held while a slice of commands is applied by a thread at nice +10 (which a busy machine
    /// may preempt mid-slice): behind `lock` that read could stall the stream's recording and ACKs.
    let stateLock = Lock()
    /// The full sync loading as it arrives (`expectIncoming`), until the follower takes it or it is dropped.
    var incomingLoad: IncomingLoad?
    private var installed: StreamReplay?
    private var installedSnapshot = ""
    private var current = DatasetState(phase: .loading, processedBytes: 0)
    private var stopRequested = false
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var started = false
    private var lastNotify = DispatchTime(uptimeNanoseconds: 0)
    /// Whether this thread lowered its priority (at the first ready dataset). Follower thread only.
    private var yielded = false
    /// The RDB version compacted snapshots are written in: the loaded snapshot's (capped as `rdb convert`
    /// caps it), so a downstream replica that could load the master's file can load ours. Follower thread only.
    private var rdbVersion = RDBWriterOptions.newestVersion {
        didSet { servedRDBVersion.store(rdbVersion, ordering: .relaxed) }
    }
    /// `rdbVersion` for the read server's threads (`readView`).
    let servedRDBVersion = Atomic<Int>(RDBWriterOptions.newestVersion)

    public init(store: ReplicaStore, logger: Logger, fileSystem: FileSystem = POSIXFileSystem(),
                idleWait: DispatchTimeInterval = .milliseconds(50)) {
        self.store = store
        watch = StoreWatch(store: store)
        self.logger = logger
        self.fileSystem = fileSystem
        self.idleWait = idleWait
    }

    /// The dataset state, for `state.json` and `status`.
    /// While a full sync loads as it arrives, its progress (`receiving`); the dataset of before keeps serving.
    public var state: DatasetState { stateLock.withLock { incomingLoad?.state ?? current } }

    /// A copy (O(1), copy-on-write) of the dataset as last applied; nil before the first one has loaded.
    public func dataset() -> Dataset? {
        lock.withLock {
            installed.map { Dataset(keyspace: $0.keyspace, offset: $0.boundary.offset, streamDB: $0.boundary.streamDB,
                                    snapshotFile: installedSnapshot, divergence: $0.divergence) }
        }
    }

    /// Starts the thread.
    public func start() {
        let go = lock.withLock { () -> Bool in
            defer { started = true }
            return !started
        }
        guard go else { return }
        let t = Thread { [self] in
            run()
            finished.signal()
        }
        t.name = "redis-replica.dataset"
        t.start()
    }

    /// Lowers this thread's scheduling priority (its Linux nice value, +10) so that on a busy machine
    /// the link, which records the stream and sends the ACKs the master sees, gets the CPU first; the
    /// dataset catches up when the stream slows. Measured with tools/bench-replication on 2 cores: ACK
    /// catch-up after `redis-benchmark -P 16` stops took 0.87-0.97 s with the dataset at normal priority
    /// and 0.06 s without a dataset. Best effort: a failure leaves the priority as it was.
    ///
    /// The dataset thread calls it when its first dataset is ready, not before: the first load and replay
    /// (a start, or the first full sync) run at normal priority, as a Redis replica loads its RDB, because
    /// at +10 a busy machine stretched a restart's load and replay several times over (tools/bench-restart).
    /// An unprivileged thread cannot lower its nice value again, so later loads run at +10.
    static func yieldToTheLink() {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)   // who 0: the calling thread on Linux (NPTL)
        #endif
    }

    /// New log bytes were committed: look now rather than after the idle wait.
    public func wake() { wakeup.signal() }

    /// Stops the thread and waits for it (a snapshot load stops within a few hundred records).
    public func stop() {
        let wasStarted = lock.withLock { () -> Bool in
            stopRequested = true
            return started
        }
        wakeup.signal()
        if wasStarted {
            finished.wait()
            finished.signal()
        }
    }

    var shouldStop: Bool { lock.withLock { stopRequested } }

    // MARK: The thread

    private func run() {
        waitForTheLinkToSync()
        while !shouldStop {
            guard let m = watch.manifest else {
                _ = wakeup.wait(timeout: .now() + idleWait)
                continue
            }
            follow(m.snapshot, lineage: m.lineage)
        }
    }

    /// At a start with a stored dataset: waits until the link has recorded its sync (+CONTINUE or a full
    /// sync: the manifest's `lastSync` is newer than this start), at most `linkSyncWait`, before loading:
    /// the load runs at normal priority (see `yieldToTheLink`) and would otherwise compete with the PSYNC
    /// that issue 9 wants answered within 100 ms. A master that does not answer delays the load by the cap.
    private func waitForTheLinkToSync() {
        guard let synced = watch.manifest?.lastSync.unixMs else { return }
        let startedMs = Int64(Date().timeIntervalSince1970 * 1000) - 1000
        guard synced < startedMs else { return }
        let deadline = DispatchTime.now() + linkSyncWait
        while !shouldStop, DispatchTime.now() < deadline, (watch.manifest?.lastSync.unixMs ?? 0) < startedMs {
            _ = wakeup.wait(timeout: .now() + .milliseconds(10))
        }
    }

    /// Whether the store still follows the full sync `lineage` (a compaction replaces the snapshot but
    /// keeps the lineage; publishes never go back, so a yes is stable for everything read before it).
    func isCurrent(_ lineage: String) -> Bool { watch.manifest?.lineage == lineage }

    /// Loads `snapshot`, replays and tails the log after it, until the store publishes another or `stop()`.
    private func follow(_ snapshot: SnapshotRecord, lineage: String) {
        let path = joinPath(store.directory, snapshot.file)
        setState(DatasetState(phase: .loading, processedBytes: 0, totalBytes: total(snapshot), snapshot: snapshot.file),
                 phaseChanged: true)
        let loaded: Keyspace
        let loadStart = DispatchTime.now()
        switch loadSnapshot(snapshot, lineage: lineage, path: path) {
        case .loaded(let k): loaded = k
        case .superseded: return
        case .failed(let why):
            if !isCurrent(lineage) || shouldStop { return }
            logger.warning("Dataset: cannot load the snapshot \(path): \(why)")
            setState(DatasetState(phase: .failed, snapshot: snapshot.file, reason: "snapshot \(path): \(why)"), phaseChanged: true)
            waitForNewSnapshot(lineage)
            return
        }
        let replayStart = DispatchTime.now()
        logger.info("Dataset: snapshot \(snapshot.file) loaded in \(Self.seconds(loadStart, replayStart)) s; replaying the log after offset \(snapshot.offset)")
        var replay: StreamReplay? = StreamReplay(keyspace: loaded, selectedDB: snapshot.streamDB, offset: snapshot.offset)
        let tail: LogTail
        do {
            tail = try LogTail(store: store, after: snapshot.offset)
            guard isCurrent(lineage) else { return }
        } catch {
            if !isCurrent(lineage) || shouldStop { return }
            return fail(snapshot, lineage, "cannot read the log: \(error)")
        }
        defer { tail.close() }
        let ours: () -> Manifest? = { [watch] in
            let m = watch.manifest
            return m?.lineage == lineage ? m : nil
        }
        while !shouldStop {
            guard let end = watch.endOffset, isCurrent(lineage) else { return }
            let bytes: [UInt8]
            do {
                bytes = try tail.read(upTo: end, maxChunk: 1 << 20, manifest: ours)
            } catch {
                if !isCurrent(lineage) || shouldStop { return }
                return fail(snapshot, lineage, "cannot read the log: \(error)")
            }
            // Relative TTLs (Redis 6.2) are made absolute at the time the bytes arrived, as a real replica
            // does when it applies them: the log's clock record, replayed or live alike; the wall clock for a
            // log without clock records (older directories), which after a restart lengthens those TTLs by the downtime.
            let now = tail.arrivalMs ?? Int64(Date().timeIntervalSince1970 * 1000)
            if bytes.isEmpty {
                if let r = replay {
                    // Caught up: the new dataset replaces the old one whole.
                    replay = nil
                    install(r, snapshot)
                    let ready = readyState(snapshot)
                    let now = DispatchTime.now()
                    logger.notice("Dataset ready at offset \(ready.appliedOffset ?? -1) (\(ready.keys ?? 0) keys, snapshot \(snapshot.file); loaded in \(Self.seconds(loadStart, replayStart)) s, \((ready.appliedOffset ?? snapshot.offset) - snapshot.offset) bytes of log replayed in \(Self.seconds(replayStart, now)) s)")
                    setState(ready, phaseChanged: true)
                    if !yielded {
                        Self.yieldToTheLink()
                        yielded = true
                    }
                    continue
                }
                // Idle: a log that passed the threshold while a compaction ran (or before the sealed segments
                // were verified) is compacted now, not at the master's next write.
                if let c = compactor, let d = dataset() { c.consider(d, lineage: lineage, rdbVersion: rdbVersion) }
                _ = wakeup.wait(timeout: .now() + idleWait)
                continue
            }
            let divergence: Divergence?
            if replay != nil {
                divergence = replay!.feed(bytes, nowMs: now)
                if divergence == nil {
                    setState(DatasetState(phase: .loading, processedBytes: snapshot.size + tail.offset - snapshot.offset,
                                          totalBytes: total(snapshot), snapshot: snapshot.file), phaseChanged: false)
                }
            } else {
                divergence = applyToInstalled(bytes, nowMs: now)
                if divergence == nil {
                    setState(readyState(snapshot), phaseChanged: false)
                    if let c = compactor, let d = dataset() { c.consider(d, lineage: lineage, rdbVersion: rdbVersion) }
                }
            }
            if let d = divergence {
                if let r = replay { install(r, snapshot) }
                logger.warning("Dataset diverged from the master at offset \(d.offset) on \(d.command): \(d.reason); recording continues, the log stays the truth")
                setState(DatasetState(phase: .diverged, appliedOffset: dataset()?.offset, snapshot: snapshot.file,
                                      divergedOffset: d.offset, command: d.command, reason: d.reason), phaseChanged: true)
                waitForNewSnapshot(lineage)
                return
            }
        }
    }

    /// How many log bytes the installed dataset takes per hold of the lock.
    static let applySlice = 16 << 10

    /// Applies `bytes` to the installed dataset in slices of `applySlice` bytes, each under the lock, so a
    /// read taking its copy (`dataset()`) waits for at most one slice, never for a whole 1 MiB read of the
    /// log. Between slices the dataset is at a command boundary (a transaction is applied whole at EXEC).
    private func applyToInstalled(_ bytes: [UInt8], nowMs: Int64) -> Divergence? {
        var from = 0
        while from < bytes.count {
            let to = min(bytes.count, from + Self.applySlice)
            if let d = lock.withLock({ installed!.feed(bytes[from..<to], nowMs: nowMs) }) { return d }
            from = to
        }
        return nil
    }

    /// Seconds between two instants, two decimals (for the log).
    static func seconds(_ from: DispatchTime, _ to: DispatchTime) -> String {
        String(format: "%.2f", Double(to.uptimeNanoseconds - from.uptimeNanoseconds) / 1e9)
    }

    private func install(_ replay: StreamReplay, _ snapshot: SnapshotRecord) {
        lock.withLock {
            installed = replay
            installedSnapshot = snapshot.file
        }
    }

    private func readyState(_ snapshot: SnapshotRecord) -> DatasetState {
        // After a compaction the store's snapshot is the compacted one (same lineage).
        let file = watch.manifest?.snapshot.file ?? snapshot.file
        return lock.withLock {
            DatasetState(phase: .ready, appliedOffset: installed?.boundary.offset, keys: installed?.keyspace.keyCount,
                         snapshot: file)
        }
    }

    private func total(_ snapshot: SnapshotRecord) -> Int64 {
        snapshot.size + max(0, (watch.endOffset ?? snapshot.offset) - snapshot.offset)
    }

    private func fail(_ snapshot: SnapshotRecord, _ lineage: String, _ why: String) {
        logger.warning("Dataset: \(why)")
        setState(DatasetState(phase: .failed, snapshot: snapshot.file, reason: why), phaseChanged: true)
        waitForNewSnapshot(lineage)
    }

    private func waitForNewSnapshot(_ lineage: String) {
        while !shouldStop && isCurrent(lineage) { _ = wakeup.wait(timeout: .now() + idleWait) }
    }

    private func setState(_ s: DatasetState, phaseChanged: Bool) {
        let changed = stateLock.withLock { () -> Bool in
            let phaseDiffers = current.phase != s.phase || current.snapshot != s.snapshot
            current = s
            return phaseChanged || phaseDiffers
        }
        let now = DispatchTime.now()
        guard changed || now.uptimeNanoseconds >= lastNotify.uptimeNanoseconds + 1_000_000_000 else { return }
        lastNotify = now
        onStateChange?(changed)
    }

    // MARK: Loading the snapshot

    enum LoadResult {
        case loaded(Keyspace)
        case superseded
        case failed(String)
    }

    /// Reads the snapshot file with the RDB reader into a keyspace, reporting progress and giving up when
    /// the store moves to another snapshot or `stop()` is called.
    private func loadSnapshot(_ snapshot: SnapshotRecord, lineage: String, path: String) -> LoadResult {
        switch takeIncoming(for: snapshot, lineage: lineage) {
        case .loaded(let l):
            if let h = l.header { rdbVersion = RDBWriterOptions.defaultVersion(forInput: h.version, magic: h.magic) }
            logger.notice("Dataset: \(l.keyspace.keyCount) keys loaded from the full sync while it arrived (\(snapshot.file)); replaying the log recorded since")
            setState(DatasetState(phase: .loading, processedBytes: snapshot.size, totalBytes: total(snapshot), snapshot: snapshot.file),
                     phaseChanged: true)
            return .loaded(l.keyspace)
        case .superseded: return .superseded
        case .none: break
        }
        let file: DurableFile
        do {
            file = try fileSystem.openForReading(path)
        } catch {
            return .failed("\(error)")
        }
        defer { file.close() }
        let source = CountingByteSource(FileByteSource(file: file))
        let reader = RDBReader(source: source, fileName: path)
        // Values are built from the reader's lent bytes, keys inserted on a second thread meanwhile.
        let loader: KeyspaceLoader
        do {
            loader = try KeyspaceLoader.load(reader, checkEvery: 512) {
                if shouldStop || !isCurrent(lineage) { return false }
                setState(DatasetState(phase: .loading, processedBytes: source.count, totalBytes: total(snapshot),
                                      snapshot: snapshot.file), phaseChanged: false)
                return true
            }
        } catch is CancellationError {
            return .superseded
        } catch {
            return .failed("\(error)")
        }
        if let h = loader.header { rdbVersion = RDBWriterOptions.defaultVersion(forInput: h.version, magic: h.magic) }
        return .loaded(loader.keyspace)
    }
}

/// Counts the bytes read through it (the snapshot load's progress).
final class CountingByteSource: ByteSource {
    private var base: FileByteSource
    private(set) var count: Int64 = 0
    init(_ base: FileByteSource) { self.base = base }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try base.read(into: buffer)
        count += Int64(n)
        return n
    }
}
