#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RDB

/// Sizes of Redis 7.0's allocations as `zmalloc_size` reports them (jemalloc 5 on x86-64), the building blocks
/// of `MemoryEstimator`.
enum AllocatorModel {
    /// jemalloc's size class for an `n`-byte request: 8, then multiples of 16 up to 128, then four classes per
    /// doubling (160, 192, 224, 256, 320, ...), the same rule for large and huge sizes.
    @inline(__always) static func jemalloc(_ n: Int) -> Int {
        if n <= 8 { return 8 }
        if n <= 128 { return (n + 15) & ~15 }
        let lg = Int.bitWidth - 1 - (n - 1).leadingZeroBitCount
        let spacing = 1 << (lg - 2)
        return (n + spacing - 1) & ~(spacing - 1)
    }

    /// Header bytes of an sds of length `len` (`sds.c` sdsReqType: type 5, 8, 16, 32, 64).
    @inline(__always) static func sdsHeader(_ len: Int) -> Int {
        if len < 1 << 5 { return 1 }
        if len < 1 << 8 { return 3 }
        if len < 1 << 16 { return 5 }
        if len < 1 << 32 { return 9 }
        return 17
    }

    /// `sdsZmallocSize` of an sds made by `sdsnewlen(len)`.
    @inline(__always) static func sds(_ len: Int) -> Int { jemalloc(sdsHeader(len) + len + 1) }

    // Structure sizes on 64-bit Redis 7.0.
    static let robj = 16
    static let dictEntry = 24
    static let dict = 56
    static let quicklist = 40
    static let quicklistNode = 40
    static let zset = 16
    static let zskiplist = 32
    static let stream = 80
    static let streamCG = 40
    static let streamConsumer = 24
    static let streamNACK = 24
    /// The skiplist header node: 32 levels (`zslCreate`).
    static let skiplistHeader = jemalloc(24 + 16 * 32)
    /// The expected allocation of a skiplist node (24 bytes + 16 per level; level L with probability
    /// 0.75 x 0.25^(L-1), `zslRandomLevel`).
    static let skiplistNodeExpected: Double = {
        var e = 0.0
        var p = 0.75
        for level in 1...32 {
            e += p * Double(jemalloc(24 + 16 * level))
            p *= 0.25
        }
        return e
    }()

    /// Buckets of a dict holding `n` entries: the smallest power of two >= n, at least 4 (`_dictNextExp`).
    @inline(__always) static func dictSlots(_ n: Int) -> Int {
        if n <= 4 { return 4 }
        return 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount)
    }

    /// `streamRadixTreeMemoryUsage`: 16 bytes per element plus 4 + 240 per node; a radix tree of 128-bit IDs
    /// has about two nodes per element (one node when empty).
    @inline(__always) static func streamRax(elements: Int) -> Int {
        let nodes = max(1, 2 * elements)
        return elements * 16 + nodes * (4 + 8 * 30)
    }
}

