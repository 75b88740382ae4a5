#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One element of a ziplist or listpack: either a byte string inside the blob or an integer.
/// `ptr` points into the blob and is valid only while the blob is.
struct PackedElement {
    var ptr: UnsafeRawPointer?
    var len: Int
    var int: Int64

    @inline(__always) var isInt: Bool { ptr == nil }

    /// The element as a Redis string (integers as decimal text).
    @inline(__always)
    func bytes() -> Bytes {
        if let ptr { return len == 0 ? [] : Bytes(UnsafeRawBufferPointer(start: ptr, count: len)) }
        return readerDecimalBytes(int)
    }

    /// The element as an integer: integer encodings directly, strings when they are canonical decimal text.
    func integer() -> Int64? {
        guard let ptr else { return int }
        return parseDecimalInt64(UnsafeRawBufferPointer(start: ptr, count: len))
    }

    /// Whether the element is a valid, non-NaN score, without converting plain decimal text.
    func isValidScore() -> Bool {
        guard let ptr else { return true }
        let text = UnsafeRawBufferPointer(start: ptr, count: len)
        if isPlainDecimalSyntax(text) { return true }
        guard let v = parseDouble(text) else { return false }
        return !v.isNaN
    }

    /// The element as a sorted-set score (`zzlGetScore`: integers, or strtod over the text).
    func score() -> Double? {
        guard let ptr else { return Double(int) }
        return parseDouble(UnsafeRawBufferPointer(start: ptr, count: len))
    }
}

/// Strict decimal int64 (`string2ll`): optional '-', digits, no leading zeros, no overflow.
func parseDecimalInt64(_ b: UnsafeRawBufferPointer) -> Int64? {
    let n = b.count
    guard n > 0, n <= 20 else { return nil }
    var i = 0
    var neg = false
    if b[0] == 0x2d {
        neg = true
        i = 1
        guard n > 1 else { return nil }
    }
    if b[i] == 0x30 && n - i > 1 { return nil }
    var m: UInt64 = 0
    while i < n {
        let c = b[i]
        guard c >= 0x30 && c <= 0x39 else { return nil }
        let (a, o1) = m.multipliedReportingOverflow(by: 10)
        let (s, o2) = a.addingReportingOverflow(UInt64(c - 0x30))
        guard !o1 && !o2 else { return nil }
        m = s
        i += 1
    }
    if neg {
        guard m <= UInt64(Int64.max) + 1 else { return nil }
        return m == UInt64(Int64.max) + 1 ? Int64.min : -Int64(m)
    }
    guard m <= UInt64(Int64.max) else { return nil }
    return Int64(m)
}

private let exactPowersOf10: [Double] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
                                          1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

/// Clinger's fast path: `[-]digits[.digits]` with at most 15 significant digits and at most 22 fraction
/// digits is exactly `mantissa / 10^k`, correctly rounded by one IEEE division, the same double strtod gives.
/// Anything else returns nil (the caller falls back to strtod).
@inline(__always)
func fastDecimalDouble(_ b: UnsafeRawBufferPointer) -> Double? {
    let n = b.count
    var i = 0
    var neg = false
    if b[0] == 0x2d { neg = true; i = 1 }
    var mantissa: UInt64 = 0
    var digits = 0
    var fraction = 0
    var seenDot = false
    var any = false
    while i < n {
        let c = b[i]
        if c >= 0x30 && c <= 0x39 {
            if mantissa != 0 || c != 0x30 { digits += 1 }
            guard digits <= 15 else { return nil }
            mantissa = mantissa * 10 + UInt64(c - 0x30)
            if seenDot { fraction += 1 }
            any = true
        } else if c == 0x2e && !seenDot {
            seenDot = true
        } else {
            return nil
        }
        i += 1
    }
    guard any, fraction <= 22 else { return nil }
    let v = Double(mantissa) / exactPowersOf10[fraction]
    return neg ? -v : v
}

/// `[-]digits[.digits][e[+-]digits]`: text strtod always parses completely into a finite or infinite
/// number, never NaN.
func isPlainDecimalSyntax(_ b: UnsafeRawBufferPointer) -> Bool {
    let n = b.count
    var i = 0
    if n > 0 && b[0] == 0x2d { i = 1 }
    var mantissaDigits = 0
    while i < n, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; mantissaDigits += 1 }
    if i < n && b[i] == 0x2e {
        i += 1
        while i < n, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; mantissaDigits += 1 }
    }
    guard mantissaDigits > 0 else { return false }
    if i < n && (b[i] == 0x65 || b[i] == 0x45) {
        i += 1
        if i < n && (b[i] == 0x2b || b[i] == 0x2d) { i += 1 }
        var expDigits = 0
        while i < n, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; expDigits += 1 }
        guard expDigits > 0 else { return false }
    }
    return i == n
}

