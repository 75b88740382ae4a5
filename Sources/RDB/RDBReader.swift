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
    /// core when one is free, and 3 x 256 KB of extra memory). On by default only where the CRC is table-driven:
    /// the carry-less multiplication fold (`CRC64.hasCarrylessFold`) hashes faster than the bytes can be copied
    /// to the queue.
    public var backgroundChecksum: Bool = !CRC64.hasCarrylessFold
    /// Redis 7.0 release candidates wrote functions with opcode 246 (name, engine, optional description, code).
    /// Redis GA rejects them ("Pre-release function format not supported") and so does this reader by default;
    /// when true, they are read and yielded as `.function(code:)` (the code string only).
    public var allowPreReleaseFunctions: Bool = false
    /// Refuse a set, sorted set or hash that repeats a member or field, as Redis does: on every load for the
    /// table encodings (SET, ZSET, ZSET_2, HASH, HASH_METADATA: "Duplicate … detected"), ziplists and
    /// zipmaps, and with deep sanitization (`sanitize-dump-payload yes`, always on in redis-check-rdb) for
    /// listpacks (an intset's strict order is checked anyway). The error (`.corrupt`, or the blob's
    /// `.listpack`/`.ziplist`/`.zipmap`) names the key and the repeated member. Costs keeping the members'
    /// bytes and one hash per member, so only `rdb check` turns it on. Valkey's HASH_2 is not checked.
    public var rejectDuplicates: Bool = false

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
    public internal(set) var header: RDBHeader?
    /// The database selected by the last SELECTDB (0 before any).
    public internal(set) var currentDB: Int = 0

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

    /// The caller's arena during `next(lendingInto:)`; nil otherwise.
    var lendArena: RDBValueArena?
    /// The arena collections decode into on the model path (`next()`), reused from key to key.
    lazy var ownArena = RDBValueArena()
    /// Set while a collection whose members must be distinct is read with `options.rejectDuplicates`.
    var checksDuplicates = false
    let duplicateFinder = DuplicateFinder()
    /// With `checksDuplicates` when values are not otherwise kept (`rdb check`): only members and fields go to the
    /// arena (hash values and scores are validated and skipped), one element per member.
    var checksOnlyMembers = false

    var state: State = .start
    enum State { case start, body, done }

    /// Elements counted while reading the current value (see `RDBEntry.elementCount`).
    var valueCount: Int? = nil
    /// Key being decoded (for error messages).
    var currentKey: Bytes?
    /// The key being decoded when it is lent (`RDBValueArena.lendsKeys`), for error messages.
    var lentKey: RDBValueArena?
    var version: Int = 0
    var isValkey = false
    /// Redis 8.10 hash templates read so far (HASH_TEMPLATE records), by their id in the file.
    var hashTemplates: [UInt64: RDBHashTemplate] = [:]
    /// Reading a DUMP payload's body (`readDumpBody`), where template references are refused.
    var isDumpPayload = false

    /// Bytes consumed from the source so far (the absolute offset of the next unread byte).
    public var bytesConsumed: Int64 {
        @inline(__always) get { bufBase &+ Int64(pos) }
    }

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
        let key = currentKey ?? lentKey.map { $0.bytes(0) }
        return RDBError(code, at: offset ?? bytesConsumed, message, file: fileName, key: key,
                        db: key == nil ? nil : currentDB)
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

    /// Like `next()`, but a string, list, set, sorted-set or hash entry comes with an empty placeholder value
    /// (`.string([])`, `.list([])`, ...) while its content is lent in `arena` (`arena.kind` says which),
    /// valid until the next call: no array is built per element. Streams and modules come materialized as
    /// from `next()`, with `arena.kind == .none`. Values are decoded whatever `options.decodeValues` says.
    public func next(lendingInto arena: RDBValueArena) throws -> RDBRecord? {
        arena.kind = .none
        lendArena = arena
        defer { lendArena = nil }
        return try next()
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
        lentKey = nil
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
            case .hashTemplateOrValkeyUpdate:
                if isValkey {
                    throw error(.unknownOpcode, "Valkey UPDATE opcode 242 (forkless save, VALKEY081) is not supported", at: opStart)
                }
                guard version >= 15 else {
                    throw error(.unknownOpcode, "opcode 242 (HASH_TEMPLATE) is not valid in RDB version \(version)", at: opStart)
                }
                try noPendingMeta(meta, opStart, "HASH_TEMPLATE")
                try readHashTemplateRecord(opStart)
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
