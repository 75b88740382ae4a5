// HyperLogLog building blocks, exactly as Redis's src/hyperloglog.c (identical in 6.2, 7.0 and 8.x
// apart from allocation strategy): the 16-byte header, MurmurHash64A, hllPatLen, the dense 6-bit
// register packing, register histograms and the Ertl estimator of hllCount.
//
// Header ("struct hllhdr"): "HYLL", encoding (0 dense, 1 sparse), 3 unused bytes, then the cached
// cardinality as 8 little-endian bytes whose top bit (bit 7 of byte 15) marks the cache invalid.
// Dense: 16384 registers of 6 bits, LSB first (register n starts at bit 6n), 12288 bytes.

enum HLL {
    static let p = 14
    static let q = 64 - p                       // HLL_Q: 50
    static let registerCount = 1 << p           // HLL_REGISTERS: 16384
    static let registerMax = 63                 // HLL_REGISTER_MAX
    static let headerSize = 16                  // HLL_HDR_SIZE
    static let denseSize = headerSize + (registerCount * 6 + 7) / 8  // HLL_DENSE_SIZE: 12304
    static let encodingDense: UInt8 = 0
    static let encodingSparse: UInt8 = 1
    static let magic: [UInt8] = Array("HYLL".utf8)

    // Sparse opcodes (HLL_SPARSE_*): ZERO 00xxxxxx (1..64 zeros), XZERO 01xxxxxx xxxxxxxx
    // (1..16384 zeros), VAL 1vvvvvxx (value 1..32 repeated 1..4 times).
    static let sparseValMaxValue = 32
    static let sparseValMaxLen = 4
    static let sparseZeroMaxLen = 64
    static let sparseXZeroMaxLen = 16384

    @inline(__always) static func isZero(_ b: UInt8) -> Bool { b & 0xc0 == 0 }
    @inline(__always) static func isXZero(_ b: UInt8) -> Bool { b & 0xc0 == 0x40 }
    @inline(__always) static func isVal(_ b: UInt8) -> Bool { b & 0x80 != 0 }
    @inline(__always) static func zeroLen(_ b: UInt8) -> Int { Int(b & 0x3f) + 1 }
    @inline(__always) static func xzeroLen(_ b0: UInt8, _ b1: UInt8) -> Int { (Int(b0 & 0x3f) << 8 | Int(b1)) + 1 }
    @inline(__always) static func valValue(_ b: UInt8) -> Int { Int((b >> 2) & 0x1f) + 1 }
    @inline(__always) static func valLen(_ b: UInt8) -> Int { Int(b & 0x3) + 1 }
    @inline(__always) static func valOpcode(value: Int, len: Int) -> UInt8 { UInt8(((value - 1) << 2 | (len - 1)) | 0x80) }
    @inline(__always) static func zeroOpcode(len: Int) -> UInt8 { UInt8(len - 1) }
    @inline(__always) static func xzeroOpcode(len: Int) -> (UInt8, UInt8) {
        let l = len - 1
        return (UInt8((l >> 8) | 0x40), UInt8(l & 0xff))
    }

    // MARK: Hashing

    /// MurmurHash64A as Redis modified it (endian neutral: 8-byte blocks read little-endian).
    static func murmurHash64A(_ key: [UInt8], seed: UInt32) -> UInt64 {
        let m: UInt64 = 0xc6a4_a793_5bd1_e995
        let r: UInt64 = 47
        let len = key.count
        var h = UInt64(seed) ^ (UInt64(len) &* m)
        key.withUnsafeBufferPointer { data in
            let blocks = len - (len & 7)
            var i = 0
            while i < blocks {
                var k = UInt64(data[i]) | UInt64(data[i + 1]) << 8 | UInt64(data[i + 2]) << 16
                k |= UInt64(data[i + 3]) << 24 | UInt64(data[i + 4]) << 32 | UInt64(data[i + 5]) << 40
                k |= UInt64(data[i + 6]) << 48 | UInt64(data[i + 7]) << 56
                k = k &* m
                k ^= k >> r
                k = k &* m
                h ^= k
                h = h &* m
                i += 8
            }
            let tail = len & 7
            if tail > 0 {
                for j in stride(from: tail - 1, through: 0, by: -1) {
                    h ^= UInt64(data[blocks + j]) << (8 * UInt64(j))
                }
                h = h &* m
            }
        }
        h ^= h >> r
        h = h &* m
        h ^= h >> r
        return h
    }

    /// hllPatLen: the register index (low 14 bits of the hash) and the length of the "000..1"
    /// pattern in the remaining bits, counting the final 1 (1...51).
    static func patternLength(_ element: [UInt8]) -> (index: Int, count: Int) {
        var hash = murmurHash64A(element, seed: 0xadc8_3b19)
        let index = Int(hash & UInt64(registerCount - 1))
        hash >>= UInt64(p)
        hash |= 1 << UInt64(q)
        return (index, hash.trailingZeroBitCount + 1)
    }

    // MARK: Dense registers (offsets are into the registers, i.e. after the header)