/// A double from text the way Redis stores zset scores (strtod); the whole text must be consumed.
func parseDouble(_ b: UnsafeRawBufferPointer) -> Double? {
    let n = b.count
    guard n > 0, n < 512 else { return nil }
    if let v = fastDecimalDouble(b) { return v }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { tmp -> Double? in
        guard let t = tmp.baseAddress, let src = b.baseAddress else { return nil }
        UnsafeMutableRawPointer(t).copyMemory(from: src, byteCount: n)
        t[n] = 0
        var endp: UnsafeMutablePointer<CChar>? = nil
        let v = strtod(t, &endp)
        guard let e = endp, e - t == n else { return nil }
        return v
    }
}

extension RDBReader {
    // MARK: - Ziplist (`src/ziplist.c`)

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

    // MARK: - Listpack (`src/listpack.c`)

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

    // MARK: - Intset (`src/intset.c`)

    /// Validates an intset (`intsetValidateIntegrity(deep)`): encoding 2/4/8, size = 8 + len * encoding,
    /// values strictly ascending. Calls `body` with each value.
    func walkIntset(_ blob: UnsafeRawBufferPointer, base: Int64, _ body: (Int64) throws -> Void) throws {
        guard let p = blob.baseAddress, blob.count >= 8 else {
            throw error(.intset, "intset of \(blob.count) bytes is shorter than its 8-byte header", at: base)
        }
        let enc = Int(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        let len = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard enc == 2 || enc == 4 || enc == 8 else {
            throw error(.intset, "intset has invalid encoding \(enc) (expected 2, 4 or 8)", at: base)
        }
        guard len * enc == blob.count - 8 else {
            throw error(.intset, "intset of \(len) x \(enc)-byte values does not fill its \(blob.count)-byte blob", at: base + 4)
        }
        var prev = Int64.min
        for i in 0..<len {
            let o = 8 + i * enc
            let v: Int64
            switch enc {
            case 2: v = Int64(Int16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: Int16.self)))
            case 4: v = Int64(Int32(littleEndian: p.loadUnaligned(fromByteOffset: o, as: Int32.self)))
            default: v = Int64(littleEndian: p.loadUnaligned(fromByteOffset: o, as: Int64.self))
            }
            if i > 0 && v <= prev {
                throw error(.intset, "intset values are not strictly ascending (\(v) after \(prev))", at: base + Int64(o))
            }
            prev = v
            try body(v)
        }
    }

    // MARK: - Zipmap (`src/zipmap.c`)

    /// Walks a zipmap (`zipmapValidateIntegrity`): `zmlen` (count if < 254), then
    /// `len key len free value [free bytes]` pairs, lengths as 1 byte (< 254) or 254 + 4-byte little-endian,
    /// ending with 0xFF as the very last byte.
    func walkZipmap(_ blob: UnsafeRawBufferPointer, base: Int64,
                    _ body: (PackedElement, PackedElement) throws -> Void) throws {
        let size = blob.count
        guard let p = blob.baseAddress, size >= 2 else {
            throw error(.zipmap, "zipmap of \(size) bytes is too short", at: base)
        }
        let zmlen = Int(p.load(as: UInt8.self))
        var off = 1
        var count = 0
        func readLen() throws -> Int? {
            guard off < size else { throw error(.zipmap, "zipmap runs past its end", at: base + Int64(off)) }
            let b = p.load(fromByteOffset: off, as: UInt8.self)
            if b == 0xff { return nil }
            if b < 254 {
                off += 1
                return Int(b)
            }
            guard off + 5 <= size else { throw error(.zipmap, "zipmap length runs past its end", at: base + Int64(off)) }
            let v = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: off + 1, as: UInt32.self)))
            off += 5
            return v
        }
        while true {
            guard let klen = try readLen() else { break }
            guard klen <= size - off else { throw error(.zipmap, "zipmap key runs past its end", at: base + Int64(off)) }
            let key = PackedElement(ptr: UnsafeRawPointer(p + off), len: klen, int: 0)
            off += klen
            guard let vlen = try readLen() else {
                throw error(.zipmap, "zipmap ends after a key without a value", at: base + Int64(off))
            }
            guard off < size else { throw error(.zipmap, "zipmap runs past its end", at: base + Int64(off)) }
            let free = Int(p.load(fromByteOffset: off, as: UInt8.self))
            off += 1
            guard vlen <= size - off, free <= size - off - vlen else {
                throw error(.zipmap, "zipmap value runs past its end", at: base + Int64(off))
            }
            let value = PackedElement(ptr: UnsafeRawPointer(p + off), len: vlen, int: 0)
            off += vlen + free
            count += 1
            try body(key, value)
        }
        guard off == size - 1 else {
            throw error(.zipmap, "zipmap terminator is not the last byte", at: base + Int64(off))
        }
        if zmlen < 254 && zmlen != count {
            throw error(.zipmap, "zipmap header counts \(zmlen) pairs but holds \(count)", at: base)
        }
    }
}

// MARK: - Save side (RDBWriter): building listpacks, ziplists and intsets, the twins of the walkers above.

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
