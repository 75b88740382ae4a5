/// How Redis 8.10 holds one array value in memory (`sparsearray.c` `arEncode`): inline in the slot's tagged
/// word when it is a canonical integer within 62 bits, a decimal that a double (low two mantissa bits cleared)
/// prints back exactly, or at most 7 bytes; otherwise as a heap string with a 2-byte length header (8 bytes
/// from 32,768 bytes on).
public enum ArrayValueEncoding {
    /// `arTryEncodeFloat`: the double Redis keeps inline for `v`, or nil. `v` must be digits with exactly one
    /// dot and an optional leading minus, and `d2string` of the double, low two bits cleared, must print `v`
    /// back (or `v` without its trailing `.0`).
    public static func inlineFloat(_ v: [UInt8]) -> Double? {
        guard !v.isEmpty else { return nil }
        var i = 0
        if v[0] == UInt8(ascii: "-") {
            guard v.count > 1 else { return nil }
            i = 1
        }
        var dot = false
        while i < v.count {
            if v[i] == UInt8(ascii: ".") {
                if dot { return nil }
                dot = true
            } else if v[i] < 0x30 || v[i] > 0x39 {
                return nil
            }
            i += 1
        }
        guard dot, let d = Double(String(decoding: v, as: UTF8.self)), d.isFinite else { return nil }
        let truncated = Double(bitPattern: d.bitPattern & ~UInt64(3))
        let text = RedisDoubleText.d2string(truncated)
        return text == v || text + Array(".0".utf8) == v ? truncated : nil
    }

    /// `arTryEncodeInt`: a canonical integer (`string2ll`) within -2^61...2^61-1.
    public static func inlineInteger(_ v: [UInt8]) -> Int64? {
        guard let n = parseDecimalInt64Bytes(v), n >= -(1 << 61), n <= (1 << 61) - 1 else { return nil }
        return n
    }

    /// Whether `v` lives in its slot (no heap string).
    public static func isInline(_ v: [UInt8]) -> Bool {
        v.count <= 7 || inlineInteger(v) != nil || inlineFloat(v) != nil
    }

    /// Bytes a heap string of `length` asks the allocator for (`arStringNew`).
    public static func heapStringRequest(_ length: Int) -> Int { (length <= 32_767 ? 2 : 8) + length }

    static func parseDecimalInt64Bytes(_ v: [UInt8]) -> Int64? {
        v.withUnsafeBytes { parseDecimalInt64($0) }
    }
}
