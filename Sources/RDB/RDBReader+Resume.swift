/// Where a reader stands at a record boundary: enough for another reader, over the same file, to carry on
/// from there (`RDBReader.init(source:fileName:options:resumingAt:checksumSoFar:)`), e.g. to read a run of keys
/// on another thread while the first one skips over it.
public struct RDBResumePoint: Sendable {
    /// The absolute offset of the record that starts here.
    public var offset: Int64
    public var header: RDBHeader
    /// The database selected at this point (the last SELECTDB's).
    public var db: Int
    /// Redis 8.10 hash templates defined before this point (HASH_TEMPLATE records), which later hashes name.
    var hashTemplates: [UInt64: RDBHashTemplate]
}

/// What `RDBReader.skipKeyQuickly()` did with the next record.
public enum RDBQuickSkip: Sendable, Equatable {
    /// A key (with its expiry, LRU and LFU opcodes) was passed over.
    case skippedKey
    /// The next record is a key of a kind the quick path does not walk (streams, modules, arrays, hashes with
    /// field TTLs or templates, KEY_META): nothing was consumed; read it with `next()`.
    case keyNeedsFullRead
    /// The next record is not a key (AUX, SELECTDB, EOF, ...): nothing was consumed.
    case notAKey
}

extension RDBReader {
    /// The point this reader stands at, between two records of the body (nil before the header is read or
    /// after the EOF record).
    public var resumePoint: RDBResumePoint? {
        guard state == .body, let header else { return nil }
        return RDBResumePoint(offset: bytesConsumed, header: header, db: currentDB, hashTemplates: hashTemplates)
    }

    /// A reader that starts at `point` in the body of a file whose header was read elsewhere: `source` must
    /// deliver the file's bytes from `point.offset` on, and offsets in errors stay absolute. The CRC-64 goes on
    /// from `checksumSoFar` (the CRC of bytes `[0, point.offset)`), so the EOF record is checked as a reader that
    /// read the whole file would check it; without it no checksum is computed.
    public convenience init(source: Source, fileName: String? = nil, options: RDBReaderOptions = .init(),
                            resumingAt point: RDBResumePoint, checksumSoFar: UInt64?) {
        var options = options
        options.backgroundChecksum = false
        if checksumSoFar == nil { options.verifyChecksum = false }
        self.init(source: source, fileName: fileName, options: options)
        state = .body
        bufBase = point.offset
        header = point.header
        version = point.header.version
        isValkey = point.header.magic == .valkey
        currentDB = point.db
        hashTemplates = point.hashTemplates
        crc = checksumSoFar ?? 0
    }

    /// Passes over the next record when it is a key whose value is one of the common encodings (strings,
    /// listpacks, ziplists, intsets, quicklists and the plain list, set, sorted-set and hash encodings),
    /// reading only the lengths that say where it ends: no LZF is inflated, no listpack walked, nothing
    /// decoded or checked beyond what finding the end needs. Anything else is left unread (`.keyNeedsFullRead`,
    /// `.notAKey`). Meant to find key boundaries fast; the bytes skipped must still be read by a full reader
    /// that checks they end where this says (a corrupt value can fool this walk, never the full read).
    public func skipKeyQuickly() throws -> RDBQuickSkip {
        guard state == .body else { return .notAKey }
        // The metadata opcodes and the type byte fit in 21 bytes; near the end of the input, fewer may be there.
        do { try ensure(24) } catch let e as RDBError where e.code == .truncated {}
        var at = pos
        var sawMeta = false
        while true {
            guard at < end else { return sawMeta ? .keyNeedsFullRead : .notAKey }
            let op = buf.load(fromByteOffset: at, as: UInt8.self)
            switch op {
            case RDBOpcode.expireTime.rawValue: at += 5
            case RDBOpcode.expireTimeMs.rawValue: at += 9
            case RDBOpcode.freq.rawValue: at += 2
            case RDBOpcode.idle.rawValue:
                guard at + 1 < end else { return .keyNeedsFullRead }
                let b = buf.load(fromByteOffset: at + 1, as: UInt8.self)
                switch b >> 6 {
                case RDBLengthPrefix.bits6: at += 2
                case RDBLengthPrefix.bits14: at += 3
                default: return .keyNeedsFullRead
                }
            case RDBOpcode.keyMetaOrSlotImport.rawValue where !isValkey:
                return .keyNeedsFullRead  // Redis KEY_META: part of the key that follows
            default:
                if RDBOpcode(rawValue: op) != nil || Self.isEnterpriseOpcode(op) {
                    return sawMeta ? .keyNeedsFullRead : .notAKey
                }
                guard let type = RDBType(rawValue: op), Self.quicklySkippable(type) else { return .keyNeedsFullRead }
                pos = at + 1
                try skipStringQuickly()  // the key
                try skipValueQuickly(type)
                return .skippedKey
            }
            sawMeta = true
        }
    }

