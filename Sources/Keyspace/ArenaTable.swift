#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RDB

/// A hash table of byte-string keys, each with a byte-string value, packed into two buffers: an arena
/// holding the entries back to back (LEB128 key length, key, LEB128 value length, value) and an
/// open-addressing slot array of arena offsets (linear probing). It is the large form of sets (empty
/// values), hashes and sorted sets (the score's 8 bytes): about 6 bytes of overhead per element plus
/// the bytes themselves, where a `Set<[UInt8]>` costs a heap object per element (48 bytes or more).
/// Redis's large forms are a `dict` of sds strings (`dict.c`, `t_set.c`, `t_hash.c`, `t_zset.c`).
///
/// Both buffers are arrays, so copies are copy-on-write. A removed or replaced entry leaves dead bytes
/// in the arena; the arena is rebuilt when they pass half of it, so the work is amortized O(1).
/// Iteration order is the slot order (arbitrary, like a dictionary's).
struct ArenaTable: Sendable {
    /// The table's state, boxed so that a collection holding an `ArenaTable` stays one word wide in
    /// `Value` (every key's entry pays for the widest case). Copy-on-write by hand: `mutable()`.
    private final class Box: @unchecked Sendable {
        // @unchecked: mutated only through `ArenaTable`'s mutating methods after `mutable()` made it
        // uniquely referenced, so no two values (or threads) ever share a box being written.
        var arena: [UInt8] = []
        /// 0 = empty, 1 = deleted, otherwise arena offset + 2. Narrow: one UInt32 a slot; wide (an
        /// arena past 4 GiB): two UInt32s a slot (low, high).
        var slots: [UInt32] = []
        var wide = false
        var count = 0
        var deleted = 0
        var deadBytes = 0

        init() {}

        func copy() -> Box {
            let b = Box()
            b.arena = arena
            b.slots = slots
            b.wide = wide
            b.count = count
            b.deleted = deleted
            b.deadBytes = deadBytes
            return b
        }
    }

    private var box = Box()

    private var arena: [UInt8] {
        get { box.arena }
        _modify { yield &box.arena }
    }
    private var slots: [UInt32] {
        get { box.slots }
        _modify { yield &box.slots }
    }
    private var wide: Bool {
        get { box.wide }
        set { box.wide = newValue }
    }
    private(set) var count: Int {
        get { box.count }
        set { box.count = newValue }
    }
    private var deleted: Int {
        get { box.deleted }
        set { box.deleted = newValue }
    }
    private var deadBytes: Int {
        get { box.deadBytes }
        set { box.deadBytes = newValue }
    }

    /// Makes the box this value's own before a write.
    private mutating func mutable() {
        if !isKnownUniquelyReferenced(&box) { box = box.copy() }
    }

    init() {}

    /// Room for `n` entries; `arenaBytes` reserves the arena too (a whole collection loaded at once
    /// then holds no growth slack; see `entryBytes(key:value:)`).
    init(minimumCapacity n: Int, arenaBytes: Int = 0) {
        var c = 8
        while c * 3 < n * 4 + 4 { c *= 2 }
        slots = Array(repeating: 0, count: c)
        if arenaBytes > 0 { arena.reserveCapacity(arenaBytes) }
    }

    /// The arena bytes an entry of these sizes takes.
    static func entryBytes(key: Int, value: Int) -> Int {
        func lengthBytes(_ n: Int) -> Int { n < 0x80 ? 1 : (n < 0x4000 ? 2 : (n.bitWidth - n.leadingZeroBitCount + 6) / 7) }
        return lengthBytes(key) + key + lengthBytes(value) + value
    }

    private var capacity: Int { wide ? slots.count / 2 : slots.count }

    /// Heap bytes held (buffers' capacities), for memory accounting.
    var byteCount: Int { arena.capacity + slots.capacity * 4 + 64 }

    // MARK: Slots

    @inline(__always) private func slot(_ i: Int) -> UInt64 {
        wide ? UInt64(slots[2 * i]) | UInt64(slots[2 * i + 1]) << 32 : UInt64(slots[i])
    }

