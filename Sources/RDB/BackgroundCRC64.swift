import Dispatch

/// CRC-64 of a byte stream computed on a background queue, so checksumming overlaps parsing.
///
/// `feed` copies consumed bytes into one of a few fixed-size slots (memcpy is ~10x faster than CRC-64);
/// full slots are hashed in order on a serial queue. Memory is bounded by `slotCount * slotSize`, and
/// `feed` blocks when every slot is still queued. `finish` returns the CRC of everything fed.
final class BackgroundCRC64 {
    /// What the queued work touches. Blocks capture this box, never the owner, so the owner's deinit
    /// always runs on the owner's thread (where it may wait for the queue).
    ///
    /// `@unchecked Sendable`: `freeSlots` is a `DispatchSemaphore` (thread-safe); `crc` is read and written
    /// only by blocks on the serial `queue` (`dispatchStaging`'s async blocks and `finish`'s `queue.sync`),
    /// so the queue's ordering serializes every access.
    private final class Shared: @unchecked Sendable {
        let freeSlots: DispatchSemaphore
        /// Only touched on the queue.
        var crc: UInt64 = 0
        init(slots: Int) { freeSlots = DispatchSemaphore(value: slots) }
    }

    private let queue = DispatchQueue(label: "redis-replica.rdb.crc64")
    private let shared: Shared
    private let slotSize: Int
    private let slots: [UnsafeMutableRawPointer]
    private var nextSlot = 0
    private var staging: UnsafeMutableRawPointer?
    private var stagingCount = 0

    init(slotCount: Int = 3, slotSize: Int = 256 * 1024) {
        self.slotSize = slotSize
        shared = Shared(slots: slotCount)
        slots = (0..<slotCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: slotSize, alignment: 16) }
    }

    deinit {
        if staging != nil { shared.freeSlots.signal() }
        queue.sync {}
        for s in slots { s.deallocate() }
    }

    func feed(_ p: UnsafeRawPointer, _ count: Int) {
        var off = 0
        while off < count {
            if staging == nil {
                shared.freeSlots.wait()
                staging = slots[nextSlot]
                nextSlot = (nextSlot + 1) % slots.count
                stagingCount = 0
            }
            guard let s = staging else { return }
            let take = min(slotSize - stagingCount, count - off)
            (s + stagingCount).copyMemory(from: p + off, byteCount: take)
            stagingCount += take
            off += take
            if stagingCount == slotSize { dispatchStaging() }
        }
    }

    private func dispatchStaging() {
        guard let s = staging else { return }
        let n = stagingCount
        staging = nil
        stagingCount = 0
        let address = UInt(bitPattern: s)
        let box = shared
        queue.async {
            if let p = UnsafeRawPointer(bitPattern: address) { box.crc = CRC64.update(box.crc, p, n) }
            box.freeSlots.signal()
        }
    }

    /// Hashes what is staged and returns the CRC of all bytes fed so far.
    func finish() -> UInt64 {
        dispatchStaging()
        let box = shared
        return queue.sync { box.crc }
    }
}
