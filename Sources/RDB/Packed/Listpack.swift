#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Listpacks (Redis `src/listpack.c`): the reader's walker/validator and the writer's builder, side by side.
extension RDBReader {
    /// Walks a listpack blob, validating it as `lpValidateIntegrity(deep)` does: total bytes equals the blob
    /// size, every entry encoding is valid and inside the blob, every back-length matches, the count matches
    /// the header (unless 65535) and the blob ends with 0xFF right after the last entry.
    @discardableResult
    func walkListpack(_ blob: UnsafeRawBufferPointer, base: Int64, _ body: (PackedElement) throws -> Void) throws -> Int {
        let size = blob.count
        guard let p = blob.baseAddress, size >= 7 else {
            throw error(.listpack, "listpack of \(size) bytes is shorter than its 7-byte minimum", at: base)
        }
        let total = Int(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        let numElements = Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt16.self)))
        guard total == size else {
            throw error(.listpack, "listpack header says \(total) bytes but the blob has \(size)", at: base)
        }
        guard p.load(fromByteOffset: size - 1, as: UInt8.self) == 0xff else {
            throw error(.listpack, "listpack does not end with 0xFF", at: base + Int64(size - 1))
        }
        let endAt = size - 1
        var off = 6
        var count = 0
        while off < endAt {
            let at = base + Int64(off)
            let b = p.load(fromByteOffset: off, as: UInt8.self)
            var el = PackedElement(ptr: nil, len: 0, int: 0)
            var entryLen: Int
            if b & 0x80 == 0 {
                el.int = Int64(b)
                entryLen = 1
            } else if b & 0xc0 == 0x80 {
                let len = Int(b & 0x3f)
                entryLen = 1 + len
                guard entryLen <= endAt - off else { throw error(.listpack, "listpack string entry runs past the end", at: at) }
                el.ptr = UnsafeRawPointer(p + off + 1)
                el.len = len
            } else if b & 0xe0 == 0xc0 {
                guard 2 <= endAt - off else { throw error(.listpack, "listpack entry runs past the end", at: at) }
                let u = (UInt16(b & 0x1f) << 8) | UInt16(p.load(fromByteOffset: off + 1, as: UInt8.self))
                el.int = Int64(Int16(bitPattern: u << 3) >> 3)
                entryLen = 2
            } else if b & 0xf0 == 0xe0 {
                guard 2 <= endAt - off else { throw error(.listpack, "listpack entry runs past the end", at: at) }
                let len = (Int(b & 0x0f) << 8) | Int(p.load(fromByteOffset: off + 1, as: UInt8.self))
                entryLen = 2 + len
                guard entryLen <= endAt - off else { throw error(.listpack, "listpack string entry runs past the end", at: at) }
                el.ptr = UnsafeRawPointer(p + off + 2)
                el.len = len
            } else {
                switch b {
                case 0xf0:
                    guard 5 <= endAt - off else { throw error(.listpack, "listpack entry runs past the end", at: at) }
                    let len = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: off + 1, as: UInt32.self)))
                    guard len <= endAt - off - 5 else { throw error(.listpack, "listpack string entry runs past the end", at: at) }
                    entryLen = 5 + len
                    el.ptr = UnsafeRawPointer(p + off + 5)
                    el.len = len
                case 0xf1:
                    guard 3 <= endAt - off else { throw error(.listpack, "listpack entry runs past the end", at: at) }
                    el.int = Int64(Int16(littleEndian: p.loadUnaligned(fromByteOffset: off + 1, as: Int16.self)))
                    entryLen = 3
                case 0xf2:
                    guard 4 <= endAt - off else { throw error(.listpack, "listpack entry runs past the end", at: at) }
                    let u = UInt32(p.load(fromByteOffset: off + 1, as: UInt8.self))
                        | UInt32(p.load(fromByteOffset: off + 2, as: UInt8.self)) << 8
                        | UInt32(p.load(fromByteOffset: off + 3, as: UInt8.self)) << 16
                    el.int = Int64(Int32(bitPattern: u << 8) >> 8)
                    entryLen = 4
                case 0xf3:
                    guard 5 <= endAt - off else { throw error(.listpack, "listpack entry runs past the end", at: at) }
                    el.int = Int64(Int32(littleEndian: p.loadUnaligned(fromByteOffset: off + 1, as: Int32.self)))
                    entryLen = 5
                case 0xf4:
                    guard 9 <= endAt - off else { throw error(.listpack, "listpack entry runs past the end", at: at) }
                    el.int = Int64(littleEndian: p.loadUnaligned(fromByteOffset: off + 1, as: Int64.self))
                    entryLen = 9
                default:
                    throw error(.listpack, "listpack entry has invalid encoding 0x\(String(b, radix: 16))", at: at)
                }
            }
            // Back-length: entryLen in 1...5 bytes, big-endian groups of 7 bits, continuation bit on all but the first.
            let blen = entryLen < 128 ? 1 : entryLen < 16384 ? 2 : entryLen < 2_097_152 ? 3 : entryLen < 268_435_456 ? 4 : 5
            guard blen <= endAt - off - entryLen else {
                throw error(.listpack, "listpack entry back-length runs past the end", at: at)
            }
            var bo = off + entryLen
            for i in 0..<blen {
                var expected = UInt8((entryLen >> (7 * (blen - 1 - i))) & 0x7f)
                if i > 0 { expected |= 0x80 }
                guard p.load(fromByteOffset: bo, as: UInt8.self) == expected else {
                    throw error(.listpack, "listpack entry back-length does not match its size \(entryLen)", at: base + Int64(bo))
                }
                bo += 1
            }
            off = bo
            count += 1
            try body(el)
        }
        guard off == endAt else {
            throw error(.listpack, "listpack entries overrun the terminator", at: base + Int64(endAt))
        }
        if numElements != 0xffff && numElements != count {
            throw error(.listpack, "listpack header counts \(numElements) elements but holds \(count)", at: base + 4)
        }
        return count
    }
}

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
        if let v = canonicalInt64(p) { return ListpackEntrySize.integer(v) }
        return ListpackEntrySize.string(length: p.count)
    }
}

