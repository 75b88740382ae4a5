import CZlib

/// zlib's CRC-32 (the ISO-HDLC / gzip polynomial 0xEDB88320, reflected, init and final XOR 0xFFFFFFFF),
/// as computed by zlib's `crc32()`; used by the replica log's record frames and the manifest's checksum.
public enum CRC32 {
    /// The CRC of `bytes` continued from `crc` (0 to start).
    @inline(__always)
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return crc }
        var left = bytes.count
        var c = uLong(crc)
        while left > 0 {
            let n = min(left, Int(UInt32.max >> 1))
            c = crc32(c, p, uInt(n))
            p += n
            left -= n
        }
        return UInt32(truncatingIfNeeded: c)
    }

    public static func update(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(crc, $0) }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 { update(0, bytes) }
}
