import Base
import Synchronization

/// The store's position as other threads may read it without its lock: the end offset, the snapshot's
/// offset, whether the sealed segments are verified, and a generation that changes with every new
/// manifest. The store writes these under `lock`, in the property observers of the state they mirror
/// (`ReplicaStore.manifest`, `endOffset`, `unverifiedSealed`).
///
/// Why: the link's thread takes the store's lock on every append. The dataset and compaction threads run
/// at nice +10 (`DatasetFollower`), and on a busy machine such a thread, preempted while it held the lock
/// for a one-line read, kept the link waiting until it got a CPU again: up to 37 ms per append, measured
/// with `tools/bench-compaction --offcpu` (every lock wait of the link's thread was `append` waiting for
/// a nice +10 reader of `position`, `currentManifest`, `logStreamBytesSinceSnapshot` or
/// `sealedSegmentsVerified`). Those readers now use these atomics and `StoreWatch`.
final class PublishedPosition: Sendable {
    let endOffset = Atomic<Int64>(0)
    /// -1 before the first full sync.
    let snapshotOffset = Atomic<Int64>(-1)
    let sealedVerified = Atomic<Bool>(true)
    let manifestGeneration = Atomic<Int>(0)
}

/// A view of the store's manifest and end offset that takes the store's lock only when the manifest
/// changed since its last look (a full sync, a roll, a compaction), never per read. For the threads that
/// must not hold the lock the link's thread appends under (see `PublishedPosition`).
///
/// A value it returns is the store's at some moment during the call, as a locked read would be: the
/// manifest is copied under the store's lock after its generation is read, so a change that lands in
/// between is seen at the next look. Its own lock is shared only by the threads that use the watch,
/// never by the link's.
///
/// `@unchecked Sendable`: `generation` and `cached` are read and written only under `lock`.
public final class StoreWatch: @unchecked Sendable {
    private let store: ReplicaStore
    private let lock = Lock()
    private var generation = -1
    private var cached: Manifest?

    public init(store: ReplicaStore) { self.store = store }

    /// The store's current manifest (nil before the first full sync).
    public var manifest: Manifest? {
        lock.withLock {
            let g = store.published.manifestGeneration.load(ordering: .acquiring)
            if g != generation {
                cached = store.currentManifest
                generation = g
            }
            return cached
        }
    }

    /// The offset of the store's position (nil before the first full sync): the end of the last
    /// recorded command, as `ReplicaStore.position`.
    public var endOffset: Int64? {
        guard manifest != nil else { return nil }
        return store.published.endOffset.load(ordering: .acquiring)
    }
}
