/// XXH3-64 (xxHash 0.8, seed 0, the default 192-byte secret): the hash behind Redis 8.4's `DIGEST key` and
/// SET's `IFDEQ` / `IFDNE` (t_string.c `stringDigest`: `XXH3_64bits` of the string's bytes, an integer-encoded
/// string hashed as its decimal text, written as 16 lowercase hex digits).
///
/// Written from the XXH3 algorithm (the short paths for 0-3, 4-8, 9-16, 17-128 and 129-240 bytes, the striped
/// long path with accumulate / scramble / merge above that); checked against Redis's own DIGEST in the tests.
public enum XXH3 {
    static let prime32_1: UInt64 = 0x9E37_79B1
    static let prime32_2: UInt64 = 0x85EB_CA77
    static let prime32_3: UInt64 = 0xC2B2_AE3D
    static let prime64_1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime64_2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime64_3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime64_4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime64_5: UInt64 = 0x27D4_EB2F_1656_67C5
    static let primeMX1: UInt64 = 0x1656_6791_9E37_79F9
    static let primeMX2: UInt64 = 0x9FB2_1C65_1E98_DF25

    /// The default secret (`XXH3_kSecret`), a constant of the algorithm.
    static let secret: [UInt8] = [
        0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
        0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
        0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
        0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
        0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
        0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
        0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
        0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
        0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
        0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
        0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
        0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
    ]

