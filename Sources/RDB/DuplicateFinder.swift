#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds a repeated member or field in one collection as it is read: element `i` of the arena is hashed
/// (a word-at-a-time multiply-xorshift hash with a per-process random seed) into an open-addressing table
/// of arena indices, compared by bytes on a hash match. Used when `RDBReaderOptions.rejectDuplicates` is on.
///
/// The table grows with the elements actually inserted (never with a count read from the file) and is
/// reused from collection to collection: cleared when it is at most 8x the last collection, otherwise
/// replaced by a small one, so a huge collection does not make every later small one pay for its table.
final class DuplicateFinder {
    /// 0 = empty; else the element's 32-bit hash tag (high half) and index + 1 (low half). The slot is the
    /// tag's low bits, so the table can grow without the elements' bytes being hashed again.
    @exclusivity(unchecked) private var slots: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private var count = 0
    private static let smallTable = 64
    private static let seed = UInt64.random(in: .min ... .max)

    init() {
        capacity = Self.smallTable
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0, count: capacity)
    }

    deinit { slots.deallocate() }

    /// Starts a new collection.
    @inline(__always)
    func reset() {
        guard count > 0 else { return }
        if capacity > Self.smallTable && capacity > 8 &* count {
            slots.deallocate()
            capacity = Self.smallTable
            slots = .allocate(capacity: capacity)
        }
        slots.update(repeating: 0, count: capacity)
        count = 0
    }

    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        let m = x &* 0x9FB2_1C65_1E98_DF25
        return m ^ (m >> 29)
    }

    @inline(__always)
    static func hash(_ e: UnsafeRawBufferPointer) -> UInt64 {
        let n = e.count
        var h = seed ^ (UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15)
        if let p = e.baseAddress {
            if n >= 8 {
                var i = 0
                while i &+ 8 <= n {
                    h = mix(h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    i &+= 8
                }
                if i < n { h = mix(h ^ p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)) }
            } else if n >= 4 {
                let lo = UInt64(p.loadUnaligned(as: UInt32.self))
                let hi = UInt64(p.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self))
                h = mix(h ^ (lo | hi << 32))
            } else if n > 0 {
                let w = UInt64(p.load(as: UInt8.self)) | UInt64(p.load(fromByteOffset: n >> 1, as: UInt8.self)) << 8
                    | UInt64(p.load(fromByteOffset: n &- 1, as: UInt8.self)) << 16
                h = mix(h ^ w)
            }
        }
        h = (h ^ (h >> 32)) &* 0xFF51_AFD7_ED55_8CCD
        return h ^ (h >> 33)
    }

    /// Adds element `i` of `a` (its bytes, as lent); returns the index of an earlier element with the same
    /// bytes, or nil. Indices must stay below 2^32 - 1.
    @inline(__always)
    func insert(_ a: RDBValueArena, _ i: Int) -> Int? {
        if (count &+ 1) &* 2 > capacity { grow() }
        let element = a[i]
        let tag = Self.hash(element) >> 32
        let entry = tag << 32 | UInt64(truncatingIfNeeded: i &+ 1)
        let mask = capacity &- 1
        var at = Int(truncatingIfNeeded: tag) & mask
        while true {
            let v = slots[at]
            if v == 0 {
                slots[at] = entry
                count &+= 1
                return nil
            }
            if v >> 32 == tag {
                let j = Int(truncatingIfNeeded: v & 0xffff_ffff) &- 1
                let other = a[j]
                if other.count == element.count
                    && (element.count == 0 || memcmp(other.baseAddress!, element.baseAddress!, element.count) == 0) {
                    return j
                }
            }
            at = (at &+ 1) & mask
        }
    }

    /// Four times the room: fewer rehashes for a collection growing from nothing to millions.
    @inline(never)
    private func grow() {
        let old = slots
        let oldCapacity = capacity
        capacity = oldCapacity &* 4
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0, count: capacity)
        let mask = capacity &- 1
        for k in 0..<oldCapacity {
            let v = old[k]
            guard v != 0 else { continue }
            var at = Int(truncatingIfNeeded: v >> 32) & mask
            while slots[at] != 0 { at = (at &+ 1) & mask }
            slots[at] = v
        }
        old.deallocate()
    }
}
