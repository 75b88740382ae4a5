import RDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The canonical JSON of values lent by `RDBReader.next(lendingInto:)`: the same bytes `writeValue` writes
/// for the materialized value, escaped straight from the reader's arena, sorted through a reused index array.
extension CanonicalJSONEncoder {
    /// `"field_expire_at_ms":[[field,ms],...]` (fields with a TTL, by field bytes), when some field has one.
    static func writeLentFieldExpiries(_ a: RDBValueArena, order: inout [Int], into w: JSONWriter) {
        guard a.kind == .hash, a.hasFieldExpiries else { return }
        order.removeAll(keepingCapacity: true)
        for f in 0..<(a.count / 2) where a.fieldExpiries[f] != RDBValueArena.noExpiry { order.append(f) }
        a.withElements { el in order.sort { lentBytesLess(el[2 &* $0], el[2 &* $1]) } }
        w.field("field_expire_at_ms")
        w.array(order) { f in
            w.raw("[")
            w.bytes(a[2 &* f])
            w.raw(",")
            w.int(a.fieldExpiries[f])
            w.raw("]")
        }
    }

    /// The `value` of a lent entry; big collections flush element by element as `writeValue` does.
    static func writeLentValue(_ a: RDBValueArena, order: inout [Int], keys: inout [LentSortKey],
                               scratch: inout [LentSortKey], into w: JSONWriter) throws {
        let kind = a.kind
        if kind == .sortedSet {
            try writeLentSortedSet(a, order: &order, into: w)
            return
        }
        try a.withElements { el in
            switch kind {
            case .none, .sortedSet, .stream:
                break
            case .string:
                w.bytes(el[0])
            case .list:
                w.raw("[")
                for i in 0..<el.count {
                    if i > 0 { w.raw(",") }
                    try w.flushIfNeeded()
                    w.bytes(el[i])
                }
                w.raw("]")
            case .set:
                sortByBytes(el, first: 0, stride: 1, count: el.count, &keys, &scratch)
                w.raw("[")
                var first = true
                let plain = a.elementsAreDecimalIntegers  // an intset: nothing to escape
                let fetchAhead = keys.count > 256  // members longer than a key's prefix, as for hash values
                for (n, k) in keys.enumerated() {
                    if fetchAhead {
                        if n &+ 16 < keys.count, keys[n &+ 16].shortCount == nil { el.prefetchStart(keys[n &+ 16].index) }
                        if n &+ 8 < keys.count, keys[n &+ 8].shortCount == nil { el.prefetch(keys[n &+ 8].index) }
                    }
                    if first { first = false } else { w.raw(",") }
                    try w.flushIfNeeded()
                    if plain { w.plainString(el[k.index]) } else { writeSorted(k, el[k.index], into: w) }
                }
                w.raw("]")
            case .hash:
                sortByBytes(el, first: 0, stride: 2, count: el.count / 2, &keys, &scratch)
                w.raw("[")
                var first = true
                // Values are read in field order, all over a big hash's arena: their starts are fetched 16
                // fields ahead and their bytes 8 ahead, so the misses overlap instead of stalling one by one.
                let fetchAhead = keys.count > 256
                for (n, k) in keys.enumerated() {
                    if fetchAhead {
                        if n &+ 16 < keys.count { el.prefetchStart(2 &* keys[n &+ 16].index &+ 1) }
                        if n &+ 8 < keys.count { el.prefetch(2 &* keys[n &+ 8].index &+ 1) }
                    }
                    if first { first = false } else { w.raw(",") }  // literals, not a select: no memmove call
                    w.raw("[")
                    try w.flushIfNeeded()
                    let f = k.index
                    writeSorted(k, el[2 &* f], into: w)
                    w.raw(",")
                    w.bytes(el[2 &* f &+ 1])
                    w.raw("]")
                }
                w.raw("]")
            }
        }
    }

