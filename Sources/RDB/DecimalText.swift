/// Integers as decimal text (`ll2string` / `ull2string` in Redis `src/util.c`: digit pairs from a 200-byte
/// table, the length counted by comparisons rather than divisions). Used wherever the lent paths turn
/// integer encodings into the text `GET` would return.
public enum DecimalText {
    /// "00" "01" ... "99": a literal in the binary's constant data, so reading it costs no lazy-initialization
    /// check (a `static let` table did, on every integer written from another module).
    @inlinable @inline(__always)
    static var pairs: UnsafePointer<UInt8> {
        let t: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        return t.utf8Start
    }

    /// The number of decimal digits of `m` (1...20).
    @inlinable @inline(__always)
    public static func digitCount(_ m: UInt64) -> Int {
        if m < 10_000 {
            return m < 10 ? 1 : m < 100 ? 2 : m < 1000 ? 3 : 4
        }
        var digits = 5
        var limit: UInt64 = 100_000
        while digits < 20 && m >= limit {
            digits &+= 1
            limit &*= 10
        }
        return digits
    }

    /// Writes `m`'s `digits` digits ending just before `end`.
    @inlinable @inline(__always)
    static func writeDigits(_ m: UInt64, digits: Int, endingAt end: UnsafeMutableRawPointer) {
        let t = pairs
        var m = m
        var i = 0
        while m >= 100 {
            let r = Int(truncatingIfNeeded: m % 100)
            m /= 100
            i &-= 2
            (end + i).storeBytes(of: t[2 &* r], as: UInt8.self)
            (end + (i &+ 1)).storeBytes(of: t[2 &* r &+ 1], as: UInt8.self)
        }
        if m >= 10 {
            let r = Int(truncatingIfNeeded: m)
            (end + (i &- 2)).storeBytes(of: t[2 &* r], as: UInt8.self)
            (end + (i &- 1)).storeBytes(of: t[2 &* r &+ 1], as: UInt8.self)
        } else {
            (end + (i &- 1)).storeBytes(of: UInt8(truncatingIfNeeded: m) &+ 48, as: UInt8.self)
        }
    }

    /// Writes `v` at `dst` (room for 20 bytes) and returns the length.
    @inlinable @inline(__always)
    public static func write(_ v: Int64, to dst: UnsafeMutableRawPointer) -> Int {
        let m = v.magnitude
        let digits = digitCount(m)
        if v < 0 {
            dst.storeBytes(of: 0x2d, as: UInt8.self)
            writeDigits(m, digits: digits, endingAt: dst + (digits &+ 1))
            return digits &+ 1
        }
        writeDigits(m, digits: digits, endingAt: dst + digits)
        return digits
    }

    /// Writes `m` at `dst` (room for 20 bytes) and returns the length.
    @inlinable @inline(__always)
    public static func write(_ m: UInt64, to dst: UnsafeMutableRawPointer) -> Int {
        let digits = digitCount(m)
        writeDigits(m, digits: digits, endingAt: dst + digits)
        return digits
    }
}
