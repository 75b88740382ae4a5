/// CRC-64/Jones exactly as Redis computes the RDB trailer (`src/crc64.c`):
/// reflected polynomial 0xad93d23594c935a9, initial value 0, no final xor.
/// Check value: `crc64("123456789") == 0xe9c6d914c4b8d9ca`.
///
/// Slice-by-8 over 8-byte unaligned little-endian loads with an 8x256 table held in an
/// `UnsafePointer` (no bounds checks in the hot loop).
public enum CRC64 {
    /// The Jones polynomial as Redis names it (`0xad93d23594c935a9`), and its bit-reversed form used by
    /// this right-shifting (reflected) implementation.
    public static let polynomial: UInt64 = 0xad93d23594c935a9
    public static let reflectedPolynomial: UInt64 = 0x95ac9329ac4bc9b5

    /// 8 tables of 256 entries, laid out contiguously; never freed (process-lifetime constant).
    /// `nonisolated(unsafe)`: the pointee is written only inside this initializer, which Swift runs exactly
    /// once (lazy global initialization is thread-safe); afterwards every access is a read.
    nonisolated(unsafe) private static let table: UnsafePointer<UInt64> = {
        let t = UnsafeMutablePointer<UInt64>.allocate(capacity: 8 * 256)
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
        return UnsafePointer(t)
    }()

    /// Continues a CRC over `bytes`. Start with 0.
    @inline(__always)
    public static func update(_ crc: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return update(crc, base, bytes.count)
    }

    /// Continues a CRC over `count` bytes at `base`.
    public static func update(_ crc: UInt64, _ base: UnsafeRawPointer, _ count: Int) -> UInt64 {
        let t = table
        var c = crc
        var p = base
        var n = count
        while n >= 8 {
            let w = c ^ UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
            c = t[7 * 256 + Int(w & 0xff)]
                ^ t[6 * 256 + Int((w >> 8) & 0xff)]
                ^ t[5 * 256 + Int((w >> 16) & 0xff)]
                ^ t[4 * 256 + Int((w >> 24) & 0xff)]
                ^ t[3 * 256 + Int((w >> 32) & 0xff)]
                ^ t[2 * 256 + Int((w >> 40) & 0xff)]
                ^ t[1 * 256 + Int((w >> 48) & 0xff)]
                ^ t[Int(w >> 56)]
            p += 8
            n -= 8
        }
        while n > 0 {
            c = t[Int((c ^ UInt64(p.load(as: UInt8.self))) & 0xff)] ^ (c >> 8)
            p += 1
            n -= 1
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
