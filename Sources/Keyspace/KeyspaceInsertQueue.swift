import Dispatch
import RDB

/// Inserts loaded keys into their databases on a second thread while the reader parses the next ones
/// (`KeyspaceLoader.load`). Each insert walks a hash trie (`TreeDictionary`), node by node, mostly waiting
/// on cache misses: about a fifth of a load's time, which this overlaps with parsing when a core is free.
/// Redis loads on one thread (`rdb.c` `rdbLoadRioWithLoadingCtx`); the keys go in, in file order, the same.
///
/// Keys are handed over in batches through a serial queue; at most `batchesInFlight` batches wait, so the
/// memory held in between is bounded. The first repeated key is kept as the error (Redis refuses such a
/// file: "Duplicate key … found in RDB file"), and later batches are dropped.
final class KeyspaceInsertQueue {
    struct Pending: Sendable {
        var db: Int
        var key: Bytes
        var entry: KeyEntry
        var offset: Int64
    }

    /// What the queued work touches. `@unchecked Sendable`: `keyspace` and `error` are read and written
    /// only by blocks on the serial `queue` (the inserting blocks and `finish`'s `queue.sync`), so the
    /// queue's ordering serializes every access; `free` is a semaphore.
    private final class Shared: @unchecked Sendable {
        var keyspace = Keyspace()
        var error: KeyspaceLoadError?
        let free: DispatchSemaphore
        init(batches: Int) { free = DispatchSemaphore(value: batches) }
    }

    private let queue = DispatchQueue(label: "redis-replica.keyspace.load-insert")
    private let shared: Shared
    private let batchSize: Int
    private var batch: [Pending] = []

    init(batchSize: Int = 1024, batchesInFlight: Int = 8) {
        self.batchSize = batchSize
        shared = Shared(batches: batchesInFlight)
        batch.reserveCapacity(batchSize)
    }

    /// Waits for the queued work (an early exit, e.g. a reader error, leaves none running).
    deinit { queue.sync {} }

    func add(_ p: Pending) {
        batch.append(p)
        if batch.count >= batchSize { send() }
    }

    private func send() {
        guard !batch.isEmpty else { return }
        shared.free.wait()
        let work = batch
        batch = []
        batch.reserveCapacity(batchSize)
        let box = shared
        queue.async {
            // Runs of keys of one database (a file holds each database's keys together) go in with the
            // database taken out once per run.
            var i = 0
            while box.error == nil && i < work.count {
                let db = work[i].db
                box.keyspace.withDatabase(db) { d in
                    while i < work.count && work[i].db == db {
                        let p = work[i]
                        if let old = d.updateValue(p.entry, forKey: p.key) {
                            d[p.key] = old
                            box.error = KeyspaceLoadError(message: "duplicate key", db: p.db, key: p.key, offset: p.offset)
                            return
                        }
                        i += 1
                    }
                }
            }
            box.free.signal()
        }
    }

    /// Inserts what is left and returns the databases, or throws the first repeated key.
    func finish() throws -> [Int: Database] {
        send()
        let box = shared
        let (dbs, error) = queue.sync { () -> ([Int: Database], KeyspaceLoadError?) in
            let d = box.keyspace.databases
            box.keyspace = Keyspace()
            return (d, box.error)
        }
        if let error { throw error }
        return dbs
    }

    /// The repeated key found among the keys handed over so far, if any (after a reader error: a key
    /// earlier in the file, so its error comes first, as it would on one thread).
    func errorSoFar() -> KeyspaceLoadError? {
        send()
        let box = shared
        return queue.sync { box.error }
    }
}
