#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RDB

/// Building values straight from the bytes `RDBReader.next(lendingInto:)` lends: the packed forms are
/// filled from the reader's buffer, with no `[UInt8]` per element and no `RDBValue` in between. The
/// result equals `Value(loading: arena.materialize()!)` (the model path), which the tests check.
extension Value {
    /// The value lent in `arena` (`arena.kind` must not be `.none` or `.stream`).
    init(lent arena: RDBValueArena, distinct: inout LentDistinct) {
        switch arena.kind {
        case .string: self = .string(arena.count > 0 ? Bytes(arena[0]) : [])
        case .list: self = .list(PackedBytes(lent: arena, range: 0..<arena.count))
        case .set: self = .set(SetValue(lent: arena, distinct: &distinct))
        case .sortedSet: self = .zset(ZSetValue(lent: arena, distinct: &distinct))
        case .hash: self = .hash(HashValue(lent: arena, distinct: &distinct))
        case .none, .stream: preconditionFailure("Value(lent:) with no collection lent")
        }
    }
}

extension RDBValueArena {
    /// Whether element `i` fits a packed form (`PackedLimits.maxValueBytes`).
    @inline(__always) func isSmall(_ i: Int) -> Bool { length(i) <= PackedLimits.maxValueBytes }

    /// Whether every element fits a packed form.
    func allSmall() -> Bool {
        for i in 0..<count where !isSmall(i) { return false }
        return true
    }
}

extension PackedBytes {
    /// Elements `range` of `arena`, in order, in one buffer of the exact size.
    init(lent arena: RDBValueArena, range: Range<Int>) {
        self.init()
        var bytes = 0
        for i in range { bytes += PackedBytes.encodedSize(arena.length(i)) }
        reserveCapacity(bytes: bytes)
        for i in range { append(raw: arena[i]) }
    }
}

/// Finds repeated elements in a small lent collection (at most `PackedLimits.maxEntries`) by hashing
/// into reusable slots: a file's small set or sorted set is checked for repeats without an allocation
/// (the model path's `SetValue(_:)` compared every pair; `ZSetValue.loading` built a `Set`).
struct LentDistinct {
    /// Element index + 1 per slot, 0 = empty; twice the largest packed collection, so probes stay short.
    private var slots = [Int32](repeating: 0, count: 2 * 2 * PackedLimits.maxEntries)
    private var filled: [Int] = []

    init() {}

    /// Records element `i`; returns the index of an earlier-recorded equal element instead, if any.
    mutating func insert(_ i: Int, of arena: RDBValueArena) -> Int? {
        let e = arena[i]
        // FNV-1a: the elements are at most `PackedLimits.maxValueBytes` long and the slots few, so a
        // seeded hash buys nothing here; equal hashes are told apart by the bytes.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in e { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
        while slots[s] != 0 {
            let j = Int(slots[s]) - 1
            let o = arena[j]
            if o.count == e.count && (e.count == 0 || memcmp(o.baseAddress!, e.baseAddress!, e.count) == 0) { return j }
            s = (s + 1) & mask
        }
        slots[s] = Int32(i + 1)
        filled.append(s)
        return nil
    }

    /// Forgets every recorded element.
    mutating func reset() {
        for s in filled { slots[s] = 0 }
        filled.removeAll(keepingCapacity: true)
    }
}

extension SetValue {
    /// A file's set: duplicates collapse, as in `loading(_:)`.
    init(lent arena: RDBValueArena, distinct: inout LentDistinct) {
        self.init()
        let n = arena.count
        if n > PackedLimits.maxEntries || !arena.allSmall() {
            var bytes = 0
            for i in 0..<n { bytes += ArenaTable.entryBytes(key: arena.length(i), value: 0) }
            let none = UnsafeRawBufferPointer(start: nil, count: 0)
            storage = .table(ArenaTable.loading(count: n, arenaBytes: bytes, replace: false) { (arena[$0], none) })
            return
        }
        distinct.reset()
        var keep = [Bool](repeating: true, count: n)
        var bytes = 0
        for i in 0..<n {
            if distinct.insert(i, of: arena) != nil { keep[i] = false } else { bytes += PackedBytes.encodedSize(arena.length(i)) }
        }
        var p = PackedBytes()
        p.reserveCapacity(bytes: bytes)
        for i in 0..<n where keep[i] { p.append(raw: arena[i]) }
        storage = .packed(p)
    }
}

