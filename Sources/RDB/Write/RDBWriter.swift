#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes an RDB file (Redis `src/rdb.c`, `rdbSaveRio`) to a `ByteSink`, for a chosen RDB version.
///
/// Order of calls, as Redis writes a file:
/// `writeHeader()`, `writeAuxFields(_:)` / `writeAux(_:_:)`, `writeModuleAux(_:)`, `writeFunction(code:)`,
/// then per database `selectDB(_:resize:)` and `writeEntry(_:)` for each key, and `finish()`
/// (EOF opcode + CRC-64 of everything before it). `writeEntry` selects the entry's db itself when
/// it differs from the current one (without RESIZEDB).
///
/// Encodings are chosen for the target version with Redis's default thresholds (see
/// `RDBWriterOptions`). What the target cannot represent throws `RDBWriteError(.notRepresentable)`
/// naming the key, except:
/// - hash field TTLs below RDB 12 with `dropFieldTTL` (counted in `stats.droppedFieldTTLs`);
/// - functions below RDB 10 with `dropFunctions` (counted);
/// - IDLE/FREQ below RDB 9 (eviction hints, not data; counted);
/// - consumer active-time below RDB 11 (Redis itself sets it from seen-time when loading older types; counted);
/// - stream v2 metadata at RDB 9 (type 15 has no room for it; Redis 7 recomputes it on load; counted).
public final class RDBWriter<Sink: ByteSink> {
    public private(set) var sink: Sink
    public let options: RDBWriterOptions
    public internal(set) var stats = RDBWriterStats()

    /// Staged output, flushed to the sink (and folded into the CRC) in ~1 MB chunks.
    let out = WriteBuffer(capacity: 1 << 20)
    /// Scratch for one listpack / ziplist / intset.
    let blob = WriteBuffer(capacity: 1 << 14)
    /// Encoded nodes of a quicklist or stream, gathered until the node count is known.
    let nodes = WriteBuffer(capacity: 1 << 16)
    var lzf = LZFCompressor()
    var lzfScratch: UnsafeMutableRawPointer
    var lzfScratchCapacity: Int
    private var crc: UInt64 = 0
    private var flushed: Int64 = 0
    private var headerWritten = false
    private var finished = false
    public private(set) var currentDB: Int?
    /// When true, values are written without their key (type byte, then the value): the body of a
    /// DUMP payload (`DumpPayload.encode`).
    var omitsKeys = false

    static var flushThreshold: Int { 1 << 20 }

    public init(sink: Sink, options: RDBWriterOptions = RDBWriterOptions()) throws {
        guard RDBWriterOptions.isWritable(options.rdbVersion) else {
            throw RDBWriteError(.unsupportedVersion,
                                "RDB version \(options.rdbVersion) cannot be written (supported: \(RDBWriterOptions.writableVersionsText))")
        }
        self.sink = sink
        self.options = options
        lzfScratchCapacity = 1 << 16
        lzfScratch = UnsafeMutableRawPointer.allocate(byteCount: lzfScratchCapacity, alignment: 16)
    }

    deinit { lzfScratch.deallocate() }

    /// The Redis RDB version whose encodings are written: the target, or 11 for `VALKEY080`.
    public var version: Int { isValkey ? RDBWriterOptions.valkeyEncodingVersion : options.rdbVersion }
    /// The version in the header (and in a DUMP payload's footer): `options.rdbVersion`.
    public var fileVersion: Int { options.rdbVersion }
    /// Writing Valkey 9's `VALKEY080`.
    public var isValkey: Bool { options.rdbVersion == RDBWriterOptions.valkeyVersion }

    /// Bytes produced so far (written to the sink or still staged).
    public var bytesWritten: Int64 { flushed + Int64(out.count) }

    // MARK: - File structure

    /// `REDIS%04d` for the target version, or `VALKEY080`.
    public func writeHeader() throws {
        guard !headerWritten else { throw RDBWriteError(.state, "header written twice") }
        headerWritten = true
        out.put(ascii: RDBHeader(magic: isValkey ? .valkey : .redis, version: fileVersion).text)
    }

