/// The reader's primitives: bytes, little-endian integers, lengths and strings as `src/rdb.c` reads them
/// (`rdbLoadLen`, `rdbGenericLoadStringObject`, the integer and LZF string encodings).
extension RDBReader {
    @inline(__always)
    func readByte() throws -> UInt8 {
        if pos == end { try fill(1) }
        let b = buf.load(fromByteOffset: pos, as: UInt8.self)
        pos &+= 1
        return b
    }

    @inline(__always)
    func readUInt32LE() throws -> UInt32 {
        try ensure(4)
        let v = UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
        pos &+= 4
        return v
    }

    @inline(__always)
    func readUInt64LE() throws -> UInt64 {
        try ensure(8)
        let v = UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
        pos &+= 8
        return v
    }

    @inline(__always)
    func readInt64LE() throws -> Int64 { Int64(bitPattern: try readUInt64LE()) }

    /// A length (`rdbLoadLen`): 6-bit, 14-bit, 32-bit BE, 64-bit BE. Encoded (`11xxxxxx`) values are errors here.
    @inline(__always)
    func readLength() throws -> UInt64 {
        let (v, encoded) = try readLengthOrEncoding()
        if encoded { throw error(.badLength, "expected a length, found a special string encoding \(v)", at: bytesConsumed - 1) }
        return v
    }

