#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
/// One element of a ziplist or listpack: either a byte string inside the blob or an integer.
/// `ptr` points into the blob and is valid only while the blob is.
struct PackedElement {
    var ptr: UnsafeRawPointer?
    var len: Int
    var int: Int64

    @inline(__always) var isInt: Bool { ptr == nil }

    /// The element as a Redis string (integers as decimal text).
    @inline(__always)
    func bytes() -> Bytes {
        if let ptr { return len == 0 ? [] : Bytes(UnsafeRawBufferPointer(start: ptr, count: len)) }
        return readerDecimalBytes(int)
    }

    /// The element as an integer: integer encodings directly, strings when they are canonical decimal text.
    func integer() -> Int64? {
        guard let ptr else { return int }
        return parseDecimalInt64(UnsafeRawBufferPointer(start: ptr, count: len))
    }

    /// Whether the element is a valid, non-NaN score, without converting plain decimal text.
    func isValidScore() -> Bool {
        guard let ptr else { return true }
        let text = UnsafeRawBufferPointer(start: ptr, count: len)
        if isPlainDecimalSyntax(text) { return true }
        guard let v = parseDouble(text) else { return false }
        return !v.isNaN
    }

    /// The element as a sorted-set score (`zzlGetScore`: integers, or strtod over the text).
    func score() -> Double? {
        guard let ptr else { return Double(int) }
        return parseDouble(UnsafeRawBufferPointer(start: ptr, count: len))
    }
}

/// Strict decimal int64 (`string2ll`): optional '-', digits, no leading zeros, no overflow.
func parseDecimalInt64(_ b: UnsafeRawBufferPointer) -> Int64? {
    let n = b.count
    guard n > 0, n <= 20 else { return nil }
    var i = 0
    var neg = false
    if b[0] == 0x2d {
        neg = true
        i = 1
        guard n > 1 else { return nil }
    }
    if b[i] == 0x30 && n - i > 1 { return nil }
    var m: UInt64 = 0
    while i < n {
        let c = b[i]
        guard c >= 0x30 && c <= 0x39 else { return nil }
        let (a, o1) = m.multipliedReportingOverflow(by: 10)
        let (s, o2) = a.addingReportingOverflow(UInt64(c - 0x30))
        guard !o1 && !o2 else { return nil }
        m = s
        i += 1
    }
    if neg {
        guard m <= UInt64(Int64.max) + 1 else { return nil }
        return m == UInt64(Int64.max) + 1 ? Int64.min : -Int64(m)
    }
    guard m <= UInt64(Int64.max) else { return nil }
    return Int64(m)
}

private let exactPowersOf10: [Double] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
                                          1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

/// Clinger's fast path: `[-]digits[.digits]` with at most 15 significant digits and at most 22 fraction
/// digits is exactly `mantissa / 10^k`, correctly rounded by one IEEE division, the same double strtod gives.
/// Anything else returns nil (the caller falls back to strtod).
@inline(__always)
func fastDecimalDouble(_ b: UnsafeRawBufferPointer) -> Double? {
    let n = b.count
    var i = 0
    var neg = false
    if b[0] == 0x2d { neg = true; i = 1 }
    var mantissa: UInt64 = 0
    var digits = 0
    var fraction = 0
    var seenDot = false
    var any = false
    while i < n {
        let c = b[i]
        if c >= 0x30 && c <= 0x39 {
            if mantissa != 0 || c != 0x30 { digits += 1 }
            guard digits <= 15 else { return nil }
            mantissa = mantissa * 10 + UInt64(c - 0x30)
            if seenDot { fraction += 1 }
            any = true
        } else if c == 0x2e && !seenDot {
            seenDot = true
        } else {
            return nil
        }
        i += 1
    }
    guard any, fraction <= 22 else { return nil }
    let v = Double(mantissa) / exactPowersOf10[fraction]
    return neg ? -v : v
}

/// `[-]digits[.digits][e[+-]digits]`: text strtod always parses completely into a finite or infinite
/// number, never NaN.
func isPlainDecimalSyntax(_ b: UnsafeRawBufferPointer) -> Bool {
    let n = b.count
    var i = 0
    if n > 0 && b[0] == 0x2d { i = 1 }
    var mantissaDigits = 0
    while i < n, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; mantissaDigits += 1 }
    if i < n && b[i] == 0x2e {
        i += 1
        while i < n, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; mantissaDigits += 1 }
    }
    guard mantissaDigits > 0 else { return false }
    if i < n && (b[i] == 0x65 || b[i] == 0x45) {
        i += 1
        if i < n && (b[i] == 0x2b || b[i] == 0x2d) { i += 1 }
        var expDigits = 0
        while i < n, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; expDigits += 1 }
        guard expDigits > 0 else { return false }
    }
    return i == n
}

/// A double from text the way Redis stores zset scores (strtod); the whole text must be consumed.
func parseDouble(_ b: UnsafeRawBufferPointer) -> Double? {
    let n = b.count
    guard n > 0, n < 512 else { return nil }
    if let v = fastDecimalDouble(b) { return v }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { tmp -> Double? in
        guard let t = tmp.baseAddress, let src = b.baseAddress else { return nil }
        UnsafeMutableRawPointer(t).copyMemory(from: src, byteCount: n)
        t[n] = 0
        var endp: UnsafeMutablePointer<CChar>? = nil
        let v = strtod(t, &endp)
        guard let e = endp, e - t == n else { return nil }
        return v
    }
}
