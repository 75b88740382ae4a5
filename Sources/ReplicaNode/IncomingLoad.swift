import Base
import Dispatch
import Keyspace
import RDB
import ReplicaStore

/// The dataset of a full sync, built from its RDB **while the bytes arrive**: `IncomingRDBVerifier`'s
/// thread feeds every record it reads to a `KeyspaceLoader` and reports here; the `DatasetFollower` takes the
/// result when the store publishes that transfer, instead of reading the published file again.
///
/// As Redis's `repl-diskless-load swapdb` (replication.c `readSyncBulkPayload`: the new db is loaded from the
/// socket into a temporary db while the old one keeps serving, then swapped), the old dataset stays
/// installed and serving until the follower has this one caught up with the log; until then both are in
/// memory. A transfer that fails or is cut ends here as a failure, and the partial keyspace is dropped with
/// the loading thread's stack: nothing of it is kept.
///
/// `@unchecked Sendable`: every mutable property is read and written under `lock`; `done` is signalled
/// once, after `outcome` is set.
final class IncomingLoad: @unchecked Sendable {
    /// What the loading thread built: the keyspace and the file's header (the RDB version compactions keep).
    struct Loaded {
        var keyspace: Keyspace
        var header: RDBHeader?
    }

    let writer: FullSyncWriter
    /// The `$len` of a disk-based transfer; nil for a diskless one (EOF mark: the size is known at the end).
    let transferSize: Int64?
    private let lock = Lock()
    private let done = DispatchSemaphore(value: 0)
    private var outcome: Result<Loaded, Error>?
    private var taken = false
    private var processed: Int64 = 0
    private var arrived: Int64 = 0
    private var inputEnded = false
    private var keys = 0

    init(writer: FullSyncWriter, transferSize: Int64?) {
        self.writer = writer
        self.transferSize = transferSize
    }

    /// Whether this transfer became `snapshot` (checked when the store publishes it): the same +FULLRESYNC
    /// position and the file the writer was renamed to (`ReplicaStore.markReceived`).
    func matches(_ snapshot: SnapshotRecord) -> Bool {
        snapshot.replid == writer.replid && snapshot.offset == writer.offset && snapshot.file == writer.name
    }

    /// The loading thread read up to `processed` bytes of the `arrived` written so far, `keys` keys loaded.
    func progress(processed: Int64, arrived: Int64, inputEnded: Bool, keys: Int) {
        lock.withLock {
            self.processed = processed
            self.arrived = arrived
            self.inputEnded = inputEnded
            self.keys = keys
        }
    }

    /// The loading thread's result (once).
    func finish(_ result: Result<Loaded, Error>) {
        let first = lock.withLock { () -> Bool in
            guard outcome == nil else { return false }
            outcome = taken ? .failure(Dropped()) : result
            return true
        }
        if first { done.signal() }
    }

    struct Dropped: Error, CustomStringConvertible {
        var description: String { "the incoming dataset was dropped" }
    }

    /// Waits up to `timeout` for the result and hands it over (the keyspace is released from here: a second
    /// call gets `Dropped`). nil: still loading.
    func take(timeout: DispatchTime) -> Result<Loaded, Error>? {
        guard done.wait(timeout: timeout) == .success else { return nil }
        done.signal()
        return lock.withLock {
            defer {
                outcome = .failure(Dropped())
                taken = true
            }
            return taken ? .failure(Dropped()) : outcome!
        }
    }

    /// Releases the result (a rejected or cut transfer), now or when the thread finishes.
    func drop() {
        lock.withLock {
            taken = true
            if outcome != nil { outcome = .failure(Dropped()) }
        }
    }

    /// `loading`, with the percent read of a disk-based transfer (of a diskless one once its end arrived).
    var state: DatasetState {
        lock.withLock {
            var s = DatasetState(phase: .loading, processedBytes: processed,
                                 totalBytes: transferSize ?? (inputEnded ? arrived : nil), keys: keys)
            s.receiving = true
            s.receivedBytes = arrived
            return s
        }
    }
}
