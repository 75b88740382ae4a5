/// Options for `RDBReader`.
public struct RDBReaderOptions: Sendable {
    /// Compare the CRC-64 trailer (RDB >= 5) with the checksum computed while reading; a mismatch throws
    /// `.checksumMismatch`. A stored checksum of 0 means "disabled" and is never compared.
    public var verifyChecksum: Bool = true
    /// When false, every value is still read and fully validated (ziplists, listpacks, intsets, LZF, streams,
    /// module opcodes), but entries carry a cheap empty placeholder of the right kind (`.string([])`,
    /// `.list([])`, `.set([])`, `.sortedSet([])`, `.hash([])`, a stream with no entries/groups but its stored
    /// length and IDs, a module value with empty `raw`). Keys, expiries and metadata are always decoded.
    /// Meant for `rdb check`-style validation where materializing values dominates the cost.
    public var decodeValues: Bool = true
    /// The largest single string (or blob) accepted, before any allocation.
    public var maxStringLength: Int = 512 * 1024 * 1024
    /// The read buffer's normal size; it grows only to hold one larger blob and shrinks back afterwards.
    public var bufferSize: Int = 512 * 1024
    /// Compute the CRC-64 on a background queue, overlapping it with parsing (same result; uses a second
    /// core when one is free, and 3 x 256 KB of extra memory).
    public var backgroundChecksum: Bool = true
    /// Redis 7.0 release candidates wrote functions with opcode 246 (name, engine, optional description, code).
    /// Redis GA rejects them ("Pre-release function format not supported") and so does this reader by default;
    /// when true, they are read and yielded as `.function(code:)` (the code string only).
    public var allowPreReleaseFunctions: Bool = false

    public init(verifyChecksum: Bool = true, decodeValues: Bool = true,
                maxStringLength: Int = 512 * 1024 * 1024, bufferSize: Int = 512 * 1024) {
        self.verifyChecksum = verifyChecksum
        self.decodeValues = decodeValues
        self.maxStringLength = maxStringLength
        self.bufferSize = bufferSize
    }
}

/// A streaming pull reader for RDB files (Redis `src/rdb.c` `rdbLoadRioWithLoadingCtx` / `rdbLoadObject`).
///
/// `next()` yields `.header`, then AUX/SELECTDB/RESIZEDB/... and one `.entry` per key in file order, then
/// `.eof`, then nil. The whole file is never held: input goes through a bounded buffer (it grows only to
/// hold one large blob such as a big ziplist), and the CRC-64 is computed over each chunk as it is consumed.
///
/// Every length read from the input is checked against the bytes left in its container or against
/// `options.maxStringLength` before anything is allocated. Errors are `RDBError` values with the absolute
/// byte offset, the file name and, inside a key, the key and db.
public final class RDBReader<Source: ByteSource> {
    public let fileName: String?
    public let options: RDBReaderOptions
    /// The header, once read.
    public private(set) var header: RDBHeader?
    /// The database selected by the last SELECTDB (0 before any).
    public private(set) var currentDB: Int = 0

    var source: Source
    // Buffer: valid bytes are [pos, end); buf[0] is at absolute offset `bufBase`.
    var buf: UnsafeMutableRawPointer
    var cap: Int
    var pos: Int = 0
    var end: Int = 0
    var bufBase: Int64 = 0
    var sourceEOF = false
    // CRC covers absolute bytes [0, bufBase + crcPos).
    var crc: UInt64 = 0
    var crcPos: Int = 0
    var computeCRC: Bool
    var backgroundCRC: BackgroundCRC64?
    // Raw capture (module values, slot import): bytes [captureStart, pos) plus what was flushed to `captured`.
    var capturing = false
    var captureStart = 0
    var captured: [UInt8] = []
    // Scratch space for LZF-decompressed blobs, reused.
    var scratch: UnsafeMutableRawPointer
    var scratchCap: Int

    var state: State = .start
    enum State { case start, body, done }

    /// Elements counted while reading the current value (see `RDBEntry.elementCount`).
    var valueCount: Int? = nil
    /// Key being decoded (for error messages).
    var currentKey: Bytes?
    var version: Int = 0
    var isValkey = false

    /// Bytes consumed from the source so far (the absolute offset of the next unread byte).
    public var bytesConsumed: Int64 { bufBase + Int64(pos) }