    /// A sorted member or field: from its sort key when the key holds it whole and no byte needs an escape (no
    /// second fetch from the arena), else from the arena (`element`, evaluated only then).
    @inline(__always)
    static func writeSorted(_ k: LentSortKey, _ element: @autoclosure () -> UnsafeRawBufferPointer,
                            into w: JSONWriter) {
        if let n = k.shortCount, w.shortString(k.high, k.low, count: n) { return }
        w.bytes(element())
    }

    /// A lent stream's `entries`: `[[id,[[field,value],...]],...]`, as `writeStream` writes the model's.
    static func writeLentStreamEntries(_ a: RDBValueArena, into w: JSONWriter) throws {
        w.raw("[")
        try a.withElements { el in
            var first = 0
            var any = false
            for span in a.streamEntries {
                if any { w.raw(",") }
                any = true
                try w.flushIfNeeded()
                w.raw("[")
                writeID(span.id, into: w)
                w.raw(",[")
                var i = first
                while i < span.elementsEnd {
                    if i != first { w.raw(",") }
                    w.raw("[")
                    w.bytes(el[i])
                    w.raw(",")
                    w.bytes(el[i &+ 1])
                    w.raw("]")
                    i &+= 2
                }
                w.raw("]]")
                first = span.elementsEnd
            }
        }
        w.raw("]")
    }

    /// `[[member,score],...]` by score, then member bytes.
    static func writeLentSortedSet(_ a: RDBValueArena, order: inout [Int], into w: JSONWriter) throws {
        try a.withElements { el in
            try a.scores.withUnsafeBufferPointer { sc in
                let scores = sc.baseAddress!
                sortedIndices(el.count, &order) { i, j in
                    let si = scores[i], sj = scores[j]
                    if si.isNaN || sj.isNaN {
                        if si.isNaN != sj.isNaN { return sj.isNaN }
                        return lentBytesLess(el[i], el[j])
                    }
                    if si != sj { return si < sj }
                    return lentBytesLess(el[i], el[j])
                }
                w.raw("[")
                var first = true
                for i in order {
                    if first { first = false } else { w.raw(",") }  // literals, not a select: no memmove call
                    w.raw("[")
                    try w.flushIfNeeded()
                    w.bytes(el[i])
                    w.raw(",")
                    w.double(scores[i])
                    w.raw("]")
                }
                w.raw("]")
            }
        }
    }

    /// `order` = 0..<n sorted by `less`. Skips the sort when the input is already in order (listpacks of
    /// sorted sets) or strictly in reverse (skiplists, which Redis saves tail to head).
    @inline(__always)
    static func sortedIndices(_ n: Int, _ order: inout [Int], _ less: (Int, Int) -> Bool) {
        order.removeAll(keepingCapacity: true)
        var ascending = true
        var descending = true
        var i = 1
        while i < n && (ascending || descending) {
            if ascending && less(i, i &- 1) { ascending = false }
            if descending && !less(i, i &- 1) { descending = false }
            i &+= 1
        }
        if ascending {
            order.append(contentsOf: 0..<n)
        } else if descending {
            order.append(contentsOf: (0..<n).reversed())
        } else {
            order.append(contentsOf: 0..<n)
            order.sort(by: less)
        }
    }

    /// `keys` = the keys of elements `first + stride * i` (i in 0..<count) by raw bytes, as `bytesLess` sorts
    /// them, ties (equal bytes: duplicate hash fields in odd files) in file order, as the stable sort did.
    ///
    /// Two passes: the keys are sorted by their 16-byte big-endian prefixes and index alone (integer compares,
    /// inlined), then each group of equal prefixes, rare in practice, is re-sorted by the bytes themselves.
    static func sortByBytes(_ a: RDBValueArena.Elements, first: Int, stride: Int, count: Int,
                            _ keys: inout [LentSortKey], _ scratch: inout [LentSortKey]) {
        keys.removeAll(keepingCapacity: true)
        keys.reserveCapacity(count)
        for i in 0..<count { keys.append(LentSortKey(a[first &+ stride &* i], index: i)) }
        LentSortKey.sortByPrefix(&keys, scratch: &scratch)
        keys.withUnsafeMutableBufferPointer { k in
            LentSortKey.resolvePrefixTies(k) { x, y in
                let p = a[first &+ stride &* x.index], q = a[first &+ stride &* y.index]
                if p.count == q.count, p.count <= 16 { return x.index < y.index }
                if lentBytesLess(p, q) { return true }
                if lentBytesLess(q, p) { return false }
                return x.index < y.index
            }
        }
    }

