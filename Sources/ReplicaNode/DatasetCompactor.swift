import Base
import Foundation
import Keyspace
import Logging
import RDB
import ReplicaStore

/// `follow --compact-after-bytes N`: when the log since the base snapshot passes the threshold, writes
/// the in-memory dataset as a new snapshot and lets the store switch to it (`ReplicaStore.compact`, which
/// documents the file sequence and what a crash leaves).
///
/// The dataset is an O(1) copy-on-write copy (`DatasetFollower.dataset()`, `TreeDictionary` per db) taken
/// at a command boundary outside MULTI/EXEC, never from a dataset that is loading, diverged or failed. The
/// RDB is written on its own thread at nice +10 (like the follower's): recording, applying and ACKing go
/// on while it runs; the store's lock is held only for the manifest switch.
///
/// `@unchecked Sendable`: `running`, `last` and `completed` are read and written only under `lock`;
/// the thread is started by `consider` only when `running` was false.
public final class DatasetCompactor: @unchecked Sendable {
    /// The default threshold's floor (the issue's 64 MB).
    public static let minimumDefaultThreshold: Int64 = 64 << 20

    let store: ReplicaStore
    /// The store's manifest without its lock (StoreWatch.swift): `consider` runs on the follower's thread.
    let watch: StoreWatch
    let logger: Logger
    /// nil: the larger of 64 MB and the current snapshot's size.
    let threshold: Int64?
    private let lock = Lock()
    private var running = false
    private var completed = 0
    private var failed = 0
    private var last: (outcome: CompactionOutcome, seconds: Double)?
    /// After a failed compaction, the log size since the snapshot that the next try waits for: another
    /// threshold's worth, so a failure that repeats (a full disk, a value the target cannot hold) is tried
    /// again as the log grows, not on every applied chunk. Per lineage: a full resync starts afresh.
    private var retryAt: (lineage: String, logBytes: Int64)?
    /// The last compaction's outcome and how long it took (for tests and benchmarks).
    public var lastOutcome: (outcome: CompactionOutcome, seconds: Double)? { lock.withLock { last } }

    public init(store: ReplicaStore, logger: Logger, threshold: Int64?) {
        self.store = store
        watch = StoreWatch(store: store)
        self.logger = logger
        self.threshold = threshold
    }

    /// Compactions finished by this process.
    public var completedCount: Int { lock.withLock { completed } }
    /// Compactions that failed in this process.
    public var failedCount: Int { lock.withLock { failed } }
    public var isRunning: Bool { lock.withLock { running } }

    /// The threshold in force for the store's current snapshot.
    public func effectiveThreshold() -> Int64 {
        if let threshold { return threshold }
        return max(Self.minimumDefaultThreshold, watch.manifest?.snapshot.size ?? 0)
    }

    /// Called by the follower after it applied bytes to a ready dataset: starts a compaction of `dataset`
    /// (a copy at a command boundary) when the log passed the threshold and none is running.
    func consider(_ dataset: DatasetFollower.Dataset, lineage: String, rdbVersion: Int) {
        guard dataset.divergence == nil, store.sealedSegmentsVerified,
              let m = watch.manifest, m.lineage == lineage, dataset.offset > m.snapshot.offset,
              store.logStreamBytesSinceSnapshot >= effectiveThreshold() else { return }
        let logBytes = store.logStreamBytesSinceSnapshot
        let go = lock.withLock { () -> Bool in
            guard !running else { return false }
            if let r = retryAt, r.lineage == lineage, logBytes < r.logBytes { return false }
            running = true
            return true
        }
        guard go else { return }
        let position = ReplicationPosition(replid: m.replid, offset: dataset.offset, streamDB: dataset.streamDB)
        let t = Thread { [self] in
            DatasetFollower.yieldToTheLink()
            run(dataset.keyspace, position: position, lineage: lineage, rdbVersion: rdbVersion)
            lock.withLock { running = false }
        }
        t.name = "redis-replica.compaction"
        t.start()
    }

    /// Writes the snapshot and switches (on the compaction thread). Runs synchronously; tests call it.
    func run(_ keyspace: Keyspace, position: ReplicationPosition, lineage: String, rdbVersion: Int) {
        let start = Date()
        logger.notice("Compaction: writing a snapshot of the dataset at offset \(position.offset) (log since the snapshot: \(store.logStreamBytesSinceSnapshot) bytes)")
        do {
            let outcome = try Self.compact(store: store, keyspace: keyspace, position: position, lineage: lineage, rdbVersion: rdbVersion)
            let seconds = Date().timeIntervalSince(start)
            lock.withLock {
                completed += 1
                last = (outcome, seconds)
            }
            var line = "Compaction done: \(outcome.snapshot.file) (\(outcome.snapshot.size) bytes) at offset \(position.offset) in \(String(format: "%.2f", seconds)) s; removed \(outcome.removedFiles.joined(separator: ", "))"
            if !outcome.retainedFiles.isEmpty { line += "; kept \(outcome.retainedFiles.joined(separator: ", ")) until downstream replicas move past them" }
            if !outcome.removeFailures.isEmpty { line += "; could not remove \(outcome.removeFailures.joined(separator: ", ")) (deleted at the next start)" }
            logger.notice("\(line)")
            lock.withLock { retryAt = nil }
        } catch {
            let next = store.logStreamBytesSinceSnapshot + effectiveThreshold()
            lock.withLock {
                failed += 1
                retryAt = (lineage, next)
            }
            logger.warning("Compaction at offset \(position.offset) failed: \(error); the log and the old snapshot stay as they were; next try when the log since the snapshot reaches \(next) bytes")
        }
    }

    /// The dataset as an RDB with its position's AUX fields, made the store's base.
    public static func compact(store: ReplicaStore, keyspace: Keyspace, position: ReplicationPosition, lineage: String,
                               rdbVersion: Int) throws -> CompactionOutcome {
        try store.compact(at: position, lineage: lineage) { file in
            let writer = try RDBWriter(sink: DurableFileSink(file: file), options: RDBWriterOptions(rdbVersion: rdbVersion))
            try keyspace.write(to: writer, aux: RDBAuxInfo(replication: position))
        }
    }
}

/// A `ByteSink` into a `DurableFile` (the RDB writer stages ~1 MB before each write) that keeps the
/// file's dirty pages few, as Redis does with `rdb-save-incremental-fsync yes` (rio.c `rioFileWrite`):
/// every `chunk` bytes it starts the writeback of that chunk (`sync_file_range(WRITE)`) and waits for the
/// one before it (`WAIT_BEFORE | WRITE | WAIT_AFTER`). Without that, hundreds of MB of dirty pages pile up
/// and the kernel's writeback throttling then stalls the log's own writes, which the ACKs wait for. It
/// replaces an fsync every 4 MB: each of those also committed the file system's journal (the file's new
/// blocks and size), and the log's appends and the everysec fsync queued behind those commits. Nothing
/// here is durable: the compaction fsyncs the file once at the end (`ReplicaStore.compact`, step 1).
struct DurableFileSink: ByteSink {
    let file: DurableFile
    var chunk: Int64 = 4 << 20
    private var written: Int64 = 0
    /// The end of the range whose writeback was started last.
    private var started: Int64 = 0
    init(file: DurableFile) { self.file = file }
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        try file.write(bytes)
        written += Int64(bytes.count)
        while written - started >= chunk {
            try file.startWriteback(offset: started, count: chunk)
            if started >= chunk { try file.waitForWriteback(offset: started - chunk, count: chunk) }
            started += chunk
        }
    }
}