    @inline(__always) private mutating func setSlot(_ i: Int, _ v: UInt64) {
        if wide {
            slots[2 * i] = UInt32(truncatingIfNeeded: v)
            slots[2 * i + 1] = UInt32(truncatingIfNeeded: v >> 32)
        } else {
            slots[i] = UInt32(v)
        }
    }

    // MARK: Entries

    @inline(__always) private static func readLength(_ a: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> Int {
        var shift: UInt64 = 0
        var v: UInt64 = 0
        while true {
            let b = a[i]
            i += 1
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return Int(v) }
            shift += 7
        }
    }

    private static func appendLength(_ n: Int, to a: inout [UInt8]) {
        var v = UInt64(n)
        repeat {
            var b = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { b |= 0x80 }
            a.append(b)
        } while v != 0
    }

    /// The entry at arena offset `start`: its key's and its value's byte ranges.
    @inline(__always) private func entry(at start: Int) -> (key: Range<Int>, value: Range<Int>) {
        arena.withUnsafeBufferPointer { a in
            var i = start
            let kn = Self.readLength(a, &i)
            let key = i..<(i + kn)
            i += kn
            let vn = Self.readLength(a, &i)
            return (key, i..<(i + vn))
        }
    }

    @inline(__always) private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        hash(UnsafeRawBufferPointer(key))
    }

    /// The slot holding `key`, or nil.
    private func find(_ key: Bytes) -> Int? {
        key.withUnsafeBytes { find(raw: $0, hash: count > 0 ? Self.hash($0) : 0) }
    }

    @inline(__always) private static func hash(_ key: UnsafeRawBufferPointer) -> Int {
        var h = Hasher()
        h.combine(bytes: key)
        return h.finalize()
    }

    /// The slot holding the key `k` whose hash is `hash`, or nil.
    @inline(__always) private func find(raw k: UnsafeRawBufferPointer, hash: Int) -> Int? {
        guard count > 0 else { return nil }
        let mask = capacity - 1
        return arena.withUnsafeBufferPointer { a in
            var i = hash & mask
            while true {
                let s = slot(i)
                if s == 0 { return nil }
                if s != 1 {
                    var at = Int(s - 2)
                    let kn = Self.readLength(a, &at)
                    if kn == k.count && (kn == 0 || memcmp(a.baseAddress! + at, k.baseAddress!, kn) == 0) {
                        return i
                    }
                }
                i = (i + 1) & mask
            }
        }
    }

    /// The first empty or deleted slot on `key`'s probe path (the key known absent).
    private func freeSlot(hash: Int) -> Int {
        let mask = capacity - 1
        var i = hash & mask
        while slot(i) > 1 { i = (i + 1) & mask }
        return i
    }

    /// Appends an entry to the arena and returns its slot value.
    private mutating func appendEntry<K: Collection<UInt8>, V: Collection<UInt8>>(_ key: K, _ value: V) -> UInt64 {
        let at = arena.count
        Self.appendLength(key.count, to: &arena)
        arena.append(contentsOf: key)
        Self.appendLength(value.count, to: &arena)
        arena.append(contentsOf: value)
        if !wide && arena.count + 2 > Int(UInt32.max) { widen() }
        return UInt64(at) + 2
    }

    /// Appends an entry from raw bytes (loading: `key` and `value` lent by the reader) and returns its slot value.
    private mutating func appendEntry(raw key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> UInt64 {
        let at = arena.count
        Self.appendLength(key.count, to: &arena)
        arena.append(contentsOf: key.bindMemory(to: UInt8.self))
        Self.appendLength(value.count, to: &arena)
        arena.append(contentsOf: value.bindMemory(to: UInt8.self))
        if !wide && arena.count + 2 > Int(UInt32.max) { widen() }
        return UInt64(at) + 2
    }

    private mutating func widen() {
        var w = [UInt32](repeating: 0, count: slots.count * 2)
        for i in slots.indices { w[2 * i] = slots[i] }
        slots = w
        wide = true
    }

    /// Makes room for one more entry: grows (or rebuilds, when deleted slots are the crowd) at 3/4 full.
    private mutating func reserveOne() {
        if slots.isEmpty { self = ArenaTable(minimumCapacity: 1); return }
        if (count + deleted + 1) * 4 > capacity * 3 { rebuild(capacity: (count + 1) * 2 > capacity ? capacity * 2 : capacity) }
    }

    /// Rehashes every live entry into fresh buffers (dropping dead bytes and deleted slots).
    private mutating func rebuild(capacity newCapacity: Int) {
        var t = ArenaTable()
        t.slots = Array(repeating: 0, count: newCapacity)
        t.arena.reserveCapacity(arena.count - deadBytes)
        forEach { k, v in
            let h = k.withUnsafeBufferPointer { Self.hash($0) }
            let s = t.appendEntry(k, v)
            t.setSlot(t.freeSlot(hash: h), s)
            t.count += 1
        }
        self = t
    }

    /// Counts an entry's bytes as dead, rebuilding when they pass half the arena.
    private mutating func addDead(_ entryBytes: Int) {
        deadBytes += entryBytes
        if deadBytes > 4096 && deadBytes * 2 > arena.count { rebuild(capacity: capacity) }
    }

    private func entryBytes(at start: Int) -> Int { entry(at: start).value.upperBound - start }

    // MARK: Public operations

    func contains(_ key: Bytes) -> Bool { find(key) != nil }

    /// The value of `key`, or nil.
    func value(_ key: Bytes) -> ArraySlice<UInt8>? {
        guard let i = find(key) else { return nil }
        return arena[entry(at: Int(slot(i) - 2)).value]
    }

    /// Sets `key` to `value`; true when the key is new. Only when `replace` is false does an existing key keep its value.
    @discardableResult
    mutating func set<V: Collection<UInt8>>(_ key: Bytes, _ value: V, replace: Bool = true) -> Bool {
        mutable()
        if let i = find(key) {
            guard replace else { return false }
            let at = Int(slot(i) - 2)
            let r = entry(at: at).value
            if r.count == value.count {
                arena.replaceSubrange(r, with: value)
            } else {
                let old = entryBytes(at: at)
                setSlot(i, appendEntry(key, value))
                addDead(old)
            }
            return false
        }
        reserveOne()
        let h = key.withUnsafeBufferPointer { Self.hash($0) }
        let i = freeSlot(hash: h)
        if slot(i) == 1 { deleted -= 1 }
        setSlot(i, appendEntry(key, value))
        count += 1
        return true
    }

    /// `set` for bytes lent by the RDB reader while loading (no array per key or value): sets `key` to
    /// `value`, or, when `replace` is false and the key is there, changes nothing. True when the key is new.
    @discardableResult
    mutating func set(raw key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, replace: Bool) -> Bool {
        mutable()
        let h = Self.hash(key)
        if let i = find(raw: key, hash: h) {
            guard replace else { return false }
            let at = Int(slot(i) - 2)
            let old = entryBytes(at: at)
            setSlot(i, appendEntry(raw: key, value))
            addDead(old)
            return false
        }
        reserveOne()
        let i = freeSlot(hash: h)
        if slot(i) == 1 { deleted -= 1 }
        setSlot(i, appendEntry(raw: key, value))
        count += 1
        return true
    }

    /// A whole collection loaded at once (entries `0..<n`, `entry(i)` lending entry `i`'s key and value,
    /// `arenaBytes` their `entryBytes` total): the arena and the slots are filled through pointers, with
    /// no per-entry uniqueness or bounds checks. A repeated key keeps its last value when `replace`, its
    /// first otherwise, as `set` would.
    static func loading(count n: Int, arenaBytes: Int, replace: Bool,
                        _ entry: (Int) -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)) -> ArenaTable {
        var t = ArenaTable(minimumCapacity: n)
        guard arenaBytes + 2 <= Int(UInt32.max) else {
            t.box.arena.reserveCapacity(arenaBytes)
            for i in 0..<n {
                let e = entry(i)
                t.set(raw: e.key, e.value, replace: replace)
            }
            return t
        }
        var slots = [UInt32](repeating: 0, count: t.capacity)
        var count = 0
        var dead = 0
        let arena = [UInt8](unsafeUninitializedCapacity: max(arenaBytes, 1)) { a, used in
            used = 0
            slots.withUnsafeMutableBufferPointer { sl in
                let mask = sl.count - 1
                let base = UnsafeMutableRawPointer(a.baseAddress!)
                func putLength(_ n: Int) {
                    var v = UInt64(n)
                    repeat {
                        var b = UInt8(v & 0x7F)
                        v >>= 7
                        if v != 0 { b |= 0x80 }
                        a[used] = b
                        used += 1
                    } while v != 0
                }
                func put(_ p: UnsafeRawBufferPointer) {
                    if p.count > 0 { (base + used).copyMemory(from: p.baseAddress!, byteCount: p.count) }
                    used += p.count
                }
                for i in 0..<n {
                    let (k, v) = entry(i)
                    var at = Self.hash(k) & mask
                    var existing = -1
                    while sl[at] != 0 {
                        var e = Int(sl[at] - 2)
                        let kn = Self.readLength(UnsafeBufferPointer(a), &e)
                        if kn == k.count && (kn == 0 || memcmp(base + e, k.baseAddress!, kn) == 0) {
                            existing = Int(sl[at] - 2)
                            break
                        }
                        at = (at + 1) & mask
                    }
                    if existing >= 0 && !replace { continue }
                    let start = used
                    putLength(k.count)
                    put(k)
                    putLength(v.count)
                    put(v)
                    sl[at] = UInt32(start + 2)
                    if existing >= 0 {
                        dead += Self.entrySize(UnsafeBufferPointer(a), at: existing)
                    } else {
                        count += 1
                    }
                }
            }
        }
        t.box.arena = arena
        t.box.slots = slots
        t.box.count = count
        t.box.deadBytes = dead
        return t
    }

    /// The bytes of the entry at arena offset `start` (key and value with their lengths).
    private static func entrySize(_ a: UnsafeBufferPointer<UInt8>, at start: Int) -> Int {
        var i = start
        let kn = readLength(a, &i)
        i += kn
        let vn = readLength(a, &i)
        return i + vn - start
    }

    /// Removes `key`; true when it was there.
    @discardableResult
    mutating func remove(_ key: Bytes) -> Bool {
        guard let i = find(key) else { return false }
        mutable()
        let at = Int(slot(i) - 2)
        let old = entryBytes(at: at)
        setSlot(i, 1)
        count -= 1
        deleted += 1
        if count == 0 { self = ArenaTable(); return true }
        addDead(old)
        return true
    }

    /// Calls `body` with every entry's key and value (arbitrary order).
    func forEach(_ body: (ArraySlice<UInt8>, ArraySlice<UInt8>) throws -> Void) rethrows {
        for i in 0..<capacity {
            let s = slot(i)
            if s > 1 {
                let e = entry(at: Int(s - 2))
                try body(arena[e.key], arena[e.value])
            }
        }
    }

    /// Calls `body` with every key's bytes, lent from the arena, in `forEach`'s order.
    func forEachKeyLent(_ body: (UnsafeRawBufferPointer) -> Void) {
        arena.withUnsafeBytes { buf in
            for i in 0..<capacity {
                let s = slot(i)
                if s > 1 { body(UnsafeRawBufferPointer(rebasing: buf[entry(at: Int(s - 2)).key])) }
            }
        }
    }

    /// Every key (arbitrary order).
    var keys: [Bytes] {
        var out: [Bytes] = []
        out.reserveCapacity(count)
        forEach { k, _ in out.append(Bytes(k)) }
        return out
    }
}

/// A score as the 8 bytes an `ArenaTable` value holds (the IEEE-754 bit pattern, little-endian).
@inline(__always) func encodeScore(_ d: Double) -> [UInt8] {
    withUnsafeBytes(of: d.bitPattern.littleEndian) { Array($0) }
}

@inline(__always) func decodeScore<V: Collection<UInt8>>(_ b: V) -> Double {
    var bits: UInt64 = 0
    for (i, x) in b.enumerated() where i < 8 { bits |= UInt64(x) << (8 * UInt64(i)) }
    return Double(bitPattern: bits)
}
