import Dispatch
import Foundation
import RDB

/// Reads an RDB file on a second thread while the calling thread formats what was read: the reader thread
/// fills batches of records, each entry lent in an arena of its own (`RDBReader.next(lendingInto:)`), and
/// hands them over whole; the caller's `consume` sees every record in file order with the arena it was lent
/// in, exactly as a single-threaded loop over `next(lendingInto:)` would.
///
/// Memory stays bounded: three batches (one filling, one queued, one being consumed), each closed at 512
/// records or 2 MiB of lent bytes, and arenas that return to 2 KiB after a large key (32 KiB kept at most).
/// Handing over a batch costs two semaphore operations, so the threads meet about a thousand times per
/// 100 MB, not per key (each meeting can cost a sleeping thread's wake-up: tens of microseconds).
///
/// A consumer error (a failed write) stops the reader at its next batch; the error is rethrown after the
/// reader thread has finished.
final class LentPipeline: @unchecked Sendable {
    // `@unchecked Sendable`: `batches` are handed between the two threads only through the semaphores (the
    // producer writes a batch between `empty.wait` and `filled.signal`, the consumer reads it between
    // `filled.wait` and `empty.signal`); `cancelled` and `result` are guarded by `lock`; `filling` and
    // `fillIndex` are touched by the producer only.

    struct Item {
        var record: RDBRecord
        /// nil when the record lent nothing (not an entry, or a stream or module value).
        var arena: RDBValueArena?
    }

    final class Batch {
        var items: [Item] = []
        var arenas: [RDBValueArena] = []
        var arenasUsed = 0
        var bytes = 0
        var isLast = false
    }

    static let maxItems = 512
    static let maxBytes = 2 << 20
    static let arenaCapacity = 2 * 1024

    private struct Cancelled: Error {}

    private let batches: [Batch]
    private let filled = DispatchSemaphore(value: 0)
    private let empty: DispatchSemaphore
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var cancelled = false
    private var result: Result<RDBFileScan.Outcome, Error>?
    private var filling: Batch?
    private var fillIndex = 0

    /// Whether the arenas lend keys too (`RDBValueArena.lendsKeys`).
    private let lendsKeys: Bool

    init(slots: Int = 3, lendsKeys: Bool = false) {
        self.lendsKeys = lendsKeys
        batches = (0..<slots).map { _ in Batch() }
        empty = DispatchSemaphore(value: slots)
    }

    /// Runs `scan` on a reader thread, passing it the arena source and the function that hands a record over
    /// (both to be used as `RDBFileScan.scan`'s `arenas` and from its visitor), and calls `consume` here for
    /// every record handed over. Returns the scan's outcome.
    func run(scan: @escaping (_ arenas: @escaping () -> RDBValueArena,
                              _ handOver: @escaping (RDBRecord) throws -> Void) throws -> RDBFileScan.Outcome,
             consume: (RDBRecord, RDBValueArena?) throws -> Void) throws -> RDBFileScan.Outcome {
        let box = UncheckedBox(scan)
        let thread = Thread { [self] in
            let r = Result { try box.value({ self.nextArena() }, { try self.handOver($0) }) }
            lock.withLock { result = r }
            let last = currentBatch()
            last.isLast = true
            filling = nil
            filled.signal()
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()

        var failure: Error?
        var index = 0
        while true {
            filled.wait()
            let b = batches[index]
            index = (index + 1) % batches.count
            if failure == nil {
                do {
                    for item in b.items { try consume(item.record, item.arena) }
                } catch {
                    failure = error
                    lock.withLock { cancelled = true }
                }
            }
            let last = b.isLast
            empty.signal()
            if last { break }
        }
        done.wait()
        if let failure { throw failure }
        let r = lock.withLock { result }
        switch r {
        case .success(let outcome)?: return outcome
        case .failure(let e)?: throw e
        case nil: throw Cancelled()
        }
    }

    // MARK: - The reader thread

    private func currentBatch() -> Batch {
        if let b = filling { return b }
        empty.wait()
        let b = batches[fillIndex]
        fillIndex = (fillIndex + 1) % batches.count
        b.items.removeAll(keepingCapacity: true)
        b.arenasUsed = 0
        b.bytes = 0
        b.isLast = false
        filling = b
        return b
    }

    private func nextArena() -> RDBValueArena {
        let b = currentBatch()
        if b.arenasUsed == b.arenas.count {
            let a = RDBValueArena(initialCapacity: Self.arenaCapacity)
            a.lendsKeys = lendsKeys
            b.arenas.append(a)
        }
        return b.arenas[b.arenasUsed]
    }

    /// Hands over a record read into the arena `nextArena` returned last.
    private func handOver(_ record: RDBRecord) throws {
        let b = currentBatch()
        var lent: RDBValueArena?
        if b.arenasUsed < b.arenas.count, case .entry = record {
            let a = b.arenas[b.arenasUsed]
            if a.kind != .none {
                lent = a
                b.arenasUsed += 1
                b.bytes += a.byteCount
            }
        }
        b.items.append(Item(record: record, arena: lent))
        if b.items.count >= Self.maxItems || b.bytes >= Self.maxBytes {
            filling = nil
            filled.signal()
            if lock.withLock({ cancelled }) { throw Cancelled() }
        }
    }
}

/// Carries a non-Sendable value into the reader thread, which is its only user from then on.
private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
