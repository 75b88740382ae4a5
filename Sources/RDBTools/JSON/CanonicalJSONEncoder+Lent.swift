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
        order.sort { lentBytesLess(a[2 &* $0], a[2 &* $1]) }
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
                               into w: JSONWriter) throws {
        switch a.kind {
        case .none:
            break
        case .string:
            w.bytes(a[0])
        case .list:
            try w.array(0..<a.count) { i in
                try w.flushIfNeeded()
                w.bytes(a[i])
            }
        case .set:
            sortByBytes(a, first: 0, stride: 1, count: a.count, &order, &keys)
            try w.array(order) { i in
                try w.flushIfNeeded()
                w.bytes(a[i])
            }
        case .sortedSet:
            let scores = a.scores
            sortedIndices(a.count, &order) { i, j in
                let si = scores[i], sj = scores[j]
                if si.isNaN || sj.isNaN {
                    if si.isNaN != sj.isNaN { return sj.isNaN }
                    return lentBytesLess(a[i], a[j])
                }
                if si != sj { return si < sj }
                return lentBytesLess(a[i], a[j])
            }
            try w.array(order) { i in
                try w.flushIfNeeded()
                w.raw("[")
                w.bytes(a[i])
                w.raw(",")
                w.double(scores[i])
                w.raw("]")
            }
        case .hash:
            sortByBytes(a, first: 0, stride: 2, count: a.count / 2, &order, &keys)
            try w.array(order) { f in
                try w.flushIfNeeded()
                w.raw("[")
                w.bytes(a[2 &* f])
                w.raw(",")
                w.bytes(a[2 &* f &+ 1])
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

    /// `order` = elements `first + stride * i` (i in 0..<count) by raw bytes, as `bytesLess` sorts them:
    /// through 16-byte big-endian prefixes compared as integers, the bytes themselves only on equal prefixes.
    static func sortByBytes(_ a: RDBValueArena, first: Int, stride: Int, count: Int, _ order: inout [Int],
                            _ keys: inout [LentSortKey]) {
        keys.removeAll(keepingCapacity: true)
        keys.reserveCapacity(count)
        for i in 0..<count { keys.append(LentSortKey(a[first &+ stride &* i], index: i)) }
        // Ties (equal bytes: duplicate hash fields in odd files) keep file order, as the stable sort did.
        @inline(__always) func less(_ x: LentSortKey, _ y: LentSortKey) -> Bool {
            if x.high != y.high { return x.high < y.high }
            if x.low != y.low { return x.low < y.low }
            let p = a[first &+ stride &* x.index], q = a[first &+ stride &* y.index]
            if p.count == q.count, p.count <= 16 { return x.index < y.index }
            if lentBytesLess(p, q) { return true }
            if lentBytesLess(q, p) { return false }
            return x.index < y.index
        }
        // Stored orders are often sorted already or a few ascending or descending runs (intsets: one run per
        // sign and number of digits, as "9" < "10" numerically but not in bytes, and negative numbers' text
        // descends): those go to the standard library's merge sort, which finds runs (reversing descending
        // ones) and merges them in linear time; anything else to introsort.
        var runs = 1
        var i = 1
        var direction = 0  // 1 ascending, -1 descending, 0 not known yet (one element in the run)
        while i < count && runs <= 16 {
            let down = less(keys[i], keys[i &- 1])
            if direction == 0 {
                direction = down ? -1 : 1
            } else if down != (direction < 0) {
                runs &+= 1
                direction = 0
            }
            i &+= 1
        }
        if runs > 16 {
            keys.withUnsafeMutableBufferPointer { LentSortKey.introsort($0, less) }
        } else if runs > 1 || direction < 0 {
            keys.sort(by: less)
        }
        order.removeAll(keepingCapacity: true)
        for k in keys { order.append(k.index) }
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

/// An element's first 16 bytes as two big-endian integers (zero-padded), and its index. Integer order of the
/// prefixes is the bytes' memcmp order wherever the prefixes differ (a zero pad sorts a shorter prefix first).
struct LentSortKey {
    var high: UInt64
    var low: UInt64
    var index: Int

    @inline(__always)
    init(_ p: UnsafeRawBufferPointer, index: Int) {
        self.index = index
        let n = p.count
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
        var words: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &words) { $0.baseAddress!.copyMemory(from: base, byteCount: n) }
        high = UInt64(bigEndian: words.0)
        low = UInt64(bigEndian: words.1)
    }
}
