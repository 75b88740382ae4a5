/// Public one-shot encoders, for tests and tools.
public enum RDBEncoders {
    /// A listpack holding `elements` in order (integers encoded as Redis does).
    public static func listpack(_ elements: [[UInt8]]) -> [UInt8] {
        var b = ListpackBuilder(WriteBuffer())
        for e in elements { b.append(e) }
        b.finish()
        return b.buffer.array
    }

    /// A ziplist holding `elements` in order.
    public static func ziplist(_ elements: [[UInt8]]) -> [UInt8] {
        var b = ZiplistBuilder(WriteBuffer())
        for e in elements { b.append(e) }
        b.finish()
        return b.buffer.array
    }

    /// An intset of `values` (sorted, deduplicated, smallest width).
    public static func intset(_ values: [Int64]) -> [UInt8] {
        let buffer = WriteBuffer()
        IntsetBuilder.build(values, into: buffer)
        return buffer.array
    }
}
