/// Doubles as Redis writes them as text: `d2string` (Redis `util.c`) and its `fpconv_dtoa` (`deps/fpconv`), and
/// the array form of Redis 8.10 (`arFormatFloat`, `sparsearray.c`).
///
/// `fpconv_dtoa` prints Grisu2's digits (`Grisu2`: the shortest but for rare doubles, such as 1e23, printed
/// `99999999999999990000000`) in one of three layouts: a plain integer when the exponent is at least 0 and
/// small, a decimal without exponent when the value is near 1, otherwise `d.ddde+XX` with the exponent
/// unpadded.
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

    /// `fpconv_dtoa` of a finite, non-zero double: Grisu2's digits in fpconv's layout.
    static func fpconv(_ d: Double) -> [UInt8] {
        let (digits, k) = Grisu2.digits(d.magnitude)
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
