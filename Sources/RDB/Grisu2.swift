/// Florian Loitsch's Grisu2 as Redis's `fpconv_dtoa` runs it (`deps/fpconv`): the decimal digits of a finite,
/// non-zero double and the power of ten of the last one. Usually the shortest digits that read back as the
/// same double; for some doubles one more (Redis 8.10 prints 1e23 as `99999999999999990000000`), and Redis's
/// text is these digits, so `d2string` is exact only with them.
///
/// The cached powers of ten are 10^k for k = -348, -340, ..., 340, each as a 64-bit mantissa rounded to
/// nearest and a binary exponent; they are computed once, exactly, with a small big-integer below.
enum Grisu2 {
    struct Fp {
        var frac: UInt64
        var exp: Int
    }

    static let fracMask: UInt64 = 0x000F_FFFF_FFFF_FFFF
    static let hiddenBit: UInt64 = 0x0010_0000_0000_0000
    static let expBias = 1023 + 52
    static let firstPower = -348
    static let powerStep = 8
    static let powerCount = 87

    /// `grisu2`: the digits (ASCII) and K, the value being digits x 10^K.
    static func digits(_ d: Double) -> (digits: [UInt8], k: Int) {
        let w0 = build(d)
        let (lower0, upper0) = boundaries(w0)
        let w1 = normalized(w0)
        let (cp, k) = cachedPower(binaryExponent: upper0.exp)
        let w = multiply(w1, cp)
        var upper = multiply(upper0, cp)
        var lower = multiply(lower0, cp)
        lower.frac &+= 1
        upper.frac &-= 1
        return generate(w, upper, lower, k: -k)
    }

    static func build(_ d: Double) -> Fp {
        let bits = d.bitPattern
        let e = Int((bits >> 52) & 0x7FF)
        if e != 0 { return Fp(frac: (bits & fracMask) + hiddenBit, exp: e - expBias) }
        return Fp(frac: bits & fracMask, exp: -expBias + 1)
    }

    static func normalized(_ fp: Fp) -> Fp {
        var f = fp
        while f.frac & hiddenBit == 0 {
            f.frac <<= 1
            f.exp -= 1
        }
        let shift = 64 - 52 - 1
        return Fp(frac: f.frac << UInt64(shift), exp: f.exp - shift)
    }

    static func boundaries(_ fp: Fp) -> (lower: Fp, upper: Fp) {
        var upper = Fp(frac: (fp.frac << 1) + 1, exp: fp.exp - 1)
        while upper.frac & (hiddenBit << 1) == 0 {
            upper.frac <<= 1
            upper.exp -= 1
        }
        let uShift = 64 - 52 - 2
        upper.frac <<= UInt64(uShift)
        upper.exp -= uShift
        let lShift = fp.frac == hiddenBit ? 2 : 1
        var lower = Fp(frac: (fp.frac << UInt64(lShift)) - 1, exp: fp.exp - lShift)
        lower.frac <<= UInt64(lower.exp - upper.exp)
        lower.exp = upper.exp
        return (lower, upper)
    }

    /// The high 64 bits of the 128-bit product, rounded (fpconv's `multiply`).
    static func multiply(_ a: Fp, _ b: Fp) -> Fp {
        let lo: UInt64 = 0xFFFF_FFFF
        let ahBl = (a.frac >> 32) &* (b.frac & lo)
        let alBh = (a.frac & lo) &* (b.frac >> 32)
        let alBl = (a.frac & lo) &* (b.frac & lo)
        let ahBh = (a.frac >> 32) &* (b.frac >> 32)
        var tmp = (ahBl & lo) &+ (alBh & lo) &+ (alBl >> 32)
        tmp &+= 1 << 31
        return Fp(frac: ahBh &+ (ahBl >> 32) &+ (alBh >> 32) &+ (tmp >> 32), exp: a.exp + b.exp + 64)
    }