    /// Redis's digest text: 16 lowercase hex digits of `hash64(bytes)`.
    public static func redisDigest(_ bytes: [UInt8]) -> String {
        let h = String(hash64(bytes), radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h
    }

    public static func hash64(_ input: [UInt8]) -> UInt64 {
        input.withUnsafeBytes { p in
            let n = p.count
            switch n {
            case 0: return avalanche64(read64(secret, 56) ^ read64(secret, 64))
            case 1...3: return len1to3(p, n)
            case 4...8: return len4to8(p, n)
            case 9...16: return len9to16(p, n)
            case 17...128: return len17to128(p, n)
            case 129...240: return len129to240(p, n)
            default: return long(p, n)
            }
        }
    }

    @inline(__always) static func read64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }
    @inline(__always) static func read32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
    }
    @inline(__always) static func read64(_ s: [UInt8], _ at: Int) -> UInt64 {
        s.withUnsafeBytes { read64($0, at) }
    }
    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    /// The 128-bit product of `a` and `b`, its halves xored.
    @inline(__always) static func mulFold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (hi, lo) = a.multipliedFullWidth(by: b)
        return hi ^ lo
    }

    static func avalanche64(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33; h = h &* prime64_2
        h ^= h >> 29; h = h &* prime64_3
        return h ^ (h >> 32)
    }

    static func avalanche(_ x: UInt64) -> UInt64 {
        var h = x ^ (x >> 37)
        h = h &* primeMX1
        return h ^ (h >> 32)
    }

    static func rrmxmx(_ x: UInt64, _ len: Int) -> UInt64 {
        var h = x ^ rotl(x, 49) ^ rotl(x, 24)
        h = h &* primeMX2
        h ^= (h >> 35) &+ UInt64(len)
        h = h &* primeMX2
        return h ^ (h >> 28)
    }

    static func len1to3(_ p: UnsafeRawBufferPointer, _ n: Int) -> UInt64 {
        let c1 = UInt64(p[0]), c2 = UInt64(p[n >> 1]), c3 = UInt64(p[n - 1])
        let combined = (c1 << 16) | (c2 << 24) | c3 | (UInt64(n) << 8)
        let bitflip = (read32(secretBytes, 0) ^ read32(secretBytes, 4))
        return avalanche64(combined ^ bitflip)
    }

    static func len4to8(_ p: UnsafeRawBufferPointer, _ n: Int) -> UInt64 {
        let input1 = read32(p, 0), input2 = read32(p, n - 4)
        let bitflip = read64(secret, 8) ^ read64(secret, 16)
        let keyed = (input2 &+ (input1 << 32)) ^ bitflip
        return rrmxmx(keyed, n)
    }

    static func len9to16(_ p: UnsafeRawBufferPointer, _ n: Int) -> UInt64 {
        let lo = read64(p, 0) ^ (read64(secret, 24) ^ read64(secret, 32))
        let hi = read64(p, n - 8) ^ (read64(secret, 40) ^ read64(secret, 48))
        let acc = UInt64(n) &+ lo.byteSwapped &+ hi &+ mulFold(lo, hi)
        return avalanche(acc)
    }

    @inline(__always) static func mix16(_ p: UnsafeRawBufferPointer, _ at: Int, _ s: Int) -> UInt64 {
        mulFold(read64(p, at) ^ read64(secretBytes, s), read64(p, at + 8) ^ read64(secretBytes, s + 8))
    }

    static func len17to128(_ p: UnsafeRawBufferPointer, _ n: Int) -> UInt64 {
        var acc = UInt64(n) &* prime64_1
        if n > 32 {
            if n > 64 {
                if n > 96 {
                    acc = acc &+ mix16(p, 48, 96) &+ mix16(p, n - 64, 112)
                }
                acc = acc &+ mix16(p, 32, 64) &+ mix16(p, n - 48, 80)
            }
            acc = acc &+ mix16(p, 16, 32) &+ mix16(p, n - 32, 48)
        }
        acc = acc &+ mix16(p, 0, 0) &+ mix16(p, n - 16, 16)
        return avalanche(acc)
    }

    static func len129to240(_ p: UnsafeRawBufferPointer, _ n: Int) -> UInt64 {
        var acc = UInt64(n) &* prime64_1
        for i in 0..<8 { acc = acc &+ mix16(p, 16 * i, 16 * i) }
        acc = avalanche(acc)
        for i in 8..<(n / 16) { acc = acc &+ mix16(p, 16 * i, 16 * (i - 8) + 3) }
        acc = acc &+ mix16(p, n - 16, 136 - 17)
        return avalanche(acc)
    }

    /// The secret as a raw buffer, allocated once and never written after (so never freed nor raced on).
    nonisolated(unsafe) static let secretBytes: UnsafeRawBufferPointer = {
        let m = UnsafeMutableRawBufferPointer.allocate(byteCount: secret.count, alignment: 8)
        m.copyBytes(from: secret)
        return UnsafeRawBufferPointer(m)
    }()

    @inline(__always) static func accumulate512(_ acc: inout [UInt64], _ p: UnsafeRawBufferPointer, _ at: Int, _ s: Int) {
        for i in 0..<8 {
            let value = read64(p, at + 8 * i)
            let key = value ^ read64(secretBytes, s + 8 * i)
            acc[i ^ 1] = acc[i ^ 1] &+ value
            acc[i] = acc[i] &+ (key & 0xFFFF_FFFF) &* (key >> 32)
        }
    }

    static func long(_ p: UnsafeRawBufferPointer, _ n: Int) -> UInt64 {
        mergeAccumulators(longAccumulators(p, n), 11, UInt64(n) &* prime64_1)
    }

    /// `XXH3_mergeAccs`: the 8 accumulators folded against the secret at `s`, from `start`.
    static func mergeAccumulators(_ acc: [UInt64], _ s: Int, _ start: UInt64) -> UInt64 {
        var result = start
        for i in 0..<4 {
            result = result &+ mulFold(acc[2 * i] ^ read64(secretBytes, s + 16 * i), acc[2 * i + 1] ^ read64(secretBytes, s + 16 * i + 8))
        }
        return avalanche(result)
    }

    /// The striped loop of inputs over 240 bytes (`XXH3_hashLong_internal_loop`), shared by 64 and 128 bits.
    static func longAccumulators(_ p: UnsafeRawBufferPointer, _ n: Int) -> [UInt64] {
        var acc: [UInt64] = [prime32_3, prime64_1, prime64_2, prime64_3, prime64_4, prime32_2, prime64_5, prime32_1]
        let stripesPerBlock = (secret.count - 64) / 8
        let blockLength = 64 * stripesPerBlock
        let blocks = (n - 1) / blockLength
        for b in 0..<blocks {
            for s in 0..<stripesPerBlock { accumulate512(&acc, p, b * blockLength + 64 * s, 8 * s) }
            for i in 0..<8 {  // scramble
                var a = acc[i]
                a ^= a >> 47
                a ^= read64(secretBytes, secret.count - 64 + 8 * i)
                acc[i] = a &* prime32_1
            }
        }
        let stripes = ((n - 1) - blockLength * blocks) / 64
        for s in 0..<stripes { accumulate512(&acc, p, blocks * blockLength + 64 * s, 8 * s) }
        accumulate512(&acc, p, n - 64, secret.count - 64 - 7)
        return acc
    }
}