    public init(source: Source, fileName: String? = nil, options: RDBReaderOptions = .init()) {
        self.source = source
        self.fileName = fileName
        self.options = options
        cap = max(64 * 1024, options.bufferSize)
        buf = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 16)
        scratchCap = 64 * 1024
        scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchCap, alignment: 16)
        computeCRC = options.verifyChecksum
        if computeCRC && options.backgroundChecksum { backgroundCRC = BackgroundCRC64() }
    }

    deinit {
        buf.deallocate()
        scratch.deallocate()
    }

    // MARK: - Errors

    @inline(never)
    func error(_ code: RDBError.Code, _ message: String, at offset: Int64? = nil) -> RDBError {
        RDBError(code, at: offset ?? bytesConsumed, message, file: fileName, key: currentKey,
                 db: currentKey == nil ? nil : currentDB)
    }

    // MARK: - Buffer management

    /// Makes at least `n` bytes available at `pos`, reading and growing the buffer as needed.
    @inline(__always)
    func ensure(_ n: Int) throws {
        if end &- pos < n { try fill(n) }
    }

    @inline(never)
    func fill(_ n: Int) throws {
        let limit = options.maxStringLength &+ 64
        guard n >= 0, n <= limit else {
            throw error(.badLength, "length \(n) exceeds the limit of \(options.maxStringLength) bytes")
        }
        flushConsumed()
        // Compact.
        let live = end - pos
        if pos > 0 {
            if live > 0 { buf.copyMemory(from: UnsafeRawPointer(buf + pos), byteCount: live) }
            bufBase += Int64(pos)
            end = live
            pos = 0
            crcPos = 0
            captureStart = 0
        }
        let normal = max(64 * 1024, options.bufferSize)
        if n > cap {
            let newCap = max(n, min(cap * 2, limit))
            let nb = UnsafeMutableRawPointer.allocate(byteCount: newCap, alignment: 16)
            if live > 0 { nb.copyMemory(from: UnsafeRawPointer(buf), byteCount: live) }
            buf.deallocate()
            buf = nb
            cap = newCap
        } else if cap > normal && n <= normal && live <= normal {
            let nb = UnsafeMutableRawPointer.allocate(byteCount: normal, alignment: 16)
            if live > 0 { nb.copyMemory(from: UnsafeRawPointer(buf), byteCount: live) }
            buf.deallocate()
            buf = nb
            cap = normal
        }
        while end < n {
            if sourceEOF { throw truncated(n - end) }
            let got = try source.read(into: UnsafeMutableRawBufferPointer(start: buf + end, count: cap - end))
            if got <= 0 {
                sourceEOF = true
            } else {
                end += min(got, cap - end)
            }
        }
    }

    /// Folds consumed bytes into the CRC and the capture before the buffer moves.
    @inline(__always)
    func flushConsumed() {
        if computeCRC && pos > crcPos {
            if let bg = backgroundCRC {
                bg.feed(UnsafeRawPointer(buf + crcPos), pos - crcPos)
            } else {
                crc = CRC64.update(crc, UnsafeRawPointer(buf + crcPos), pos - crcPos)
            }
        }
        crcPos = pos
        if capturing && pos > captureStart {
            captured.append(contentsOf: UnsafeRawBufferPointer(start: buf + captureStart, count: pos - captureStart))
            captureStart = pos
        }
    }

    func truncated(_ missing: Int) -> RDBError {
        error(.truncated, "unexpected end of input (\(missing) more byte\(missing == 1 ? "" : "s") needed)",
              at: bufBase + Int64(end))
    }

    /// Skips `n` bytes without growing the buffer.
    func skip(_ n: Int) throws {
        var left = n
        while left > 0 {
            if end == pos { try fill(1) }
            let take = min(left, end - pos)
            pos += take
            left -= take
        }
    }

    func beginCapture() {
        capturing = true
        captureStart = pos
        captured = []
    }

    func endCapture() -> [UInt8] {
        flushConsumed()
        capturing = false
        let out = captured
        captured = []
        return out
    }

    func scratchBuffer(_ n: Int) -> UnsafeMutableRawPointer {
        if n > scratchCap || (scratchCap > 4 * 1024 * 1024 && n < 1024 * 1024) {
            scratch.deallocate()
            scratchCap = max(n, 64 * 1024)
            scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchCap, alignment: 16)
        }
        return scratch
    }

    // MARK: - Primitives

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

    // MARK: - Records

    /// The next record, or nil after `.eof`.
    public func next() throws -> RDBRecord? {
        switch state {
        case .done: return nil
        case .start:
            let h = try readHeader()
            state = .body
            return .header(h)
        case .body:
            return try readBodyRecord()
        }
    }

    func readHeader() throws -> RDBHeader {
        try ensure(9)
        let b = UnsafeRawBufferPointer(start: buf + pos, count: 9)
        func digits(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                let c = b[i]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        let h: RDBHeader
        if b.prefix(5).elementsEqual("REDIS".utf8), let v = digits(5..<9) {
            h = RDBHeader(magic: .redis, version: v)
            guard v >= RDBVersion.oldest && v <= RDBVersion.newestRedis else {
                throw error(.unsupportedVersion, "unsupported RDB version \(v) (this reader knows REDIS 1...\(RDBVersion.newestRedis))", at: 5)
            }
        } else if b.prefix(6).elementsEqual("VALKEY".utf8), let v = digits(6..<9) {
            h = RDBHeader(magic: .valkey, version: v)
            guard v >= RDBVersion.valkeyFirst && v <= RDBVersion.valkeyNewest else {
                throw error(.unsupportedVersion, "unsupported Valkey RDB version \(v) (this reader knows VALKEY\(RDBVersion.valkeyFirst)...\(RDBVersion.valkeyNewest))", at: 6)
            }
        } else {
            let shown = RDBError.quote(Array(b))
            throw error(.badMagic, "not an RDB file: header is \(shown), expected REDIS0001...REDIS00\(RDBVersion.newestRedis) or VALKEY080", at: 0)
        }
        pos += 9
        header = h
        version = h.version
        isValkey = h.magic == .valkey
        return h
    }

    /// Metadata collected for the next key.
    struct PendingKeyMeta {
        var start: Int64?
        var expireAtMs: Int64?
        var idle: UInt64?
        var freq: UInt8?
    }

    func readBodyRecord() throws -> RDBRecord? {
        var meta = PendingKeyMeta()
        currentKey = nil
        while true {
            let opStart = bytesConsumed
            let op = try readByte()
            guard let opcode = RDBOpcode(rawValue: op) else {
                if Self.isEnterpriseOpcode(op) {
                    throw error(.unknownOpcode, "unknown opcode \(op) (0x\(String(op, radix: 16))): a Redis Enterprise extension, not part of the open-source RDB format", at: opStart)
                }
                return .entry(try readEntry(type: op, typeOffset: opStart, meta: meta))
            }
            switch opcode {
            case .eof:
                guard meta.start == nil else {
                    throw error(.corrupt, "EOF after key metadata without a key", at: opStart)
                }
                return try readEOF()
            case .selectDB:
                let db = try readLength()
                guard db <= UInt64(Int32.max) else {
                    throw error(.badLength, "database number \(db) is out of range", at: opStart)
                }
                currentDB = Int(db)
                try noPendingMeta(meta, opStart, "SELECTDB")
                return .selectDB(Int(db))
            case .expireTime:
                let secs = Int32(bitPattern: try readUInt32LE())
                meta.start = meta.start ?? opStart
                meta.expireAtMs = Int64(secs) * 1000
            case .expireTimeMs:
                meta.start = meta.start ?? opStart
                meta.expireAtMs = try readInt64LE()
            case .resizeDB:
                let a = try readLength()
                let b = try readLength()
                try noPendingMeta(meta, opStart, "RESIZEDB")
                return .resizeDB(dbSize: a, expiresSize: b)
            case .aux:
                let k = try readString()
                let v = try readString()
                try noPendingMeta(meta, opStart, "AUX")
                return .aux(key: k, value: v)
            case .freq:
                meta.start = meta.start ?? opStart
                meta.freq = try readByte()
            case .idle:
                meta.start = meta.start ?? opStart
                meta.idle = try readLength()
            case .moduleAux:
                try noPendingMeta(meta, opStart, "MODULE_AUX")
                return .moduleAux(try readModuleAux(opStart))
            case .functionPreGA:
                guard options.allowPreReleaseFunctions else {
                    throw error(.preRelease, "Pre-release function format not supported (opcode 246, Redis 7.0 release candidates; read it with RDBReaderOptions.allowPreReleaseFunctions, `rdb` commands' --allow-pre-release-functions)", at: opStart)
                }
                try noPendingMeta(meta, opStart, "FUNCTION")
                try skipString() // library name
                try skipString() // engine name
                let at = bytesConsumed
                let hasDescription = try readLength()
                guard hasDescription <= 1 else {
                    throw error(.corrupt, "pre-release function description flag is \(hasDescription), expected 0 or 1", at: at)
                }
                if hasDescription == 1 { try skipString() }
                return .function(code: try readString())
            case .function2:
                try noPendingMeta(meta, opStart, "FUNCTION2")
                return .function(code: try readString())
            case .slotInfo:
                let slot = try readLength()
                let keys = try readLength()
                let expires = try readLength()
                try noPendingMeta(meta, opStart, "SLOT_INFO")
                return .slotInfo(slot: slot, keys: keys, expires: expires)
            case .keyMetaOrSlotImport:
                if isValkey {
                    try noPendingMeta(meta, opStart, "SLOT_IMPORT")
                    return .valkeySlotImport(raw: try readSlotImport())
                }
                guard version >= 13 else {
                    throw error(.unknownOpcode, "opcode 243 (KEY_META) is not valid in RDB version \(version)", at: opStart)
                }
                meta.start = meta.start ?? opStart
                try skipKeyMeta(opStart)
            case .valkeyUpdate:
                // An opcode only under the VALKEY magic; elsewhere byte 242 is an unknown value type.
                guard isValkey else { return .entry(try readEntry(type: op, typeOffset: opStart, meta: meta)) }
                throw error(.unknownOpcode, "Valkey UPDATE opcode 242 (forkless save, VALKEY081) is not supported", at: opStart)
            }
        }
    }

    /// Bytes Redis Enterprise writes as opcodes (101, 102, 107, 121); not part of the open-source format.
    @inline(__always)
    static func isEnterpriseOpcode(_ b: UInt8) -> Bool {
        switch b {
        case 101, 102, 107, 121: return true
        default: return false
        }
    }

    func noPendingMeta(_ meta: PendingKeyMeta, _ at: Int64, _ what: String) throws {
        if meta.start != nil {
            throw error(.corrupt, "\(what) between a key's metadata (expiry/LRU/LFU) and its type byte", at: at)
        }
    }

    func readEOF() throws -> RDBRecord {
        flushConsumed()
        state = .done
        if let bg = backgroundCRC {
            crc = bg.finish()
            backgroundCRC = nil
        }
        let computed = crc
        guard version >= RDBVersion.firstWithChecksum else {
            return .eof(storedChecksum: nil, computedChecksum: nil)
        }
        let at = bytesConsumed
        let stored = try readUInt64LE()
        guard computeCRC else { return .eof(storedChecksum: stored, computedChecksum: nil) }
        if stored != 0 && stored != computed {
            throw error(.checksumMismatch,
                        "checksum mismatch: file says 0x\(hex16(stored)), content hashes to 0x\(hex16(computed))", at: at)
        }
        return .eof(storedChecksum: stored, computedChecksum: computed)
    }
}

