#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ziplists (Redis `src/ziplist.c`): the reader's walker/validator and the writer's builder, side by side.
extension RDBReader {
    /// Walks a ziplist blob, validating it as `ziplistValidateIntegrity(deep)` does: zlbytes equals the blob
    /// size, zltail points at the last entry, every prevlen equals the previous entry's size, every encoding
    /// is valid, the entry count matches zllen (unless 65535) and the blob ends with 0xFF.
    /// Returns the number of entries.
    @discardableResult
    func walkZiplist(_ blob: UnsafeRawBufferPointer, base: Int64, _ body: (PackedElement) throws -> Void) throws -> Int {
        let size = blob.count
        guard let p = blob.baseAddress, size >= 11 else {
            throw error(.ziplist, "ziplist of \(size) bytes is shorter than its 11-byte minimum", at: base)
        }
        let zlbytes = Int(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        let zltail = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let zllen = Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
        guard zlbytes == size else {
            throw error(.ziplist, "ziplist header says \(zlbytes) bytes but the blob has \(size)", at: base)
        }
        guard p.load(fromByteOffset: size - 1, as: UInt8.self) == 0xff else {
            throw error(.ziplist, "ziplist does not end with 0xFF", at: base + Int64(size - 1))
        }
        var off = 10
        var prevSize = 0
        var lastStart = 10
        var count = 0
        let endAt = size - 1
        while off < endAt {
            let entryStart = off
            let at = base + Int64(off)
            // prevlen
            var prevlen: Int
            let b0 = p.load(fromByteOffset: off, as: UInt8.self)
            if b0 < 254 {
                prevlen = Int(b0)
                off += 1
            } else if b0 == 254 {
                guard off + 5 <= endAt else { throw error(.ziplist, "ziplist entry header runs past the end", at: at) }
                prevlen = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: off + 1, as: UInt32.self)))
                off += 5
            } else {
                throw error(.ziplist, "ziplist entry has invalid prevlen byte 0xFF", at: at)
            }
            guard prevlen == prevSize else {
                throw error(.ziplist, "ziplist entry prevlen \(prevlen) does not match the previous entry's size \(prevSize)", at: at)
            }
            guard off < endAt else { throw error(.ziplist, "ziplist entry header runs past the end", at: at) }
            let enc = p.load(fromByteOffset: off, as: UInt8.self)
            var el = PackedElement(ptr: nil, len: 0, int: 0)
            switch enc >> 6 {
            case 0:
                let len = Int(enc & 0x3f)
                off += 1
                guard len <= endAt - off else { throw error(.ziplist, "ziplist string entry runs past the end", at: at) }
                el.ptr = UnsafeRawPointer(p + off)
                el.len = len
                off += len
            case 1:
                guard off + 2 <= endAt else { throw error(.ziplist, "ziplist entry header runs past the end", at: at) }
                let len = (Int(enc & 0x3f) << 8) | Int(p.load(fromByteOffset: off + 1, as: UInt8.self))
                off += 2
                guard len <= endAt - off else { throw error(.ziplist, "ziplist string entry runs past the end", at: at) }
                el.ptr = UnsafeRawPointer(p + off)
                el.len = len
                off += len
            case 2:
                guard off + 5 <= endAt else { throw error(.ziplist, "ziplist entry header runs past the end", at: at) }
                let len = Int(UInt32(bigEndian: p.loadUnaligned(fromByteOffset: off + 1, as: UInt32.self)))
                off += 5
                guard len <= endAt - off else { throw error(.ziplist, "ziplist string entry runs past the end", at: at) }
                el.ptr = UnsafeRawPointer(p + off)
                el.len = len
                off += len
            default:
                off += 1
                var n = 0
                switch enc {
                case 0xc0: n = 2
                case 0xd0: n = 4
                case 0xe0: n = 8
                case 0xf0: n = 3
                case 0xfe: n = 1
                case 0xf1...0xfd: el.int = Int64(enc & 0x0f) - 1
                default:
                    throw error(.ziplist, "ziplist entry has invalid encoding 0x\(String(enc, radix: 16))", at: at)
                }
                guard n <= endAt - off else { throw error(.ziplist, "ziplist integer entry runs past the end", at: at) }
                switch n {
                case 1: el.int = Int64(Int8(bitPattern: p.load(fromByteOffset: off, as: UInt8.self)))
                case 2: el.int = Int64(Int16(littleEndian: p.loadUnaligned(fromByteOffset: off, as: Int16.self)))
                case 3:
                    let u = UInt32(p.load(fromByteOffset: off, as: UInt8.self))
                        | UInt32(p.load(fromByteOffset: off + 1, as: UInt8.self)) << 8
                        | UInt32(p.load(fromByteOffset: off + 2, as: UInt8.self)) << 16
                    el.int = Int64(Int32(bitPattern: u << 8) >> 8)
                case 4: el.int = Int64(Int32(littleEndian: p.loadUnaligned(fromByteOffset: off, as: Int32.self)))
                case 8: el.int = Int64(littleEndian: p.loadUnaligned(fromByteOffset: off, as: Int64.self))
                default: break
                }
                off += n
            }
            prevSize = off - entryStart
            lastStart = entryStart
            count += 1
            try body(el)
        }
        guard off == endAt else {
            throw error(.ziplist, "ziplist entries overrun the terminator", at: base + Int64(endAt))
        }
        guard zltail == lastStart else {
            throw error(.ziplist, "ziplist tail offset \(zltail) does not point at the last entry (\(lastStart))", at: base + 4)
        }
        if zllen != 0xffff && zllen != count {
            throw error(.ziplist, "ziplist header counts \(zllen) entries but holds \(count)", at: base + 8)
        }
        return count
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