    /// `skipKeyQuickly()` again and again while the reader is before `offset`, in one call (a run of keys, not
    /// one call per key from another module): `skipped` counts the keys passed, and `recordStart` is where the
    /// record looked at last starts (also when this throws: the start of the record that failed). Returns
    /// `.skippedKey` once at or past `offset`, else what `skipKeyQuickly` said of the record it left unread.
    public func skipKeysQuickly(until offset: Int64, skipped: inout Int, recordStart: inout Int64) throws -> RDBQuickSkip {
        while true {
            let here = bufBase &+ Int64(pos)
            recordStart = here
            if here >= offset { return .skippedKey }
            let r = try skipKeyQuickly()
            guard r == .skippedKey else { return r }
            skipped &+= 1
        }
    }

    /// Reads a Redis 8.10 HASH_TEMPLATE record when one is next (they define no record of their own: `next()`
    /// reads them on its way to the next record); returns whether it did.
    public func readHashTemplateIfNext() throws -> Bool {
        guard state == .body, !isValkey, version >= 15 else { return false }
        try ensure(1)
        guard buf.load(fromByteOffset: pos, as: UInt8.self) == RDBOpcode.hashTemplateOrValkeyUpdate.rawValue else {
            return false
        }
        let opStart = bytesConsumed
        pos += 1
        try readHashTemplateRecord(opStart)
        return true
    }

    static func quicklySkippable(_ type: RDBType) -> Bool {
        switch type {
        case .string, .list, .set, .zset, .hash, .zset2, .hashZipmap, .listZiplist, .setIntset, .zsetZiplist,
             .hashZiplist, .listQuicklist, .hashListpack, .zsetListpack, .listQuicklist2, .setListpack,
             .streamListpacks, .streamListpacks2, .streamListpacks3, .streamListpacks4, .streamListpacks5:
            return true
        default:
            return false
        }
    }

    private func skipValueQuickly(_ type: RDBType) throws {
        switch type {
        case .string, .hashZipmap, .listZiplist, .setIntset, .zsetZiplist, .hashZiplist, .hashListpack,
             .zsetListpack, .setListpack:
            try skipStringQuickly()
        case .list, .set, .listQuicklist:
            try skipStringsQuickly(try readCount("element count"))
        case .hash:
            let fields = try readCount("field count")
            guard fields <= Int.max / 2 else { throw error(.badLength, "field count \(fields) is impossibly large") }
            try skipStringsQuickly(2 &* fields)
        case .zset:
            for _ in 0..<(try readCount("member count")) {
                try skipStringQuickly()
                let n = try readByte()  // rdbLoadDoubleValue: 253 nan, 254 +inf, 255 -inf, else a length
                if n < 253 { try skip(Int(n)) }
            }
        case .zset2:
            for _ in 0..<(try readCount("member count")) {
                try skipStringQuickly()
                try skip(8)
            }
        case .listQuicklist2:
            for _ in 0..<(try readCount("node count")) {
                _ = try readLength()  // container
                try skipStringQuickly()
            }
        case .streamListpacks, .streamListpacks2, .streamListpacks3, .streamListpacks4, .streamListpacks5:
            try skipStreamQuickly(type)
        default:
            throw error(.corrupt, "internal: type \(type.rawValue) has no quick walk")
        }
    }

