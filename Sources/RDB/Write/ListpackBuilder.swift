/// Builds a listpack (Redis `src/listpack.c`) the way `lpAppend` does.
///
/// Layout: `<total-bytes u32 LE> <num-elements u16 LE> <entry>... <0xFF>`; `num-elements` is 65535
/// when the count does not fit. Each entry is `<encoding+data> <backlen>`:
/// - strings that are canonical integers (`lpStringToInt64`, at most 20 bytes) are stored as integers:
///   `0xxxxxxx` 7-bit uint, `110xxxxx` 13-bit, `0xF1` 16-bit, `0xF2` 24-bit, `0xF3` 32-bit, `0xF4` 64-bit (LE);
/// - other strings: `10xxxxxx` (< 64 bytes), `1110xxxx xxxxxxxx` (< 4096), `0xF0` + u32 LE length;
/// - `backlen` is the size of encoding+data as 7-bit groups, most significant group first, with the
///   high bit set on every byte but the first, so it can be read backwards.
struct ListpackBuilder {
    let buffer: WriteBuffer
    private(set) var count = 0

    /// Starts a listpack in `buffer` (which is reset).
    init(_ buffer: WriteBuffer) {
        self.buffer = buffer
        buffer.reset()
        buffer.reserve(6)
        buffer.count = 6
    }

    mutating func addCount(_ n: Int) { count += n }

    /// Bytes the finished listpack will have (header + entries + terminator).
    var finishedSize: Int { buffer.count + 1 }

    mutating func append(_ p: UnsafeRawBufferPointer) {
        if let v = canonicalInt64(p) {
            append(integer: v)
            return
        }
        let len = p.count
        let start = buffer.count
        if len < 64 {
            buffer.put(UInt8(0x80 | len))
        } else if len < 4096 {
            buffer.put(UInt8(0xE0 | (len >> 8)))
            buffer.put(UInt8(len & 0xff))
        } else {
            buffer.put(0xF0)
            buffer.putLE(UInt32(truncatingIfNeeded: len))
        }
        buffer.put(p)
        putBacklen(buffer.count - start)
        count += 1
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    mutating func append(integer v: Int64) {
        let start = buffer.count
        if v >= 0 && v <= 127 {
            buffer.put(UInt8(v))
        } else if v >= -4096 && v <= 4095 {
            let u = UInt16(bitPattern: Int16(v)) & 0x1fff
            buffer.put(UInt8(0xC0 | (u >> 8)))
            buffer.put(UInt8(u & 0xff))
        } else if v >= -32768 && v <= 32767 {
            buffer.put(0xF1)
            buffer.putLE(Int16(v))
        } else if v >= -8_388_608 && v <= 8_388_607 {
            let u = UInt32(bitPattern: Int32(v))
            buffer.put(0xF2)
            buffer.put(UInt8(u & 0xff))
            buffer.put(UInt8((u >> 8) & 0xff))
            buffer.put(UInt8((u >> 16) & 0xff))
        } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
            buffer.put(0xF3)
            buffer.putLE(Int32(v))
        } else {
            buffer.put(0xF4)
            buffer.putLE(v)
        }
        putBacklen(buffer.count - start)
        count += 1
    }

    private func putBacklen(_ l: Int) {
        if l <= 127 {
            buffer.put(UInt8(l))
        } else if l < 16383 {
            buffer.put(UInt8(l >> 7))
            buffer.put(UInt8(l & 127) | 128)
        } else if l < 2_097_151 {
            buffer.put(UInt8(l >> 14))
            buffer.put(UInt8((l >> 7) & 127) | 128)
            buffer.put(UInt8(l & 127) | 128)
        } else if l < 268_435_455 {
            buffer.put(UInt8(l >> 21))
            buffer.put(UInt8((l >> 14) & 127) | 128)
            buffer.put(UInt8((l >> 7) & 127) | 128)
            buffer.put(UInt8(l & 127) | 128)
        } else {
            buffer.put(UInt8(l >> 28))
            buffer.put(UInt8((l >> 21) & 127) | 128)
            buffer.put(UInt8((l >> 14) & 127) | 128)
            buffer.put(UInt8((l >> 7) & 127) | 128)
            buffer.put(UInt8(l & 127) | 128)
        }
    }

    /// Appends the terminator and fills in the header; the listpack is `buffer.bytes`.
    func finish() {
        buffer.put(0xFF)
        buffer.patchLE32(at: 0, UInt32(truncatingIfNeeded: buffer.count))
        buffer.patchLE16(at: 4, count < 65535 ? UInt16(count) : 65535)
    }

    /// Bytes an element will add (encoding + data + backlen), for node-size decisions.
    static func entrySize(_ p: UnsafeRawBufferPointer) -> Int {
        if let v = canonicalInt64(p) {
            let enc: Int
            if v >= 0 && v <= 127 { enc = 1 }
            else if v >= -4096 && v <= 4095 { enc = 2 }
            else if v >= -32768 && v <= 32767 { enc = 3 }
            else if v >= -8_388_608 && v <= 8_388_607 { enc = 4 }
            else if v >= Int64(Int32.min) && v <= Int64(Int32.max) { enc = 5 }
            else { enc = 9 }
            return enc + 1
        }
        let len = p.count
        let enc = len < 64 ? 1 : (len < 4096 ? 2 : 5)
        let l = enc + len
        let back = l <= 127 ? 1 : (l < 16383 ? 2 : (l < 2_097_151 ? 3 : (l < 268_435_455 ? 4 : 5)))
        return l + back
    }
}