    /// The standard AUX fields, in Redis's order.
    public func writeAuxFields(_ info: RDBAuxInfo = RDBAuxInfo()) throws {
        // Valkey 9 names its version `valkey-ver` (it reads either name).
        try writeAux(isValkey ? "valkey-ver" : "redis-ver", info.redisVersion ?? RDBWriterOptions.redisVersionString(for: fileVersion))
        try writeAux("redis-bits", String(info.redisBits))
        let ctime = info.ctime ?? Int64(time(nil))
        try writeAux("ctime", String(ctime))
        try writeAux("used-mem", String(info.usedMem))
        if let r = info.replication {
            try writeAux("repl-stream-db", String(r.streamDB))
            try writeAux("repl-id", r.replid)
            try writeAux("repl-offset", String(r.offset))
        }
        if version >= 10 {
            try writeAux("aof-base", info.aofBase ? "1" : "0")
        } else if version >= 8 {
            try writeAux("aof-preamble", info.aofBase ? "1" : "0")
        }
    }

    public func writeAux(_ key: String, _ value: String) throws {
        try writeAux(Array(key.utf8), Array(value.utf8))
    }

    /// One AUX record (opcode 250); values that are canonical integers are stored int-encoded.
    public func writeAux(_ key: Bytes, _ value: Bytes) throws {
        try requireOpen()
        out.put(RDBOpcode.aux.rawValue)
        emitString(key, to: out)
        emitString(value, to: out)
        try flushIfNeeded()
    }

    /// A FUNCTION2 record (RDB 10+): one library's code.
    public func writeFunction(code: Bytes) throws {
        try requireOpen()
        guard version >= 10 else {
            if options.dropFunctions {
                stats.droppedFunctions += 1
                return
            }
            throw RDBWriteError(.notRepresentable,
                                "functions need RDB 10 (Redis 7.0); target is \(version) (use --drop-functions to skip them)")
        }
        out.put(RDBOpcode.function2.rawValue)
        emitString(code, to: out)
        stats.functions += 1
        try flushIfNeeded()
    }

    /// A MODULE_AUX record (RDB 9+), re-emitted from its raw bytes.
    public func writeModuleAux(_ aux: ModuleAux) throws {
        try requireOpen()
        guard version >= 9 else {
            throw RDBWriteError(.notRepresentable,
                                "module aux data for \(aux.moduleName) needs RDB 9; target is \(version)")
        }
        out.put(RDBOpcode.moduleAux.rawValue)
        out.putLength(aux.moduleID)
        out.put(aux.raw)
        try flushIfNeeded()
    }

    /// SELECTDB, then RESIZEDB when `resize` is given (the counts must be those of the keys that follow).
    public func selectDB(_ db: Int, resize: (keys: UInt64, expires: UInt64)? = nil) throws {
        try requireOpen()
        guard db >= 0 else { throw RDBWriteError(.invalidValue, "negative db \(db)") }
        out.put(RDBOpcode.selectDB.rawValue)
        out.putLength(db)
        if let resize {
            out.put(RDBOpcode.resizeDB.rawValue)
            out.putLength(resize.keys)
            out.putLength(resize.expires)
        }
        currentDB = db
    }

    /// RESIZEDB on its own, right after `selectDB`, for callers replaying another file's records.
    public func writeResizeDB(keys: UInt64, expires: UInt64) throws {
        try requireOpen()
        out.put(RDBOpcode.resizeDB.rawValue)
        out.putLength(keys)
        out.putLength(expires)
    }

    /// SLOT_INFO (RDB 12+, cluster mode hint); ignored below 12 (it is only a sizing hint).
    public func writeSlotInfo(slot: UInt64, keys: UInt64, expires: UInt64) throws {
        try requireOpen()
        guard version >= 12 else { return }
        out.put(RDBOpcode.slotInfo.rawValue)
        out.putLength(slot)
        out.putLength(keys)
        out.putLength(expires)
    }

    /// One key: [EXPIRETIME_MS] [IDLE] [FREQ] type key value.
    public func writeEntry(_ entry: RDBEntry) throws {
        try writeKeyRecord(db: entry.db, key: entry.key) { try writeKeyValue(entry) }
    }

    /// SELECTDB if `db` is not the current one, then `body` (one key's record). A refused key leaves
    /// nothing behind, not even the SELECTDB written for it; its error names the key and db.
    private func writeKeyRecord(db: Int, key: Bytes, _ body: () throws -> Void) throws {
        try requireOpen()
        let mark = out.count
        let previousDB = currentDB
        if currentDB != db { try selectDB(db) }
        do {
            try body()
        } catch var e as RDBWriteError {
            out.count = mark
            currentDB = previousDB
            if e.key == nil { e.key = key; e.db = db }
            throw e
        }
        stats.keys += 1
        try flushIfNeeded()
    }

    /// Calls its argument with each element's bytes, in order (the bytes are valid only during that call).
    public typealias LentElements = ((UnsafeRawBufferPointer) -> Void) -> Void