    /// `find_cachedpow10`: the cached power that brings `exp` into [-60, -32], and its decimal exponent.
    static func cachedPower(binaryExponent exp: Int) -> (Fp, Int) {
        let approx = Int(Double(-(exp + powerCount)) * 0.30102999566398114)
        var idx = (approx - firstPower) / powerStep
        while true {
            let current = exp + powers[idx].exp + 64
            if current < -60 { idx += 1; continue }
            if current > -32 { idx -= 1; continue }
            return (powers[idx], firstPower + idx * powerStep)
        }
    }

    static let tens: [UInt64] = (0..<20).map { i in (0..<(19 - i)).reduce(UInt64(1)) { r, _ in r * 10 } }

    static func generate(_ w: Fp, _ upper: Fp, _ lower: Fp, k: Int) -> ([UInt8], Int) {
        var kOut = k
        let wfrac = upper.frac &- w.frac
        var delta = upper.frac &- lower.frac
        let shift = UInt64(-upper.exp)
        let one = UInt64(1) << shift
        var part1 = upper.frac >> shift
        var part2 = upper.frac & (one - 1)
        var digits: [UInt8] = []
        digits.reserveCapacity(18)
        var kappa = 10
        var divIndex = 10
        while kappa > 0 {
            let div = tens[divIndex]
            let digit = part1 / div
            if digit != 0 || !digits.isEmpty { digits.append(UInt8(digit) + 0x30) }
            part1 -= digit * div
            kappa -= 1
            let tmp = (part1 << shift) &+ part2
            if tmp <= delta {
                kOut += kappa
                round(&digits, delta: delta, rem: tmp, kappa: div << shift, frac: wfrac)
                return (digits, kOut)
            }
            divIndex += 1
        }
        var unitIndex = 18
        while true {
            part2 &*= 10
            delta &*= 10
            kappa -= 1
            let digit = part2 >> shift
            if digit != 0 || !digits.isEmpty { digits.append(UInt8(truncatingIfNeeded: digit) + 0x30) }
            part2 &= one - 1
            if part2 < delta {
                kOut += kappa
                round(&digits, delta: delta, rem: part2, kappa: one, frac: wfrac &* tens[unitIndex])
                return (digits, kOut)
            }
            unitIndex -= 1
        }
    }

    /// `round_digit`: moves the last digit down while that brings the value closer to the double.
    static func round(_ digits: inout [UInt8], delta: UInt64, rem r: UInt64, kappa: UInt64, frac: UInt64) {
        var rem = r
        while rem < frac && delta &- rem >= kappa && (rem &+ kappa < frac || frac &- rem > rem &+ kappa &- frac) {
            digits[digits.count - 1] -= 1
            rem &+= kappa
        }
    }

    // MARK: cached powers of ten

    static let powers: [Fp] = (0..<powerCount).map { cachedPowerOfTen(firstPower + $0 * powerStep) }

    /// 10^k as a 64-bit mantissa in [2^63, 2^64), rounded to nearest, and its binary exponent.
    static func cachedPowerOfTen(_ k: Int) -> Fp {
        var ten = BigNat(1)
        for _ in 0..<abs(k) { ten.multiply(by: 10) }
        let bits = ten.bitLength
        if k >= 0 {
            if bits <= 64 { return Fp(frac: ten.low64 << UInt64(64 - bits), exp: bits - 64) }
            var m = ten
            m.add(BigNat.power2(bits - 65))  // + half of the last kept unit: round to nearest
            let e = bits - 64
            let frac = m.shiftedRight(e)
            return frac.bitLength > 64 ? Fp(frac: frac.shiftedRight(1).low64, exp: e + 1) : Fp(frac: frac.low64, exp: e)
        }
        // 2^s / 10^-k in (2^63, 2^64) for s = 63 + bits; rounded: floor((2^(s+1) + B) / 2B).
        let s = 63 + bits
        var numerator = BigNat.power2(s + 1)
        numerator.add(ten)
        var twice = ten
        twice.add(ten)
        let q = numerator.divided(by: twice)
        return q.bitLength > 64 ? Fp(frac: q.shiftedRight(1).low64, exp: -s + 1) : Fp(frac: q.low64, exp: -s)
    }
}