    /// Passes over a stream (`readStream`'s layout, every version): listpack nodes, length and IDs, groups with
    /// their PELs, consumers and NACK zones, then the IDMP producers.
    private func skipStreamQuickly(_ type: RDBType) throws {
        let v2 = type.rawValue >= RDBType.streamListpacks2.rawValue
        let v3 = type.rawValue >= RDBType.streamListpacks3.rawValue
        let v5 = type.rawValue >= RDBType.streamListpacks5.rawValue
        for _ in 0..<(try readCount("stream listpack count")) {
            try skipStringQuickly()  // master ID
            try skipStringQuickly()  // listpack
        }
        _ = try readLength()  // length
        try skipLengths(v2 ? 7 : 2)  // last ID; first ID, max deleted ID, entries added
        for _ in 0..<(try readCount("consumer group count")) {
            try skipStringQuickly()  // name
            try skipLengths(v2 ? 3 : 2)  // last delivered ID; entries read
            for _ in 0..<(try readCount("PEL size")) {
                try skip(24)  // raw ID, delivery time
                _ = try readLength()  // delivery count
            }
            for _ in 0..<(try readCount("consumer count")) {
                try skipStringQuickly()  // name
                try skip(v3 ? 16 : 8)  // seen time; active time
                let owned = try readCount("consumer PEL size")
                guard owned <= Int.max / 16 else { throw error(.badLength, "consumer PEL size \(owned) is impossibly large") }
                try skip(owned * 16)
            }
            if v5 {
                let nacked = try readCount("NACK zone count")
                guard nacked <= Int.max / 16 else { throw error(.badLength, "NACK zone count \(nacked) is impossibly large") }
                try skip(nacked * 16)
            }
        }
        if type.rawValue >= RDBType.streamListpacks4.rawValue {
            try skipLengths(2)  // duration, max entries
            for _ in 0..<(try readCount("IDMP producer count")) {
                try skipStringQuickly()  // producer
                for _ in 0..<(try readCount("IDMP entry count")) {
                    try skipStringQuickly()  // iid
                    try skipLengths(2)  // stream ID
                }
            }
            try skipLengths(2)  // iids added, duplicates
        }
    }

    private func skipLengths(_ n: Int) throws {
        for _ in 0..<n { _ = try readLength() }
    }

    /// The whole size (header and bytes) of the RDB string at buffer offset `p` (2 bytes there at least) when its
    /// header is a 6- or 14-bit length or an integer encoding (int8, int16, int32), else `Int.max`.
    @inline(__always)
    private func bufferedStringSize(at p: Int) -> Int {
        let b = Int(buf.load(fromByteOffset: p, as: UInt8.self))
        switch b >> 6 {
        case 0: return 1 &+ (b & 0x3F)
        case 1: return 2 &+ ((b & 0x3F) << 8 | Int(buf.load(fromByteOffset: p &+ 1, as: UInt8.self)))
        case 3 where b & 0x3F <= 2: return 1 &+ (1 << (b & 0x3F))
        default: return Int.max
        }
    }

    /// Passes over `count` RDB strings back to back (a hashtable-encoded collection's elements): those whose
    /// header and bytes are in the buffer in a loop over a local position, the others one by one.
    private func skipStringsQuickly(_ count: Int) throws {
        var left = count
        while left > 0 {
            var p = pos
            let e = end
            while left > 0 && e &- p >= 2 {
                let whole = bufferedStringSize(at: p)
                guard whole <= e &- p else { break }
                p &+= whole
                left &-= 1
            }
            pos = p
            if left > 0 {
                try skipStringQuickly()
                left &-= 1
            }
        }
    }

    /// Passes over an RDB string: its bytes, or its compressed bytes for LZF, unread. A string whose header and
    /// bytes are all in the buffer (6- or 14-bit length, or an integer encoding) is passed in place; anything
    /// else goes through `readStringHeader`.
    @inline(__always)
    private func skipStringQuickly() throws {
        if end &- pos >= 2 {
            let whole = bufferedStringSize(at: pos)
            if whole <= end &- pos {
                pos &+= whole
                return
            }
        }
        switch try readStringHeader() {
        case .raw(let n): try skip(n)
        case .int: return
        case .lzf(let clen, _): try skip(clen)
        }
    }
}