    /// The collections `writeEntry(db:key:…:lent:)` takes from the caller's own storage.
    public enum LentCollection: Sendable {
        case list
        /// `count` distinct members.
        case set(count: Int)
    }

    /// One list or set key, its elements lent one at a time from the caller's storage instead of an
    /// `RDBValue` array per element (a dataset's snapshot writes millions of them); the bytes written are
    /// those of `writeEntry(_:)` with the same elements in the same order.
    public func writeEntry(db: Int, key: Bytes, expireAtMs: Int64?, lruIdleSeconds: UInt64?, lfuFreq: UInt8?,
                           lent kind: LentCollection, elements: LentElements) throws {
        try writeKeyRecord(db: db, key: key) {
            writeKeyMetadata(expireAtMs: expireAtMs, lruIdleSeconds: lruIdleSeconds, lfuFreq: lfuFreq)
            switch kind {
            case .list: try writeList(key: key, elements: elements)
            case .set(let count): writeSet(key: key, count: count, elements: elements)
            }
        }
    }

    /// EOF + CRC-64 (little-endian; 0 when `checksum` is off), then hands everything to the sink.
    /// Returns the checksum written.
    @discardableResult
    public func finish() throws -> UInt64 {
        try requireOpen()
        out.put(RDBOpcode.eof.rawValue)
        try flush()
        let sum = options.checksum ? crc : 0
        out.putLE(sum)
        try flush()
        finished = true
        return sum
    }

    // MARK: - Internals

    private func requireOpen() throws {
        guard headerWritten else { throw RDBWriteError(.state, "write before the header") }
        guard !finished else { throw RDBWriteError(.state, "write after finish") }
    }

    /// A DUMP payload (`omitsKeys`) stays whole in `out`: it is read from there, never from the sink.
    @inline(__always) func flushIfNeeded() throws {
        if out.count >= RDBWriter.flushThreshold && !omitsKeys { try flush() }
    }

    func flush() throws {
        guard out.count > 0 else { return }
        try writeThrough(out.bytes)
        out.reset()
    }

    /// Sends bytes to the sink and the CRC, bypassing the staging buffer (which must be flushed first).
    private func writeThrough(_ p: UnsafeRawBufferPointer) throws {
        if options.checksum { crc = CRC64.update(crc, p) }
        do {
            try sink.write(p)
        } catch let e as RDBWriteError {
            throw e
        } catch {
            throw RDBWriteError(.io, "sink write failed: \(error)")
        }
        flushed += Int64(p.count)
    }

    private func ensureLZFScratch(_ n: Int) {
        if n > lzfScratchCapacity {
            lzfScratch.deallocate()
            lzfScratchCapacity = max(n, lzfScratchCapacity * 2)
            lzfScratch = UnsafeMutableRawPointer.allocate(byteCount: lzfScratchCapacity, alignment: 16)
        }
    }

    /// An RDB string as `rdbSaveRawString` writes it: int-encoded when at most 11 bytes of canonical
    /// int32 text; LZF when longer than 20 bytes, compression is on and it saves at least 4 bytes;
    /// otherwise length + bytes.
    func emitString(_ p: UnsafeRawBufferPointer, to target: WriteBuffer) {
        let n = p.count
        if n <= 11, let v = canonicalInt64(p) {
            if v >= -128 && v <= 127 {
                target.put(0xC0 | RDBStringEncoding.int8.rawValue)
                target.put(UInt8(bitPattern: Int8(v)))
                return
            } else if v >= -32768 && v <= 32767 {
                target.put(0xC0 | RDBStringEncoding.int16.rawValue)
                target.putLE(Int16(v))
                return
            } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
                target.put(0xC0 | RDBStringEncoding.int32.rawValue)
                target.putLE(Int32(v))
                return
            }
        }
        if options.compress && n > 20 {
            ensureLZFScratch(n - 4)
            let c = lzf.compress(p, into: UnsafeMutableRawBufferPointer(start: lzfScratch, count: n - 4))
            if c > 0 {
                target.put(0xC0 | RDBStringEncoding.lzf.rawValue)
                target.putLength(c)
                target.putLength(n)
                target.put(UnsafeRawBufferPointer(start: lzfScratch, count: c))
                return
            }
        }
        target.putLength(n)
        target.put(p)
    }

    /// The key after a value's type byte; nothing in value-only mode (DUMP payloads).
    @inline(__always) func emitKey(_ key: Bytes) {
        if !omitsKeys { emitString(key, to: out) }
    }

    @inline(__always) func emitString(_ bytes: Bytes, to target: WriteBuffer) {
        bytes.withUnsafeBytes { emitString($0, to: target) }
    }
}