/// Byte sizes of listpack entries (`listpack.c` lpEncodeGetType / lpEncodeBacklen) and intsets.
enum PackedSize {
    /// The value of `p` when `lpStringToInt64` accepts it (canonical decimal, no sign on 0, fits int64).
    @inline(__always) static func integerValue(_ p: UnsafeRawBufferPointer) -> Int64? {
        let n = p.count
        guard n > 0, n <= 20, let base = p.baseAddress else { return nil }
        var i = 0
        var negative = false
        if base.load(as: UInt8.self) == UInt8(ascii: "-") {
            negative = true
            i = 1
            guard n > 1 else { return nil }
        }
        let first = base.load(fromByteOffset: i, as: UInt8.self)
        if first == UInt8(ascii: "0") { return (n == 1) ? 0 : nil }
        var v: UInt64 = 0
        while i < n {
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
            if o1 || o2 { return nil }
            v = s
            i += 1
        }
        if negative {
            guard v <= UInt64(Int64.max) + 1 else { return nil }
            return v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v)
        }
        guard v <= UInt64(Int64.max) else { return nil }
        return Int64(v)
    }

    @inline(__always) static func integerValue(_ b: Bytes) -> Int64? { b.withUnsafeBytes { integerValue($0) } }

    @inline(__always) static func intEntry(_ v: Int64) -> Int { ListpackEntrySize.integer(v) }

    @inline(__always) static func backlen(_ l: Int) -> Int { ListpackEntrySize.backlen(l) }

    /// One listpack entry holding `b`: an integer encoding when it is a canonical integer, else a string.
    @inline(__always) static func entry(_ b: Bytes) -> Int { b.withUnsafeBytes { entry($0) } }

    @inline(__always) static func entry(_ p: UnsafeRawBufferPointer) -> Int {
        if let v = integerValue(p) { return intEntry(v) }
        return ListpackEntrySize.string(length: p.count)
    }

    /// `entry(scoreText(d))` without building the text when `d2string` writes an integer.
    @inline(__always) static func scoreEntry(_ d: Double) -> Int {
        if d > -4_503_599_627_370_495 && d < 4_503_599_627_370_496 && d == d.rounded(.towardZero)
            && !(d == 0 && d.sign == .minus) {
            return intEntry(Int64(d))
        }
        if !d.isFinite || d == 0 { return entry(scoreText(d)) }
        if #available(macOS 15.0, *), let n = fixedScoreTextLength(d) {
            // Text with a decimal point or of an integer beyond 2^52 (both as %.17g writes them).
            if d == d.rounded(.towardZero) { return intEntry(Int64(d)) }
            return ListpackEntrySize.string(length: n)
        }
        // `%.17g` into a stack buffer: the same text as `scoreText`, without building arrays (and through
        // glibc's strfromd when present: `withVaList` boxes its arguments, a third of `rdb memory`'s time).
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 40) { buf -> Int in
            let n: Int
            if let strfromd = Self.strfromd {
                n = Int(strfromd(buf.baseAddress!, 40, "%.17g", d))
            } else {
                n = Int(withVaList([d]) { vsnprintf(buf.baseAddress!, 40, "%.17g", $0) })
            }
            return entry(UnsafeRawBufferPointer(start: buf.baseAddress!, count: max(0, min(n, 39))))
        }
    }

    /// The length of `%.17g` of `d` when 1e-4 <= |d| < 2^53, computed exactly without printf (nil outside that
    /// range): 17 significant digits are `floor(|d| * 10^s)` for the `s` that gives 17 digits, taken from the
    /// 128-bit product of the significand and 10^s and rounded half to even on the bits shifted out (glibc's
    /// rounding in the default mode); trailing zeros are dropped and the decimal point placed as `%g` does in
    /// fixed notation (exponents -4...16). `strfromd` cost ~8% of `rdb memory` on sorted-set scores.
    @available(macOS 15.0, *)
    static func fixedScoreTextLength(_ d: Double) -> Int? {
        let a = d.magnitude
        guard a.isNormal, a >= 0.0001, a < 9_007_199_254_740_992 else { return nil }
        let e = Int(a.exponent)  // a = m * 2^(e - 52), m in [2^52, 2^53)
        let m = UInt64(a.significandBitPattern) | (1 << 52)
        let shift = 52 - e  // 0...66 in this range
        // The decimal exponent from the binary one (log10(2) = 0.30103), corrected below when off by one.
        var x = Int((Double(e) * 0.301_029_995_663_981_2).rounded(.down))
        var q: UInt64 = 0
        var round = false
        for _ in 0..<3 {
            let s = 16 - x  // 1...20
            guard s >= 0, s <= 20 else { return nil }
            let n = UInt128(m) * (s <= 19 ? UInt128(Self.powersOf10[s]) : UInt128(Self.powersOf10[19]) * 10)
            let digits = n >> UInt128(shift)
            if digits >= 100_000_000_000_000_000 {
                x += 1
                continue
            }
            if digits < 10_000_000_000_000_000 {
                x -= 1
                continue
            }
            q = UInt64(digits)
            if shift > 0 {
                let rest = n & ((UInt128(1) << UInt128(shift)) - 1)
                let half = UInt128(1) << UInt128(shift - 1)
                round = rest > half || (rest == half && q & 1 == 1)
            }
            break
        }
        guard q != 0 else { return nil }
        if round {
            q += 1
            if q == 100_000_000_000_000_000 {
                q = 10_000_000_000_000_000
                x += 1
            }
        }
        guard x >= -4, x < 17 else { return nil }
        var significant = 17
        while q % 10 == 0 {
            q /= 10
            significant -= 1
        }
        let sign = d < 0 ? 1 : 0
        if x < 0 { return sign + 2 + (-x - 1) + significant }  // 0.000ddd
        let fraction = significant - (x + 1)
        return sign + (x + 1) + (fraction > 0 ? 1 + fraction : 0)
    }

    static let powersOf10: [UInt64] = (0...19).map { (0..<$0).reduce(UInt64(1)) { p, _ in p * 10 } }

    typealias StrFromD = @convention(c) (UnsafeMutablePointer<CChar>?, Int, UnsafePointer<CChar>?, Double) -> Int32

    /// C's `strfromd` (ISO/IEC TS 18661-1, glibc 2.25+), which the C headers hide from Swift by default.
    nonisolated(unsafe) static let strfromd: StrFromD? = {  // set once, then only read
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "strfromd") else { return nil }
        return unsafeBitCast(symbol, to: StrFromD.self)
        #else
        return nil
        #endif
    }()

    /// Listpack header (total bytes, count) plus the end byte.
    static let listpackOverhead = 7

    /// The text `d2string` gives a score in Redis 7.0 (integers within +-2^52 as integers, else `%.17g`).
    static func scoreText(_ d: Double) -> Bytes {
        if d.isNaN { return Array("nan".utf8) }
        if d.isInfinite { return d > 0 ? Array("inf".utf8) : Array("-inf".utf8) }
        if d == 0 { return d.sign == .minus ? Array("-0".utf8) : [0x30] }
        if d > -4_503_599_627_370_495 && d < 4_503_599_627_370_496 && d == d.rounded(.towardZero) {
            return Array(String(Int64(d)).utf8)
        }
        var buf = [CChar](repeating: 0, count: 40)
        let n = withVaList([d]) { vsnprintf(&buf, 40, "%.17g", $0) }
        return buf.prefix(Int(max(0, min(n, 39)))).map { UInt8(bitPattern: $0) }
    }

    /// An intset of these members (`intset.c`: 8-byte header, 2/4/8 bytes per member), nil if one is not an integer.
    static func intset<E: MemoryElements>(_ members: E) -> Int? {
        var width = 2
        for i in 0..<members.count {
            guard let v = members.withBytes(i, { integerValue($0) }) else { return nil }
            if v < Int64(Int32.min) || v > Int64(Int32.max) { width = 8 }
            else if width < 4 && (v < Int64(Int16.min) || v > Int64(Int16.max)) { width = 4 }
        }
        return 8 + members.count * width
    }
}
