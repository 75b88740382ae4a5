// How Redis reads command arguments, for the commands in this target.

public enum RedisArgument {
    /// An array index as Redis 8.10 reads one (`t_array.c` `getArrayIndexFromObject`): `uint64`, and never
    /// 2^64-1 (the cursor's "none") unless `allowMax` (ARSEEK, whose 2^64-1 sets the cursor's last state).
    public static func arrayIndex(_ b: [UInt8], allowMax: Bool = false) -> UInt64? {
        guard let v = uint64(b), allowMax || v != UInt64.max else { return nil }
        return v
    }

    /// `string2ull` (src/util.c) over a C string (what precedes the first NUL byte): a canonical non-negative
    /// integer (string2ll), else `strtoull` base 10 over the whole text: leading spaces, a `+` or `-` sign
    /// (negated modulo 2^64, as strtoull does), leading zeros; nil without digits, with anything after them,
    /// or past 2^64-1.
    public static func uint64(_ b: [UInt8]) -> UInt64? {
        let s = b.prefix { $0 != 0 }
        if let ll = int64(Array(s)) { return ll < 0 ? nil : UInt64(ll) }
        var i = s.startIndex
        while i < s.endIndex, [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d].contains(s[i]) { i += 1 }
        var negative = false
        if i < s.endIndex, s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") {
            negative = s[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < s.endIndex else { return nil }
        var v: UInt64 = 0
        while i < s.endIndex {
            let c = s[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (n, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
            guard !o1 && !o2 else { return nil }
            v = n
            i += 1
        }
        return negative ? 0 &- v : v
    }

    /// string2ll (src/util.c): a strict base-10 Int64. No sign but a leading '-', no leading zeros
    /// ("0" alone is fine, "-0" is not), no spaces, fewer than 21 bytes.
    public static func int64(_ s: [UInt8]) -> Int64? {
        let n = s.count
        if n == 0 || n >= 21 { return nil }
        if n == 1 && s[0] == UInt8(ascii: "0") { return 0 }
        var i = 0
        var negative = false
        if s[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
            if i == n { return nil }
        }
        guard s[i] >= UInt8(ascii: "1") && s[i] <= UInt8(ascii: "9") else { return nil }
        var v = UInt64(s[i] - UInt8(ascii: "0"))
        i += 1
        while i < n && s[i] >= UInt8(ascii: "0") && s[i] <= UInt8(ascii: "9") {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            if o1 { return nil }
            let (a, o2) = m.addingReportingOverflow(UInt64(s[i] - UInt8(ascii: "0")))
            if o2 { return nil }
            v = a
            i += 1
        }
        if i < n { return nil }
        if negative {
            if v > UInt64(Int64.max) + 1 { return nil }
            return v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v)
        }
        if v > UInt64(Int64.max) { return nil }
        return Int64(v)
    }

    /// strcasecmp(arg, word) == 0 as C sees it: the argument ends at its first NUL byte.
    static func equalsIgnoringCase(_ arg: [UInt8], _ word: String) -> Bool {
        let cut = arg.firstIndex(of: 0).map { Array(arg[..<$0]) } ?? arg
        let w = Array(word.utf8)
        guard cut.count == w.count else { return false }
        for (a, b) in zip(cut, w) where lower(a) != lower(b) { return false }
        return true
    }

    @inline(__always) static func lower(_ c: UInt8) -> UInt8 {
        c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") ? c + 32 : c
    }
}