/// XXH3-128 (xxHash 0.8, seed 0, the default secret): the hash of Redis 8.6's `XADD … IDMPAUTO pid` (t_stream.c
/// `createIdempotencyHash`), whose 16-byte idempotency id is `low64` then `high64`, each little-endian.
extension XXH3 {
    public struct Hash128: Equatable, Sendable {
        public var low: UInt64
        public var high: UInt64
        public init(low: UInt64, high: UInt64) {
            self.low = low
            self.high = high
        }
        /// The bytes Redis stores for the hash (`XXH128_hash_t` in memory on a little-endian machine).
        public var littleEndianBytes: [UInt8] {
            (0..<8).map { UInt8(truncatingIfNeeded: low >> (8 * UInt64($0))) }
                + (0..<8).map { UInt8(truncatingIfNeeded: high >> (8 * UInt64($0))) }
        }
    }

    public static func hash128(_ input: [UInt8]) -> Hash128 {
        input.withUnsafeBytes { p in
            let n = p.count
            switch n {
            case 0:
                return Hash128(low: avalanche64(read64(secret, 64) ^ read64(secret, 72)),
                               high: avalanche64(read64(secret, 80) ^ read64(secret, 88)))
            case 1...3: return len1to3x128(p, n)
            case 4...8: return len4to8x128(p, n)
            case 9...16: return len9to16x128(p, n)
            case 17...128: return len17to128x128(p, n)
            case 129...240: return len129to240x128(p, n)
            default:
                let acc = longAccumulators(p, n)
                return Hash128(low: mergeAccumulators(acc, 11, UInt64(n) &* prime64_1),
                               high: mergeAccumulators(acc, secret.count - 64 - 11, ~(UInt64(n) &* prime64_2)))
            }
        }
    }

    static func len1to3x128(_ p: UnsafeRawBufferPointer, _ n: Int) -> Hash128 {
        let c1 = UInt32(p[0]), c2 = UInt32(p[n >> 1]), c3 = UInt32(p[n - 1])
        let combinedLow = (c1 << 16) | (c2 << 24) | c3 | (UInt32(n) << 8)
        let swapped = combinedLow.byteSwapped
        let combinedHigh = (swapped << 13) | (swapped >> 19)
        let bitflipLow = read32(secretBytes, 0) ^ read32(secretBytes, 4)
        let bitflipHigh = read32(secretBytes, 8) ^ read32(secretBytes, 12)
        return Hash128(low: avalanche64(UInt64(combinedLow) ^ bitflipLow), high: avalanche64(UInt64(combinedHigh) ^ bitflipHigh))
    }

    static func len4to8x128(_ p: UnsafeRawBufferPointer, _ n: Int) -> Hash128 {
        let input64 = read32(p, 0) &+ (read32(p, n - 4) << 32)
        let keyed = input64 ^ (read64(secret, 16) ^ read64(secret, 24))
        var (high, low) = keyed.multipliedFullWidth(by: prime64_1 &+ (UInt64(n) << 2))
        high = high &+ (low << 1)
        low ^= high >> 3
        low ^= low >> 35
        low = low &* primeMX2
        low ^= low >> 28
        return Hash128(low: low, high: avalanche(high))
    }