    /// Raw byte order (memcmp, shorter prefix first), as `bytesLess`.
    @inline(__always)
    static func lentBytesLess(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let n = min(a.count, b.count)
        if n > 0, let x = a.baseAddress, let y = b.baseAddress {
            let c = memcmp(x, y, n)
            if c != 0 { return c < 0 }
        }
        return a.count < b.count
    }
}

/// An element's first 16 bytes as two big-endian integers (zero-padded), its index, and its length when the
/// prefix holds all of it. Integer order of the prefixes is the bytes' memcmp order wherever the prefixes differ
/// (a zero pad sorts a shorter prefix first). A short element is written from its key (`JSONWriter.shortString`),
/// so a big set's members, once sorted, are not fetched again from all over the arena.
struct LentSortKey {
    var high: UInt64
    var low: UInt64
    /// The index in the low 56 bits; above them the element's length when at most 16 bytes, else 255.
    private var packed: UInt64

    private static let indexBits: UInt64 = 56

    /// The element's index (in the order `sortByBytes` was given the elements).
    @inline(__always) var index: Int { Int(truncatingIfNeeded: packed & (1 << Self.indexBits &- 1)) }

    /// The element's length when `high` and `low` hold all of it (0...16), else nil.
    @inline(__always) var shortCount: Int? {
        let n = Int(truncatingIfNeeded: packed >> Self.indexBits)
        return n <= 16 ? n : nil
    }

    init(high: UInt64, low: UInt64, index: Int) {
        self.high = high
        self.low = low
        packed = UInt64(truncatingIfNeeded: index) | 255 << Self.indexBits
    }

    @inline(__always)
    init(_ p: UnsafeRawBufferPointer, index: Int) {
        let n = p.count
        // An index beyond 2^56 would need more memory than exists; the length above it is capped.
        packed = UInt64(truncatingIfNeeded: index) | UInt64(truncatingIfNeeded: min(n, 255)) << Self.indexBits
        guard let base = p.baseAddress, n > 0 else {
            high = 0
            low = 0
            return
        }
        if n >= 16 {
            high = UInt64(bigEndian: base.loadUnaligned(as: UInt64.self))
            low = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            return
        }
        // Shorter: overlapping loads inside the element, the bytes past its end shifted out (no memcpy call).
        if n >= 8 {
            high = UInt64(bigEndian: base.loadUnaligned(as: UInt64.self))
            let tail = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self))
            low = n == 8 ? 0 : tail << UInt64((16 &- n) &* 8)  // 1...7 bytes kept
            return
        }
        low = 0
        if n >= 4 {
            let head = UInt64(UInt32(bigEndian: base.loadUnaligned(as: UInt32.self)))
            let tail = UInt64(UInt32(bigEndian: base.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)))
            high = head << 32 | ((tail << UInt64((8 &- n) &* 8)) & 0xFFFF_FFFF)  // shift 0...32
            return
        }
        var h = UInt64(base.load(as: UInt8.self)) << 56
        if n > 1 { h |= UInt64(base.load(fromByteOffset: 1, as: UInt8.self)) << 48 }
        if n > 2 { h |= UInt64(base.load(fromByteOffset: 2, as: UInt8.self)) << 40 }
        high = h
    }

    /// Prefix order (a strict weak order: equal prefixes are left to `resolvePrefixTies`).
    @inline(__always)
    static func prefixLess(_ x: LentSortKey, _ y: LentSortKey) -> Bool {
        x.high != y.high ? x.high < y.high : x.low < y.low
    }
}