    @inline(__always) static func denseGet(_ regs: UnsafeBufferPointer<UInt8>, _ n: Int) -> Int {
        let byte = n * 6 / 8
        let fb = (n * 6) & 7
        let b0 = Int(regs[byte])
        let b1 = byte + 1 < regs.count ? Int(regs[byte + 1]) : 0
        return ((b0 >> fb) | (b1 << (8 - fb))) & registerMax
    }

    @inline(__always) static func denseSet(_ regs: UnsafeMutableBufferPointer<UInt8>, _ n: Int, _ value: Int) {
        let byte = n * 6 / 8
        let fb = (n * 6) & 7
        let fb8 = 8 - fb
        regs[byte] = (regs[byte] & ~UInt8(truncatingIfNeeded: registerMax << fb)) | UInt8(truncatingIfNeeded: value << fb)
        if byte + 1 < regs.count {
            regs[byte + 1] = (regs[byte + 1] & ~UInt8(truncatingIfNeeded: registerMax >> fb8))
                | UInt8(truncatingIfNeeded: value >> fb8)
        }
    }

    /// Sets dense register `n` of `value` (a dense HLL, header included) to `count` if larger
    /// (hllDenseSet); true when it changed.
    static func denseSetIfGreater(_ value: inout [UInt8], _ n: Int, _ count: Int) -> Bool {
        value.withUnsafeMutableBufferPointer { all in
            let regs = UnsafeMutableBufferPointer(rebasing: all[headerSize...])
            if count > denseGet(UnsafeBufferPointer(regs), n) {
                denseSet(regs, n, count)
                return true
            }
            return false
        }
    }

    // MARK: Histograms

    /// hllDenseRegHisto over the registers of a dense HLL (header included in `value`).
    static func denseHistogram(_ value: [UInt8], into histo: inout [Int]) {
        value.withUnsafeBufferPointer { all in
            let regs = UnsafeBufferPointer(rebasing: all[headerSize...])
            for n in 0..<registerCount { histo[denseGet(regs, n)] += 1 }
        }
    }

    /// hllSparseRegHisto; false when the opcodes do not cover exactly 16384 registers.
    static func sparseHistogram(_ value: [UInt8], into histo: inout [Int]) -> Bool {
        var idx = 0
        var i = headerSize
        let end = value.count
        while i < end {
            let b = value[i]
            if isZero(b) {
                let run = zeroLen(b); idx += run; histo[0] += run; i += 1
            } else if isXZero(b) {
                // Redis reads the byte after the string (the sds terminator, 0) for a truncated XZERO.
                let run = xzeroLen(b, i + 1 < end ? value[i + 1] : 0); idx += run; histo[0] += run; i += 2
            } else {
                let run = valLen(b); idx += run; histo[valValue(b)] += run; i += 1
            }
        }
        return idx == registerCount
    }

    // MARK: Estimator (hllCount, "New cardinality estimation algorithms for HyperLogLog
    // sketches", Otmar Ertl, arXiv:1702.01284), in the same double arithmetic as Redis.

    static func sigma(_ x0: Double) -> Double {
        if x0 == 1 { return .infinity }
        var x = x0
        var zPrime: Double
        var y = 1.0
        var z = x
        repeat {
            x *= x
            zPrime = z
            z += x * y
            y += y
        } while zPrime != z
        return z
    }

    static func tau(_ x0: Double) -> Double {
        if x0 == 0 || x0 == 1 { return 0 }
        var x = x0
        var zPrime: Double
        var y = 1.0
        var z = 1 - x
        repeat {
            x = x.squareRoot()
            zPrime = z
            y *= 0.5
            // pow(1 - x, 2) in C; compilers fold it to (1 - x) * (1 - x).
            z -= (1 - x) * (1 - x) * y
        } while zPrime != z
        return z / 3
    }

    /// The cardinality estimate from a register histogram (64 slots; slots above Q+1 are ignored,
    /// as in Redis).
    static func estimate(histogram h: [Int]) -> UInt64 {
        let m = Double(registerCount)
        var z = m * tau((m - Double(h[q + 1])) / m)
        for j in stride(from: q, through: 1, by: -1) {
            z += Double(h[j])
            z *= 0.5
        }
        z += m * sigma(Double(h[0]) / m)
        let alphaInf = 0.721347520444481703680  // HLL_ALPHA_INF, 0.5/ln(2)
        let e = (alphaInf * m * m / z).rounded(.toNearestOrAwayFromZero)  // llroundl
        return e.isFinite && e >= 0 && e < 1.8e19 ? UInt64(e) : 0
    }

    // MARK: Header

    static func cachedCardinality(_ value: [UInt8]) -> UInt64 {
        var card: UInt64 = 0
        for i in 0..<8 { card |= UInt64(value[8 + i]) << (8 * UInt64(i)) }
        return card
    }

    static func isCacheValid(_ value: [UInt8]) -> Bool { value[15] & 0x80 == 0 }
    static func invalidateCache(_ value: inout [UInt8]) { value[15] |= 0x80 }
    static func storeCardinality(_ value: inout [UInt8], _ card: UInt64) {
        for i in 0..<8 { value[8 + i] = UInt8(truncatingIfNeeded: card >> (8 * UInt64(i))) }
    }
}