/// A non-negative big integer, 32-bit limbs least significant first: just enough to compute the cached powers.
struct BigNat {
    var limbs: [UInt32]

    init(_ v: UInt32) { limbs = [v] }

    static func power2(_ n: Int) -> BigNat {
        var b = BigNat(0)
        b.limbs = [UInt32](repeating: 0, count: n / 32 + 1)
        b.limbs[n / 32] = 1 << UInt32(n % 32)
        return b
    }

    var bitLength: Int {
        guard let i = limbs.lastIndex(where: { $0 != 0 }) else { return 0 }
        return i * 32 + (32 - limbs[i].leadingZeroBitCount)
    }

    var low64: UInt64 { UInt64(limbs[0]) | (limbs.count > 1 ? UInt64(limbs[1]) << 32 : 0) }

    func bit(_ i: Int) -> Bool { i / 32 < limbs.count && limbs[i / 32] >> UInt32(i % 32) & 1 == 1 }

    mutating func multiply(by m: UInt32) {
        var carry: UInt64 = 0
        for i in limbs.indices {
            let p = UInt64(limbs[i]) * UInt64(m) + carry
            limbs[i] = UInt32(truncatingIfNeeded: p)
            carry = p >> 32
        }
        if carry != 0 { limbs.append(UInt32(carry)) }
    }

    mutating func add(_ o: BigNat) {
        if o.limbs.count > limbs.count { limbs += [UInt32](repeating: 0, count: o.limbs.count - limbs.count) }
        var carry: UInt64 = 0
        for i in limbs.indices {
            let s = UInt64(limbs[i]) + (i < o.limbs.count ? UInt64(o.limbs[i]) : 0) + carry
            limbs[i] = UInt32(truncatingIfNeeded: s)
            carry = s >> 32
        }
        if carry != 0 { limbs.append(UInt32(carry)) }
    }

    func shiftedRight(_ n: Int) -> BigNat {
        var out = BigNat(0)
        let bits = bitLength
        guard bits > n else { return out }
        out.limbs = [UInt32](repeating: 0, count: (bits - n) / 32 + 1)
        for i in 0..<(bits - n) where bit(i + n) { out.limbs[i / 32] |= 1 << UInt32(i % 32) }
        return out
    }

    static func < (a: BigNat, b: BigNat) -> Bool {
        let n = max(a.limbs.count, b.limbs.count)
        for i in stride(from: n - 1, through: 0, by: -1) {
            let x = i < a.limbs.count ? a.limbs[i] : 0, y = i < b.limbs.count ? b.limbs[i] : 0
            if x != y { return x < y }
        }
        return false
    }

    mutating func subtract(_ o: BigNat) {
        var borrow: Int64 = 0
        for i in limbs.indices {
            var d = Int64(limbs[i]) - (i < o.limbs.count ? Int64(o.limbs[i]) : 0) - borrow
            borrow = 0
            if d < 0 { d += 1 << 32; borrow = 1 }
            limbs[i] = UInt32(d)
        }
    }

    /// Binary long division: floor(self / d).
    func divided(by d: BigNat) -> BigNat {
        var q = BigNat(0)
        let bits = bitLength
        q.limbs = [UInt32](repeating: 0, count: bits / 32 + 1)
        var r = BigNat(0)
        for i in stride(from: bits - 1, through: 0, by: -1) {
            r.multiply(by: 2)
            if bit(i) { r.limbs[0] |= 1 }
            if !(r < d) {
                r.subtract(d)
                q.limbs[i / 32] |= 1 << UInt32(i % 32)
            }
        }
        return q
    }
}