/// The size of one listpack entry as Redis's listpack.c lays it out (`lpEncodeGetType`, `lpEncodeBacklen`):
/// the encoding byte(s), the data, and the back-length. Used by the builder's node-size decisions and by
/// memory estimates.
public enum ListpackEntrySize {
    /// An integer entry: 7-bit uint, 13/16/24/32-bit or 64-bit int (the back-length is always 1 byte).
    @inlinable @inline(__always) public static func integer(_ v: Int64) -> Int {
        let enc: Int
        if v >= 0 && v <= 127 { enc = 1 }
        else if v >= -4096 && v <= 4095 { enc = 2 }
        else if v >= -32768 && v <= 32767 { enc = 3 }
        else if v >= -8_388_608 && v <= 8_388_607 { enc = 4 }
        else if v >= Int64(Int32.min) && v <= Int64(Int32.max) { enc = 5 }
        else { enc = 9 }
        return enc + 1
    }

    /// A string entry of `length` bytes: 6-bit, 12-bit or 32-bit length encoding, then the back-length.
    @inlinable @inline(__always) public static func string(length: Int) -> Int {
        let l = (length < 64 ? 1 : (length < 4096 ? 2 : 5)) + length
        return l + backlen(l)
    }

    /// Bytes of the back-length that follows an entry whose encoding plus data is `l` bytes.
    @inlinable @inline(__always) public static func backlen(_ l: Int) -> Int {
        if l <= 127 { return 1 }
        if l < 16383 { return 2 }
        if l < 2_097_151 { return 3 }
        if l < 268_435_455 { return 4 }
        return 5
    }
}