/// Builds a ziplist (Redis `src/ziplist.c`, RDB 6+ encodings) the way `ziplistPush(..., ZIPLIST_TAIL)` does.
///
/// Layout: `<zlbytes u32 LE> <zltail u32 LE> <zllen u16 LE> <entry>... <0xFF>`; `zltail` is the offset of
/// the last entry, `zllen` is 65535 when the count does not fit. Each entry is
/// `<prevlen> <encoding> <data>`: prevlen is 1 byte (< 254) or `0xFE` + u32 LE.
/// Strings shorter than 32 bytes that are canonical integers (`zipTryEncoding`) become
/// `0xF1..0xFD` (0...12 immediate), `0xFE` int8, `0xC0` int16, `0xF0` int24, `0xD0` int32, `0xE0` int64;
/// other strings are `00pppppp`, `01pppppp qqqqqqqq` (14-bit BE) or `0x80` + u32 BE length.
struct ZiplistBuilder {
    let buffer: WriteBuffer
    private(set) var count = 0
    private var previousEntrySize = 0
    private var tailOffset = 10

    init(_ buffer: WriteBuffer) {
        self.buffer = buffer
        buffer.reset()
        buffer.reserve(10)
        buffer.count = 10
    }

    var finishedSize: Int { buffer.count + 1 }

    private mutating func putPrevlen() {
        tailOffset = buffer.count
        if previousEntrySize < 254 {
            buffer.put(UInt8(previousEntrySize))
        } else {
            buffer.put(0xFE)
            buffer.putLE(UInt32(truncatingIfNeeded: previousEntrySize))
        }
    }

    mutating func append(_ p: UnsafeRawBufferPointer) {
        let start = buffer.count
        if p.count < 32, let v = canonicalInt64(p) {
            putPrevlen()
            if v >= 0 && v <= 12 {
                buffer.put(0xF1 + UInt8(v))
            } else if v >= Int64(Int8.min) && v <= Int64(Int8.max) {
                buffer.put(0xFE)
                buffer.put(UInt8(bitPattern: Int8(v)))
            } else if v >= Int64(Int16.min) && v <= Int64(Int16.max) {
                buffer.put(0xC0)
                buffer.putLE(Int16(v))
            } else if v >= -8_388_608 && v <= 8_388_607 {
                let u = UInt32(bitPattern: Int32(v))
                buffer.put(0xF0)
                buffer.put(UInt8(u & 0xff))
                buffer.put(UInt8((u >> 8) & 0xff))
                buffer.put(UInt8((u >> 16) & 0xff))
            } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
                buffer.put(0xD0)
                buffer.putLE(Int32(v))
            } else {
                buffer.put(0xE0)
                buffer.putLE(v)
            }
        } else {
            putPrevlen()
            let len = p.count
            if len <= 0x3f {
                buffer.put(UInt8(len))
            } else if len <= 0x3fff {
                buffer.put(UInt8(0x40 | (len >> 8)))
                buffer.put(UInt8(len & 0xff))
            } else {
                buffer.put(0x80)
                buffer.putBE(UInt32(truncatingIfNeeded: len))
            }
            buffer.put(p)
        }
        previousEntrySize = buffer.count - start
        count += 1
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    func finish() {
        buffer.put(0xFF)
        buffer.patchLE32(at: 0, UInt32(truncatingIfNeeded: buffer.count))
        buffer.patchLE32(at: 4, UInt32(truncatingIfNeeded: tailOffset))
        buffer.patchLE16(at: 8, count < 65535 ? UInt16(count) : 65535)
    }

    /// Upper bound of the bytes an element adds (prevlen counted as 5 when it might need it).
    static func entrySize(_ p: UnsafeRawBufferPointer) -> Int {
        if p.count < 32, canonicalInt64(p) != nil { return 5 + 9 }
        let len = p.count
        return 5 + (len <= 0x3f ? 1 : (len <= 0x3fff ? 2 : 5)) + len
    }
}

/// Builds an intset (Redis `src/intset.c`): `<encoding u32 LE: 2|4|8> <length u32 LE> <values LE>`,
/// values sorted ascending and unique, all in the smallest width that holds every value.
enum IntsetBuilder {
    static func build(_ values: [Int64], into buffer: WriteBuffer) {
        let sorted = values.sorted()
        var unique: [Int64] = []
        unique.reserveCapacity(sorted.count)
        for v in sorted where unique.last != v { unique.append(v) }
        var width = 2
        if let lo = unique.first, let hi = unique.last {
            if lo < Int64(Int32.min) || hi > Int64(Int32.max) { width = 8 }
            else if lo < Int64(Int16.min) || hi > Int64(Int16.max) { width = 4 }
        }
        buffer.reset()
        buffer.putLE(UInt32(width))
        buffer.putLE(UInt32(unique.count))
        for v in unique {
            switch width {
            case 2: buffer.putLE(Int16(v))
            case 4: buffer.putLE(Int32(v))
            default: buffer.putLE(v)
            }
        }
    }
}

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
