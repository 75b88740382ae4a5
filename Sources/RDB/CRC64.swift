import CCRC64Fold

/// CRC-64/Jones exactly as Redis computes the RDB trailer (`src/crc64.c`):
/// reflected polynomial 0xad93d23594c935a9, initial value 0, no final xor.
/// Check value: `crc64("123456789") == 0xe9c6d914c4b8d9ca`.
///
/// Where the CPU has PCLMULQDQ (every x86-64 since 2010), long inputs are folded 64 bytes a step by carry-less
/// multiplication (`CCRC64Fold`), and the tables finish. Otherwise:
/// slice-by-8 over 8-byte unaligned little-endian loads with an 8x256 table held in an
/// `UnsafePointer` (no bounds checks in the hot loop). Long inputs run three independent slice-by-8
/// chains over three adjacent `stripe`-byte blocks at once (one chain alone waits on its table loads;
/// three keep the load ports busy), then join them with the "advance over `stripe` zero bytes"
/// operator, as Redis 8's `crc64.c` does with `crc64_combine`: the register update is linear, so
/// crc(A ‖ B) = zeros(|B|)(crc(A)) ⊕ crc₀(B), and `zeros(stripe)` is itself a table lookup per byte.
public enum CRC64 {
    /// The Jones polynomial as Redis names it (`0xad93d23594c935a9`), and its bit-reversed form used by
    /// this right-shifting (reflected) implementation.
    public static let polynomial: UInt64 = 0xad93d23594c935a9
    public static let reflectedPolynomial: UInt64 = 0x95ac9329ac4bc9b5

    /// Bytes per chain in the three-way loop (a multiple of 8).
    static let stripe = 2048