    static func len9to16x128(_ p: UnsafeRawBufferPointer, _ n: Int) -> Hash128 {
        let bitflipLow = read64(secret, 32) ^ read64(secret, 40)
        let bitflipHigh = read64(secret, 48) ^ read64(secret, 56)
        let inputLow = read64(p, 0)
        var inputHigh = read64(p, n - 8)
        var (mHigh, mLow) = (inputLow ^ inputHigh ^ bitflipLow).multipliedFullWidth(by: prime64_1)
        mLow = mLow &+ (UInt64(n - 1) << 54)
        inputHigh ^= bitflipHigh
        mHigh = mHigh &+ inputHigh &+ (inputHigh & 0xFFFF_FFFF) &* (prime32_2 - 1)
        mLow ^= mHigh.byteSwapped
        var (hHigh, hLow) = mLow.multipliedFullWidth(by: prime64_2)
        hHigh = hHigh &+ mHigh &* prime64_2
        return Hash128(low: avalanche(hLow), high: avalanche(hHigh))
    }

    /// `XXH128_mix32B` with seed 0.
    @inline(__always) static func mix32(_ acc: inout Hash128, _ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int, _ s: Int) {
        acc.low = acc.low &+ mix16(p, a, s)
        acc.low ^= read64(p, b) &+ read64(p, b + 8)
        acc.high = acc.high &+ mix16(p, b, s + 16)
        acc.high ^= read64(p, a) &+ read64(p, a + 8)
    }

    static func finish128(_ acc: Hash128, _ n: Int) -> Hash128 {
        let low = acc.low &+ acc.high
        let high = (acc.low &* prime64_1) &+ (acc.high &* prime64_4) &+ (UInt64(n) &* prime64_2)
        return Hash128(low: avalanche(low), high: 0 &- avalanche(high))
    }

    static func len17to128x128(_ p: UnsafeRawBufferPointer, _ n: Int) -> Hash128 {
        var acc = Hash128(low: UInt64(n) &* prime64_1, high: 0)
        if n > 32 {
            if n > 64 {
                if n > 96 { mix32(&acc, p, 48, n - 64, 96) }
                mix32(&acc, p, 32, n - 48, 64)
            }
            mix32(&acc, p, 16, n - 32, 32)
        }
        mix32(&acc, p, 0, n - 16, 0)
        return finish128(acc, n)
    }

    static func len129to240x128(_ p: UnsafeRawBufferPointer, _ n: Int) -> Hash128 {
        var acc = Hash128(low: UInt64(n) &* prime64_1, high: 0)
        for i in stride(from: 32, to: 160, by: 32) { mix32(&acc, p, i - 32, i - 16, i - 32) }
        acc = Hash128(low: avalanche(acc.low), high: avalanche(acc.high))
        var i = 160
        while i <= n {
            mix32(&acc, p, i - 32, i - 16, 3 + i - 160)
            i += 32
        }
        mix32(&acc, p, n - 16, n - 32, 136 - 17 - 16)
        return finish128(acc, n)
    }

    /// Redis 8.6's IDMPAUTO idempotency id of an entry's field/value pairs (`createIdempotencyHash`): per pair,
    /// XXH3-128 of field, the field's length as 8 little-endian bytes, then value; the pair hashes combined
    /// whatever their order (sums and xors of each half, the xors rotated left by 1 and crossed).
    public static func idempotencyID<S: Sequence>(_ pairs: S) -> [UInt8] where S.Element == ([UInt8], [UInt8]) {
        var sumLow: UInt64 = 0, sumHigh: UInt64 = 0, xorLow: UInt64 = 0, xorHigh: UInt64 = 0
        for (f, v) in pairs {
            var input = f
            let n = UInt64(f.count)
            for k in 0..<8 { input.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(k)))) }
            input.append(contentsOf: v)
            let h = hash128(input)
            sumLow = sumLow &+ h.low
            sumHigh = sumHigh &+ h.high
            xorLow ^= h.low
            xorHigh ^= h.high
        }
        return Hash128(low: sumLow ^ rotl(xorHigh, 1), high: sumHigh ^ rotl(xorLow, 1)).littleEndianBytes
    }
}
