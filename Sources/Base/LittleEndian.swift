/// Little-endian integers in byte buffers (the byte order of the log frames and of the RDB trailer).
public enum LittleEndian {
    /// The `T` stored little-endian at `offset` (unaligned); the caller guarantees the bytes are there.
    @inline(__always)
    public static func load<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, at offset: Int, as: T.Type) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    public static func load<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as type: T.Type) -> T {
        bytes.withUnsafeBytes { load($0, at: offset, as: type) }
    }

    /// Stores `value` little-endian at `offset`; the caller guarantees the room.
    @inline(__always)
    public static func store<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8], at offset: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }

    /// `value`'s bytes, little-endian.
    public static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: MemoryLayout<T>.size)
        store(value, into: &out, at: 0)
        return out
    }
}