extension RDBReader where Source == AnyByteSource {
    /// A reader over any source, e.g. the result of `openRDBSource(path:)`.
    public convenience init(source: any ByteSource, fileName: String? = nil, options: RDBReaderOptions = .init()) {
        self.init(source: AnyByteSource(source), fileName: fileName, options: options)
    }

    /// Opens `path` (plain or gzip-compressed) for reading.
    public convenience init(path: String, options: RDBReaderOptions = .init()) throws {
        self.init(source: AnyByteSource(try openRDBSource(path: path)), fileName: path, options: options)
    }
}

/// A reader whose source type is erased (files, gzip files, sockets alike).
public typealias AnyRDBReader = RDBReader<AnyByteSource>

func hex16(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 16 - s.count)) + s
}

/// The decimal text of an integer, as `GET` returns an int-encoded string (`ll2string`).
func readerDecimalBytes(_ v: Int64) -> Bytes {
    var m = v.magnitude
    var digits = 1
    var t = m
    while t >= 10 {
        t /= 10
        digits += 1
    }
    let count = digits + (v < 0 ? 1 : 0)
    var out = Bytes(repeating: 0x2d, count: count)
    out.withUnsafeMutableBufferPointer { buf in
        var i = count
        repeat {
            i -= 1
            buf[i] = UInt8(truncatingIfNeeded: m % 10) &+ 0x30
            m /= 10
        } while m > 0
    }
    return out
}