    /// 8 tables of 256 entries for slice-by-8, then 8 tables of 256 entries for `zeros(stripe)`
    /// (`table[8 * 256 + k * 256 + b]` = the register `b << 8k` advanced over `stripe` zero bytes),
    /// laid out contiguously; never freed (process-lifetime constant).
    /// `nonisolated(unsafe)`: the pointee is written only inside this initializer, which Swift runs exactly
    /// once (lazy global initialization is thread-safe); afterwards every access is a read.
    nonisolated(unsafe) private static let table: UnsafePointer<UInt64> = {
        let t = UnsafeMutablePointer<UInt64>.allocate(capacity: 16 * 256)
        for i in 0..<256 {
            var crc = UInt64(i)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1
            }
            t[i] = crc
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = t[Int(prev & 0xff)] ^ (prev >> 8)
            }
        }
        // zeros(stripe) of each single-bit register, then of every byte value at every byte position.
        var bit = [UInt64](repeating: 0, count: 64)
        for i in 0..<64 {
            var c = UInt64(1) << UInt64(i)
            for _ in 0..<stripe { c = t[Int(c & 0xff)] ^ (c >> 8) }
            bit[i] = c
        }
        for k in 0..<8 {
            for b in 0..<256 {
                var v: UInt64 = 0
                for j in 0..<8 where b & (1 << j) != 0 { v ^= bit[8 * k + j] }
                t[8 * 256 + k * 256 + b] = v
            }
        }
        return UnsafePointer(t)
    }()

    /// Continues a CRC over `bytes`. Start with 0.
    @inline(__always)
    public static func update(_ crc: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return update(crc, base, bytes.count)
    }

    /// One slice-by-8 step: the register `c` advanced over the 8 bytes whose little-endian word is `w`.
    @inline(__always)
    private static func step(_ t: UnsafePointer<UInt64>, _ c: UInt64, _ w: UInt64) -> UInt64 {
        let x = c ^ w
        return t[7 * 256 + Int(x & 0xff)]
            ^ t[6 * 256 + Int((x >> 8) & 0xff)]
            ^ t[5 * 256 + Int((x >> 16) & 0xff)]
            ^ t[4 * 256 + Int((x >> 24) & 0xff)]
            ^ t[3 * 256 + Int((x >> 32) & 0xff)]
            ^ t[2 * 256 + Int((x >> 40) & 0xff)]
            ^ t[1 * 256 + Int((x >> 48) & 0xff)]
            ^ t[Int(x >> 56)]
    }

    /// The register `c` advanced over `stripe` zero bytes.
    @inline(__always)
    private static func zerosStripe(_ t: UnsafePointer<UInt64>, _ c: UInt64) -> UInt64 {
        let z = t + 8 * 256
        return z[Int(c & 0xff)]
            ^ z[256 + Int((c >> 8) & 0xff)]
            ^ z[2 * 256 + Int((c >> 16) & 0xff)]
            ^ z[3 * 256 + Int((c >> 24) & 0xff)]
            ^ z[4 * 256 + Int((c >> 32) & 0xff)]
            ^ z[5 * 256 + Int((c >> 40) & 0xff)]
            ^ z[6 * 256 + Int((c >> 48) & 0xff)]
            ^ z[7 * 256 + Int(c >> 56)]
    }

    /// Inputs from this size on go to the carry-less multiplication fold when the CPU has it.
    static let foldThreshold = 256

    /// Whether this CPU folds by carry-less multiplication (x86-64 with PCLMULQDQ): then a CRC costs less than
    /// copying its bytes.
    public static let hasCarrylessFold: Bool = {
        var zeros = [UInt8](repeating: 0, count: 80)
        return zeros.withUnsafeMutableBytes { z in
            rr_crc64_jones_fold(0, z.baseAddress!, 64, z.baseAddress!.assumingMemoryBound(to: UInt8.self) + 64) > 0
        }
    }()

    /// Continues a CRC over `count` bytes at `base`: by carry-less multiplication (`rr_crc64_jones_fold`, about
    /// 10x faster) where the CPU has PCLMULQDQ, finishing over its 16-byte remainder and the tail with the tables;
    /// otherwise `updatePortable`.
    public static func update(_ crc: UInt64, _ base: UnsafeRawPointer, _ count: Int) -> UInt64 {
        if count >= foldThreshold {
            var rest: (UInt64, UInt64) = (0, 0)
            let done = withUnsafeMutableBytes(of: &rest) { out in
                rr_crc64_jones_fold(crc, base, count, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            if done > 0 {
                let c = withUnsafeBytes(of: &rest) { updatePortable(0, $0.baseAddress!, 16) }
                return updatePortable(c, base + done, count &- done)
            }
        }
        return updatePortable(crc, base, count)
    }

    /// `update` by tables alone (slice-by-8, three chains), on any CPU.
    static func updatePortable(_ crc: UInt64, _ base: UnsafeRawPointer, _ count: Int) -> UInt64 {
        let t = table
        var c = crc
        var p = base
        var n = count
        let s = stripe
        while n >= 3 &* s {
            var c1: UInt64 = 0
            var c2: UInt64 = 0
            var i = 0
            while i < s {
                let w0 = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let w1 = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: s &+ i, as: UInt64.self))
                let w2 = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 2 &* s &+ i, as: UInt64.self))
                c = step(t, c, w0)
                c1 = step(t, c1, w1)
                c2 = step(t, c2, w2)
                i &+= 8
            }
            c = zerosStripe(t, zerosStripe(t, c) ^ c1) ^ c2
            p += 3 &* s
            n &-= 3 &* s
        }
        while n >= 8 {
            c = step(t, c, UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
            p += 8
            n &-= 8
        }
        while n > 0 {
            c = t[Int((c ^ UInt64(p.load(as: UInt8.self))) & 0xff)] ^ (c >> 8)
            p += 1
            n &-= 1
        }
        return c
    }

    /// Continues a CRC over an array of bytes.
    public static func update(_ crc: UInt64, _ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { update(crc, $0) }
    }

    /// The CRC of `bytes` from a zero start.
    public static func checksum(_ bytes: [UInt8]) -> UInt64 {
        update(0, bytes)
    }
}
