/// Doubles as Redis writes them as text: `d2string` (Redis `util.c`) and its `fpconv_dtoa` (`deps/fpconv`), and
/// the array form of Redis 8.10 (`arFormatFloat`, `sparsearray.c`).
///
/// `fpconv_dtoa` prints grisu2's digits in one of three layouts: a plain integer when the exponent is at least
/// 0 and small, a decimal without exponent when the value is near 1, otherwise `d.ddde+XX` with the exponent
/// unpadded. The digits here are Swift's shortest round-trip digits, which are grisu2's for all but rare
/// doubles where grisu2 is not shortest: Redis 8.10 prints 1e23 as `99999999999999990000000`, this `1e+23`
/// (both parse back to the same double).
public enum RedisDoubleText {
    /// `d2string`: `nan`, `inf`, `-inf`, `0`, `-0`; an integral value within ±2^62 as an integer; otherwise
    /// `fpconv_dtoa`.
    public static func d2string(_ d: Double) -> [UInt8] {
        if d.isNaN { return Array("nan".utf8) }
        if d.isInfinite { return Array((d < 0 ? "-inf" : "inf").utf8) }
        if d == 0 { return d.sign == .minus ? Array("-0".utf8) : [UInt8(ascii: "0")] }
        let limit = Double(Int64.max / 2)
        if d >= -limit && d <= limit, d == d.rounded(.towardZero) {
            return Array(String(Int64(d)).utf8)
        }
        return fpconv(d)
    }

    /// `arFormatFloat`: `d2string`, plus `.0` when a finite result has no `.`, `e` or `E`.
    public static func arrayFloat(_ d: Double) -> [UInt8] {
        var out = d2string(d)
        if d.isFinite && !out.contains(UInt8(ascii: ".")) && !out.contains(UInt8(ascii: "e"))
            && !out.contains(UInt8(ascii: "E")) {
            out += Array(".0".utf8)
        }
        return out
    }

    /// `fpconv_dtoa` of a finite, non-zero double.
    static func fpconv(_ d: Double) -> [UInt8] {
        // Digits and K (the power of ten of the last digit) from Swift's shortest form.
        let text = Array(d.magnitude.description.utf8)
        var mantissa = text[...]
        var exp10 = 0
        if let e = text.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            mantissa = text[..<e]
            exp10 = Int(String(decoding: text[(e + 1)...], as: UTF8.self)) ?? 0
        }
        var digits: [UInt8] = []
        var pointAt = mantissa.count
        for (i, c) in mantissa.enumerated() {
            if c == UInt8(ascii: ".") { pointAt = i } else { digits.append(c) }
        }
        var k = pointAt - digits.count + exp10
        while digits.count > 1, digits.first == UInt8(ascii: "0") { digits.removeFirst() }
        while digits.count > 1, digits.last == UInt8(ascii: "0") {
            digits.removeLast()
            k += 1
        }
        var out: [UInt8] = d < 0 ? [UInt8(ascii: "-")] : []
        emitDigits(digits, k, negative: d < 0, into: &out)
        return out
    }

    /// fpconv's `emit_digits`.
    static func emitDigits(_ digits: [UInt8], _ k: Int, negative: Bool, into out: inout [UInt8]) {
        let n = digits.count
        var exp = abs(k + n - 1)
        if k >= 0 && exp < n + 7 {
            out += digits
            out += [UInt8](repeating: UInt8(ascii: "0"), count: k)
            return
        }
        if k < 0 && (k > -7 || exp < 4) {
            let offset = n - abs(k)
            if offset <= 0 {
                out += Array("0.".utf8)
                out += [UInt8](repeating: UInt8(ascii: "0"), count: -offset)
                out += digits
            } else {
                out += digits[..<offset]
                out.append(UInt8(ascii: "."))
                out += digits[offset...]
            }
            return
        }
        let shown = min(n, 18 - (negative ? 1 : 0))
        out.append(digits[0])
        if shown > 1 {
            out.append(UInt8(ascii: "."))
            out += digits[1..<shown]
        }
        out.append(UInt8(ascii: "e"))
        out.append(k + shown - 1 < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        var cent = 0
        if exp > 99 {
            cent = exp / 100
            out.append(UInt8(ascii: "0") + UInt8(cent))
            exp -= cent * 100
        }
        if exp > 9 {
            let dec = exp / 10
            out.append(UInt8(ascii: "0") + UInt8(dec))
            exp -= dec * 10
        } else if cent != 0 {
            out.append(UInt8(ascii: "0"))
        }
        out.append(UInt8(ascii: "0") + UInt8(exp % 10))
    }
}