extension ZSetValue {
    /// A file's sorted set: a repeated member keeps its last score, a small one is kept in Redis order
    /// (sorted only when the file's is not), as in `loading(_:)`.
    init(lent arena: RDBValueArena, distinct: inout LentDistinct) {
        self.init()
        let n = arena.count
        let scores = arena.scores
        if n > PackedLimits.maxEntries || !arena.allSmall() {
            var bytes = 0
            for i in 0..<n { bytes += ArenaTable.entryBytes(key: arena.length(i), value: 8) }
            // The scores' 8 bytes each, little-endian (`encodeScore`), lent from one buffer.
            var bits = [UInt64](repeating: 0, count: n)
            for i in 0..<n { bits[i] = scores[i].bitPattern.littleEndian }
            storage = bits.withUnsafeBytes { b in
                .table(ArenaTable.loading(count: n, arenaBytes: bytes, replace: true) {
                    (arena[$0], UnsafeRawBufferPointer(rebasing: b[(8 * $0)..<(8 * $0 + 8)]))
                })
            }
            return
        }
        distinct.reset()
        var order: [Int] = []
        order.reserveCapacity(n)
        for i in stride(from: n - 1, through: 0, by: -1) where distinct.insert(i, of: arena) == nil { order.append(i) }
        order.reverse()
        func precedes(_ a: Int, _ b: Int) -> Bool {
            if scores[a] != scores[b] { return scores[a] < scores[b] }
            let x = arena[a], y = arena[b]
            let c = memcmp(x.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, y.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!,
                           min(x.count, y.count))
            return c != 0 ? c < 0 : x.count < y.count
        }
        var sorted = true
        for k in order.indices.dropFirst() where !precedes(order[k - 1], order[k]) {
            sorted = false
            break
        }
        if !sorted { order.sort(by: precedes) }
        var bytes = 0
        for i in order { bytes += PackedBytes.encodedSize(arena.length(i)) }
        var p = PackedBytes()
        p.reserveCapacity(bytes: bytes)
        var s: [Double] = []
        s.reserveCapacity(order.count)
        for i in order {
            p.append(raw: arena[i])
            s.append(scores[i])
        }
        storage = .packed(p, s)
    }
}

extension HashValue {
    /// A file's hash (fields and values alternate in the arena), with its field TTLs. A repeated field keeps
    /// its last value, in the packed form as in the table (`replace: true`), as in `loading(_:)`: a packed
    /// hash never holds a field twice (Redis refuses such a file: "Hash with dup elements").
    init(lent arena: RDBValueArena, distinct: inout LentDistinct) {
        self.init()
        let n = arena.count / 2
        if n > PackedLimits.maxEntries || !arena.allSmall() {
            var bytes = 0
            for f in 0..<n { bytes += ArenaTable.entryBytes(key: arena.length(2 * f), value: arena.length(2 * f + 1)) }
            storage = .table(ArenaTable.loading(count: n, arenaBytes: bytes, replace: true) { (arena[2 * $0], arena[2 * $0 + 1]) })
        } else {
            distinct.reset()
            var repeats = false
            for f in 0..<n where distinct.insert(2 * f, of: arena) != nil {
                repeats = true
                break
            }
            if !repeats {
                storage = .packed(PackedBytes(lent: arena, range: 0..<(2 * n)))
            } else {
                // The fields kept: each one's last occurrence, in file order.
                distinct.reset()
                var last: [Int] = []
                for f in stride(from: n - 1, through: 0, by: -1) where distinct.insert(2 * f, of: arena) == nil { last.append(f) }
                last.reverse()
                var p = PackedBytes()
                for f in last {
                    p.append(raw: arena[2 * f])
                    p.append(raw: arena[2 * f + 1])
                }
                storage = .packed(p)
            }
        }
        if arena.hasFieldExpiries {
            for f in 0..<n where arena.fieldExpiries[f] != RDBValueArena.noExpiry { setExpiry(arena.bytes(2 * f), arena.fieldExpiries[f]) }
        }
    }
}