    /// Returns (value, isEncoded). For `11xxxxxx`, value is the 6-bit encoding type.
    @inline(__always)
    func readLengthOrEncoding() throws -> (UInt64, Bool) {
        let b = try readByte()
        switch b >> 6 {
        case RDBLengthPrefix.bits6: return (UInt64(b & 0x3f), false)
        case RDBLengthPrefix.bits14:
            let b2 = try readByte()
            return ((UInt64(b & 0x3f) << 8) | UInt64(b2), false)
        case 2:
            if b == RDBLengthPrefix.bits32 {
                try ensure(4)
                let v = UInt32(bigEndian: buf.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
                pos &+= 4
                return (UInt64(v), false)
            } else if b == RDBLengthPrefix.bits64 {
                try ensure(8)
                let v = UInt64(bigEndian: buf.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
                pos &+= 8
                return (v, false)
            }
            throw error(.badLength, "unknown length encoding 0x\(String(b, radix: 16))", at: bytesConsumed - 1)
        default:
            return (UInt64(b & 0x3f), true)
        }
    }

    /// A length that will be used as a count or size: must fit in Int.
    @inline(__always)
    func readCount(_ what: @autoclosure () -> String) throws -> Int {
        let v = try readLength()
        guard v <= UInt64(Int.max) else {
            throw error(.badLength, "\(what()) \(v) is impossibly large", at: bytesConsumed)
        }
        return Int(v)
    }

    func checkStringLength(_ len: UInt64, at offset: Int64) throws -> Int {
        guard len <= UInt64(options.maxStringLength) else {
            throw error(.badLength, "string length \(len) exceeds the limit of \(options.maxStringLength) bytes", at: offset)
        }
        return Int(len)
    }

    /// Header of an RDB string (`rdbGenericLoadStringObject`).
    enum StringHeader {
        case raw(Int)
        case int(Int64)
        case lzf(compressed: Int, length: Int)
    }

    @inline(__always)
    func readStringHeader() throws -> StringHeader {
        let start = bytesConsumed
        let (v, encoded) = try readLengthOrEncoding()
        if !encoded { return .raw(try checkStringLength(v, at: start)) }
        switch RDBStringEncoding(rawValue: UInt8(truncatingIfNeeded: v)) {
        case .int8?:
            return .int(Int64(Int8(bitPattern: try readByte())))
        case .int16?:
            try ensure(2)
            let x = Int16(littleEndian: buf.loadUnaligned(fromByteOffset: pos, as: Int16.self))
            pos &+= 2
            return .int(Int64(x))
        case .int32?:
            let x = Int32(bitPattern: try readUInt32LE())
            return .int(Int64(x))
        case .lzf?:
            let clen = try checkStringLength(try readLength(), at: start)
            let len = try checkStringLength(try readLength(), at: start)
            // LZF expands at most ~132x (a 3-byte back-reference copies up to 264 bytes).
            guard clen > 0, len > 0, UInt64(len) <= UInt64(clen) &* 133 &+ 64 else {
                throw error(.lzf, "LZF string with compressed length \(clen) cannot expand to \(len) bytes", at: start)
            }
            return .lzf(compressed: clen, length: len)
        case nil:
            throw error(.badStringEncoding, "unknown string encoding \(v)", at: start)
        }
    }

    /// Reads an RDB string and returns its bytes.
    func readString() throws -> Bytes {
        let start = bytesConsumed
        switch try readStringHeader() {
        case .raw(let n):
            return try readRawBytes(n)
        case .int(let v):
            return readerDecimalBytes(v)
        case .lzf(let clen, let len):
            try ensure(clen)
            let input = UnsafeRawBufferPointer(start: buf + pos, count: clen)
            do {
                let out = try LZF.decompress(input, expectedLength: len)
                pos += clen
                return out
            } catch let e as LZF.DecompressError {
                throw error(.lzf, "corrupt LZF string: \(e.message) (compressed byte \(e.inputOffset))", at: start)
            }
        }
    }

    /// Reads an RDB string into `arena` as one element (large strings are copied chunk by chunk, without
    /// growing the read buffer; the arena grows only with bytes actually read). `whole`: a raw string that fits
    /// the buffer is made available at once, so a truncated one reports every byte missing, as `readString()`
    /// does (keys: the same error as `rdb check`, which reads them that way).
    func readString(into arena: RDBValueArena, whole: Bool = false) throws {
        let start = bytesConsumed
        switch try readStringHeader() {
        case .raw(let n):
            if whole && end &- pos < n && n <= cap { try ensure(n) }
            if end &- pos >= n {
                arena.append(UnsafeRawBufferPointer(start: buf + pos, count: n))
                pos &+= n
                return
            }
            var done = 0
            while done < n {
                if end == pos { try fill(1) }
                let take = min(n - done, end - pos)
                let dst = arena.reserve(done + take)
                (dst + done).copyMemory(from: buf + pos, byteCount: take)
                pos += take
                done += take
            }
            arena.commit(n)
        case .int(let v):
            arena.append(int: v)
        case .lzf(let clen, let len):
            try ensure(clen)
            let dst = arena.reserve(len)
            do {
                let got = try LZF.decompress(UnsafeRawBufferPointer(start: buf + pos, count: clen), into: dst, capacity: len)
                guard got == len else {  // the same error as `LZF.decompress(_:expectedLength:)`
                    throw LZF.DecompressError(message: "expanded to \(got) bytes, expected \(len)", inputOffset: clen)
                }
            } catch let e as LZF.DecompressError {
                throw error(.lzf, "corrupt LZF string: \(e.message) (compressed byte \(e.inputOffset))", at: start)
            }
            pos += clen
            arena.commit(len)
        }
    }

    /// Reads an RDB string without keeping it (still decompresses LZF to validate it).
    func skipString() throws {
        let start = bytesConsumed
        switch try readStringHeader() {
        case .raw(let n):
            try skip(n)
        case .int:
            return
        case .lzf(let clen, let len):
            try ensure(clen)
            do {
                try LZF.validate(UnsafeRawBufferPointer(start: buf + pos, count: clen), expectedLength: len)
            } catch let e as LZF.DecompressError {
                throw error(.lzf, "corrupt LZF string: \(e.message) (compressed byte \(e.inputOffset))", at: start)
            }
            pos += clen
        }
    }

    /// Reads an RDB string and hands its bytes to `body` (valid only during the call). `base` is the absolute
    /// offset used for error messages inside the blob (the payload start for raw strings, the string start
    /// for compressed ones).
    func withString<R>(_ body: (UnsafeRawBufferPointer, Int64) throws -> R) throws -> R {
        let start = bytesConsumed
        switch try readStringHeader() {
        case .raw(let n):
            try ensure(n)
            let blobStart = bytesConsumed
            let r = try body(UnsafeRawBufferPointer(start: buf + pos, count: n), blobStart)
            pos += n
            return r
        case .int(let v):
            let text = readerDecimalBytes(v)
            return try text.withUnsafeBytes { try body($0, start) }
        case .lzf(let clen, let len):
            try ensure(clen)
            let dst = scratchBuffer(len)
            do {
                let got = try LZF.decompress(UnsafeRawBufferPointer(start: buf + pos, count: clen), into: dst, capacity: len)
                guard got == len else {
                    throw error(.lzf, "corrupt LZF string: expanded to \(got) bytes, expected \(len)", at: start)
                }
            } catch let e as LZF.DecompressError {
                throw error(.lzf, "corrupt LZF string: \(e.message) (compressed byte \(e.inputOffset))", at: start)
            }
            pos += clen
            do {
                return try body(UnsafeRawBufferPointer(start: dst, count: len), start)
            } catch var e as RDBError where e.offset >= start && e.code != .truncated {
                // Offsets inside a decompressed blob do not exist in the file: report the string's start.
                e.message += " (at byte \(e.offset - start) of the LZF-decompressed value)"
                e.offset = start
                throw e
            }
        }
    }

    /// Copies `n` raw bytes out of the input (large strings are copied chunk by chunk, without growing the buffer).
    func readRawBytes(_ n: Int) throws -> Bytes {
        if n == 0 { return [] }
        if end - pos >= n || n <= cap {
            try ensure(n)
            let out = Bytes(UnsafeRawBufferPointer(start: buf + pos, count: n))
            pos += n
            return out
        }
        var out = Bytes()
        out.reserveCapacity(min(n, max(cap, end - pos) * 4))
        var left = n
        while left > 0 {
            if end == pos { try fill(1) }
            let take = min(left, end - pos)
            out.append(contentsOf: UnsafeRawBufferPointer(start: buf + pos, count: take))
            pos += take
            left -= take
        }
        return out
    }
}
