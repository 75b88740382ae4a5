#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Value decoding (`rdbLoadObject` in Redis `src/rdb.c`), one function per encoding family.
extension RDBReader {
    /// At most this many slots are reserved up front for a count read from the file; arrays grow past it.
    static var reserveCap: Int { 1024 }

    func readEntry(type: UInt8, typeOffset: Int64, meta: PendingKeyMeta) throws -> RDBEntry {
        try checkValueType(type, at: typeOffset)
        var key: Bytes
        let keyArena = lendArena?.keyArena
        if let k = keyArena {
            k.reset(.string, keepsBytes: true)
            try readString(into: k, whole: true)
            key = []
            lentKey = k
        } else {
            key = try readString()
            currentKey = key
        }
        valueCount = nil
        lendArena?.kind = .none
        let value = try readValue(type: type, typeOffset: typeOffset)
        if let k = keyArena, lendArena?.kind == RDBValueArena.Kind.none { key = k.bytes(0) }  // streams, modules
        let start = meta.start ?? typeOffset
        var entry = RDBEntry(db: currentDB, key: key, value: value, expireAtMs: meta.expireAtMs,
                             lruIdleSeconds: meta.idle, lfuFreq: meta.freq, rdbType: type,
                             startOffset: start, serializedSize: bytesConsumed - start)
        entry.elementCount = valueCount
        currentKey = nil
        lentKey = nil
        return entry
    }

    /// Refuses type bytes this reader cannot read before the key is read: bytes that are no `RDBType`,
    /// and Valkey 9.2's PATH_HASH (23 under the `VALKEY` magic).
    func checkValueType(_ type: UInt8, at offset: Int64) throws {
        switch RDBType(rawValue: type) {
        case .hashListpackExPreGA? where isValkey:
            throw error(.unknownType, "value type 23 (Valkey 9.2 PATH_HASH) is not supported", at: offset)
        case let t? where isValkey && t.rawValue >= RDBType.array.rawValue:
            throw error(.unknownType, "unknown value type \(type) (a Redis 8.10 type, not Valkey's)", at: offset)
        case nil where !isValkey && type == 33:
            // Redis 8.10's GCRA (rdb.h), compiled in only with ENABLE_GCRA.
            throw error(.unknownType, "value type 33 GCRA (Redis 8.10 rate limiter) is not supported", at: offset)
        case nil:
            throw error(.unknownType, "unknown value type or opcode \(type) (0x\(String(type, radix: 16)))", at: offset)
        default:
            return
        }
    }

    func readValue(type: UInt8, typeOffset: Int64) throws -> RDBValue {
        guard let rdbType = RDBType(rawValue: type) else {
            throw error(.unknownType, "unknown value type \(type)", at: typeOffset)
        }
        switch rdbType {
        case .string:
            if let a = lendArena {
                a.reset(.string, keepsBytes: true)
                try readString(into: a)
                return .string([])
            }
            if options.decodeValues { return .string(try readString()) }
            try skipString()
            return .string([])
        case .list:
            return try collect(.list) { try readStringSequence($0) }
        case .set:
            return try collect(.set, unique: true) { try readStringSequence($0, members: true) }
        case .zset, .zset2:
            return try collect(.sortedSet, unique: true) { try readSortedSet($0, binaryScores: rdbType == .zset2) }
        case .hash:
            return try collect(.hash, unique: true) { try readPlainHash($0) }
        case .modulePreGA:
            throw error(.preRelease, "Pre-release module format not supported (value type 6, Redis 4.0 release candidates: the payload cannot be skipped without the module)", at: typeOffset)
        case .module2:
            return .module(try readModuleValue())
        case .hashZipmap:
            return try collect(.hash, unique: true) { try readZipmapHash($0) }
        case .listZiplist:
            return try collect(.list) { try readPackedList($0, listpack: false) }
        case .setIntset:
            return try collect(.set) { try readIntsetSet($0) }
        case .zsetZiplist:
            return try collect(.sortedSet, unique: true) { try readPackedSortedSet($0, listpack: false) }
        case .hashZiplist:
            return try collect(.hash, unique: true) { try readPackedHash($0, listpack: false) }
        case .listQuicklist:
            return try collect(.list) { try readQuicklist($0, version: 1) }
        case .listQuicklist2:
            return try collect(.list) { try readQuicklist($0, version: 2) }
        case .hashListpack:
            return try collect(.hash, unique: true) { try readPackedHash($0, listpack: true) }
        case .zsetListpack:
            return try collect(.sortedSet, unique: true) { try readPackedSortedSet($0, listpack: true) }
        case .setListpack:
            return try collect(.set, unique: true) { try readPackedList($0, listpack: true) }
        case .streamListpacks, .streamListpacks2, .streamListpacks3, .streamListpacks4, .streamListpacks5:
            return .stream(try readStream(type: type))
        case .hashMetadataPreGAOrValkeyHash2:
            return try collect(.hash, unique: !isValkey) { a in
                if isValkey { try readValkeyHash2(a) } else { try readHashMetadata(a, hasMinExpire: false) }
            }
        case .hashMetadata:
            return try collect(.hash, unique: true) { try readHashMetadata($0, hasMinExpire: true) }
        case .hashListpackExPreGA:
            return try collect(.hash, unique: true) { try readHashListpackEx($0, hasMinExpire: false) }
        case .hashListpackEx:
            return try collect(.hash, unique: true) { try readHashListpackEx($0, hasMinExpire: true) }
        case .array:
            let a = try readArray()
            return .array(options.decodeValues || lendArena != nil ? a : ArrayValue(elements: [], insertIndex: a.insertIndex))
        case .hashTemplateListpack, .hashTemplateListpackRef:
            // Template fields are distinct by construction (checked in strict order as they are read).
            return try collect(.hash) {
                try readTemplateListpackHash($0, type: type, typeOffset: typeOffset,
                                             selfContained: rdbType == .hashTemplateListpack)
            }
        case .hashTemplateArray, .hashTemplateArrayRef:
            return try collect(.hash) {
                try readTemplateArrayHash($0, type: type, typeOffset: typeOffset,
                                          selfContained: rdbType == .hashTemplateArray)
            }
        }
    }

    /// Decodes a collection into an arena: the caller's when lending (the value returned is then an empty
    /// placeholder of the right kind), else the reader's own, from which the value is built (or, when values
    /// are not decoded, which only counts). `unique`: the encoding's members or fields must be distinct, checked
    /// with `options.rejectDuplicates` (the arena then keeps the bytes even when values are not decoded).
    @inline(__always)
    func collect(_ kind: RDBValueArena.Kind, unique: Bool = false,
                 _ decode: (RDBValueArena) throws -> Void) throws -> RDBValue {
        let lent = lendArena
        let a = lent ?? ownArena
        let distinct = unique && options.rejectDuplicates
        let keepsAll = lent != nil || options.decodeValues
        a.reset(kind, keepsBytes: keepsAll || distinct)
        checksDuplicates = distinct
        checksOnlyMembers = distinct && !keepsAll
        if distinct { duplicateFinder.reset() }
        try decode(a)
        checksDuplicates = false
        checksOnlyMembers = false
        if lent == nil && options.decodeValues, let v = a.materialize() { return v }
        switch kind {
        case .none, .string, .stream: return .string([])
        case .list: return .list([])
        case .set: return .set([])
        case .sortedSet: return .sortedSet([])
        case .hash: return .hash([])
        }
    }

    /// A string element into the arena, or only validated when the arena does not keep bytes.
    @inline(__always)
    func lendString(_ a: RDBValueArena) throws {
        if a.keepsBytes { try readString(into: a) } else { try skipString() }
    }

    // MARK: - Repeated members and fields (`options.rejectDuplicates`)

    /// With `checksDuplicates`, refuses the element just lent (the arena's last) when an earlier one of the
    /// collection has its bytes, as Redis's `rdbLoadObject` does (`dictAdd` fails): `at` is where it starts.
    @inline(__always)
    func checkLastDistinct(_ a: RDBValueArena, at: Int64, _ what: StaticString, _ redis: StaticString) throws {
        guard checksDuplicates else { return }
        if duplicateFinder.insert(a, a.count &- 1) != nil {
            throw error(.corrupt, "\(what) \(RDBError.quote(a.bytes(a.count &- 1))) repeated; Redis refuses the file (\"\(redis)\")", at: at)
        }
    }

    /// With `checksDuplicates`, refuses a packed blob (already walked into the arena) whose members or fields
    /// (every `stride`-th element from 0) repeat; Redis's deep sanitization (always on in redis-check-rdb,
    /// and for ziplists and zipmaps on every load) fails the blob's integrity check. Integers compare as
    /// their decimal text, as Redis's checks do (`lpGet`, `sdsfromlonglong`).
    func checkPackedDistinct(_ a: RDBValueArena, stride: Int, code: RDBError.Code, at base: Int64,
                             _ what: StaticString, _ redis: StaticString) throws {
        guard checksDuplicates else { return }
        var i = 0
        let n = a.count
        if n <= 8 &* stride {
            // A few members (most packed blobs): compared pairwise, no hashing.
            let repeated: Int? = a.withElements { e in
                var i = stride
                while i < n {
                    let p = e[i]
                    var j = 0
                    while j < i {
                        let q = e[j]
                        if p.count == q.count && (p.count == 0 || memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0) {
                            return i
                        }
                        j &+= stride
                    }
                    i &+= stride
                }
                return nil
            }
            if let r = repeated {
                throw error(code, "\(what) \(RDBError.quote(a.bytes(r))) repeated; Redis refuses the file (\"\(redis)\")", at: base)
            }
            return
        }
        while i < n {
            if duplicateFinder.insert(a, i) != nil {
                throw error(code, "\(what) \(RDBError.quote(a.bytes(i))) repeated; Redis refuses the file (\"\(redis)\")", at: base)
            }
            i &+= stride
        }
    }

    // MARK: - Plain encodings

    /// `len` strings (LIST, SET; `members`: a set's, checked for repeats).
    func readStringSequence(_ a: RDBValueArena, members: Bool = false) throws {
        let n = try readCount("element count")
        valueCount = n
        if members && checksDuplicates {
            for _ in 0..<n {
                let at = bytesConsumed
                try lendString(a)
                try checkLastDistinct(a, at: at, "set member", "Duplicate set members detected")
            }
            return
        }
        for _ in 0..<n { try lendString(a) }
    }

    /// ZSET (string scores, `rdbLoadDoubleValue`) and ZSET_2 (8-byte little-endian doubles).
    func readSortedSet(_ a: RDBValueArena, binaryScores: Bool) throws {
        let n = try readCount("sorted set size")
        valueCount = n
        let keep = a.keepsBytes && !checksOnlyMembers
        if keep { a.scores.reserveCapacity(min(n, Self.reserveCap)) }
        for _ in 0..<n {
            let memberAt = bytesConsumed
            try lendString(a)
            try checkLastDistinct(a, at: memberAt, "sorted set member", "Duplicate zset fields detected")
            let at = bytesConsumed
            let score: Double
            if binaryScores {
                score = Double(bitPattern: try readUInt64LE())
            } else {
                score = try readStringScore()
            }
            if score.isNaN {
                throw error(.badScore, "sorted set score is NaN", at: at)
            }
            if keep { a.scores.append(score) }
        }
    }

    /// A ZSET (type 3) score: 1-byte length; 253 NaN, 254 +inf, 255 -inf; else ASCII text.
    func readStringScore() throws -> Double {
        let at = bytesConsumed
        let len = try readByte()
        switch len {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            try ensure(Int(len))
            let text = UnsafeRawBufferPointer(start: buf + pos, count: Int(len))
            guard let v = parseDouble(text) else {
                throw error(.badScore, "sorted set score \(RDBError.quote(Bytes(text))) is not a number", at: at)
            }
            pos += Int(len)
            return v
        }
    }

    /// HASH (type 4): `len` field/value string pairs.
    func readPlainHash(_ a: RDBValueArena) throws {
        let n = try readCount("hash size")
        valueCount = n
        for _ in 0..<n {
            let at = bytesConsumed
            try lendString(a)
            try checkLastDistinct(a, at: at, "hash field", "Duplicate hash fields detected")
            if checksOnlyMembers { try skipString() } else { try lendString(a) }
        }
    }

    // MARK: - Blob encodings

    func walkPacked(_ listpack: Bool, _ blob: UnsafeRawBufferPointer, _ base: Int64,
                    _ body: (PackedElement) throws -> Void) throws -> Int {
        listpack ? try walkListpack(blob, base: base, body) : try walkZiplist(blob, base: base, body)
    }

    /// LIST_ZIPLIST (10), SET_LISTPACK (20): one packed blob of elements.
    func readPackedList(_ a: RDBValueArena, listpack: Bool) throws {
        let keep = a.keepsBytes
        try withString { blob, base in
            valueCount = try walkPacked(listpack, blob, base) { el in
                if keep { a.append(el) }
            }
            // Only SET_LISTPACK collects with checksDuplicates.
            try checkPackedDistinct(a, stride: 1, code: .listpack, at: base, "set listpack member",
                                    "Set listpack integrity check failed")
        }
    }

    /// SET_INTSET (11).
    func readIntsetSet(_ a: RDBValueArena) throws {
        let keep = a.keepsBytes
        var n = 0
        if keep && a.summarizesIntsets {
            var lo = Int64.max
            var hi = Int64.min
            try withString { blob, base in
                try walkIntset(blob, base: base) { v in
                    n += 1
                    lo = min(lo, v)
                    hi = max(hi, v)
                }
                if n > RDBValueArena.summarizedIntsetLimit {
                    try walkIntset(blob, base: base) { v in a.append(int: v) }  // validated by the first walk
                }
            }
            if n > 0 && n <= RDBValueArena.summarizedIntsetLimit { a.intsetSummary = (n, lo, hi) }
            valueCount = n
            return
        }
        try withString { blob, base in
            try walkIntset(blob, base: base) { v in
                n += 1
                if keep { a.append(int: v) }
            }
        }
        if keep { a.elementsAreDecimalIntegers = true }
        valueCount = n
    }

    /// ZSET_ZIPLIST (12), ZSET_LISTPACK (17): member, score pairs.
    func readPackedSortedSet(_ a: RDBValueArena, listpack: Bool) throws {
        let keep = a.keepsBytes
        let membersOnly = checksOnlyMembers
        try withString { blob, base in
            var member: PackedElement?
            let n = try walkPacked(listpack, blob, base) { el in
                if let m = member {
                    if membersOnly {
                        guard el.isValidScore() else {
                            throw error(listpack ? .listpack : .ziplist,
                                        "sorted set score \(RDBError.quote(el.bytes())) is not a number", at: base)
                        }
                        a.append(m)
                    } else if keep {
                        guard let s = el.score(), !s.isNaN else {
                            throw error(listpack ? .listpack : .ziplist,
                                        "sorted set score \(RDBError.quote(el.bytes())) is not a number", at: base)
                        }
                        a.append(m)
                        a.scores.append(s)
                    } else if !el.isValidScore() {
                        throw error(listpack ? .listpack : .ziplist,
                                    "sorted set score \(RDBError.quote(el.bytes())) is not a number", at: base)
                    }
                    member = nil
                } else {
                    member = el
                }
            }
            if n % 2 != 0 {
                throw error(listpack ? .listpack : .ziplist, "sorted set blob holds an odd number of elements (\(n))", at: base)
            }
            try checkPackedDistinct(a, stride: 1, code: listpack ? .listpack : .ziplist, at: base,
                                    listpack ? "sorted set listpack member" : "sorted set ziplist member",
                                    listpack ? "Zset listpack integrity check failed" : "Zset ziplist integrity check failed")
            valueCount = n / 2
        }
    }

    /// HASH_ZIPLIST (13), HASH_LISTPACK (16): field, value pairs.
    func readPackedHash(_ a: RDBValueArena, listpack: Bool) throws {
        let keep = a.keepsBytes
        let fieldsOnly = checksOnlyMembers
        try withString { blob, base in
            var isField = true
            let n = try walkPacked(listpack, blob, base) { el in
                if keep && (isField || !fieldsOnly) { a.append(el) }
                isField.toggle()
            }
            if n % 2 != 0 {
                throw error(listpack ? .listpack : .ziplist, "hash blob holds an odd number of elements (\(n))", at: base)
            }
            try checkPackedDistinct(a, stride: fieldsOnly ? 1 : 2, code: listpack ? .listpack : .ziplist, at: base,
                                    listpack ? "hash listpack field" : "hash ziplist field",
                                    listpack ? "Hash listpack integrity check failed" : "Hash ziplist integrity check failed")
            valueCount = n / 2
        }
    }

    /// HASH_ZIPMAP (9).
    func readZipmapHash(_ a: RDBValueArena) throws {
        let keep = a.keepsBytes
        var n = 0
        try withString { blob, base in
            try walkZipmap(blob, base: base) { k, v in
                n += 1
                if keep {
                    a.append(k)
                    if !checksOnlyMembers { a.append(v) }
                }
            }
            try checkPackedDistinct(a, stride: checksOnlyMembers ? 1 : 2, code: .zipmap, at: base, "hash zipmap field",
                                    "Hash zipmap with dup elements")
        }
        valueCount = n
    }

    /// LIST_QUICKLIST (14: ziplist nodes) and LIST_QUICKLIST_2 (18: `len container` + PLAIN element or
    /// PACKED listpack per node). Empty nodes are skipped as Redis does.
    func readQuicklist(_ a: RDBValueArena, version: Int) throws {
        let keep = a.keepsBytes
        let nodes = try readCount("quicklist node count")
        var total = 0
        defer { valueCount = total }
        for _ in 0..<nodes {
            var container = QuicklistContainer.packed
            if version == 2 {
                let at = bytesConsumed
                let raw = try readLength()
                guard let c = QuicklistContainer(rawValue: raw) else {
                    throw error(.quicklist, "quicklist node has unknown container type \(raw)", at: at)
                }
                container = c
            }
            if container == .plain {
                try lendString(a)
                total += 1
                continue
            }
            try withString { blob, base in
                total += try walkPacked(version == 2, blob, base) { el in
                    if keep { a.append(el) }
                }
            }
        }
    }

    // MARK: - Hash field expiration

    /// HASH_METADATA (24): int64 LE minExpire, `len n`, n x (`len ttl`, field, value); ttl 0 = none, else
    /// absolute = ttl + minExpire - 1. The Redis 7.4 release-candidate form (type 22 under the REDIS magic)
    /// has no minExpire and stores absolute TTLs.
    func readHashMetadata(_ a: RDBValueArena, hasMinExpire: Bool) throws {
        let keep = a.keepsBytes && !checksOnlyMembers
        var minExpire: Int64 = 0
        if hasMinExpire { minExpire = try readInt64LE() }
        let n = try readCount("hash size")
        valueCount = n
        for i in 0..<n {
            let at = bytesConsumed
            let ttl = try readLength()
            let fieldAt = bytesConsumed
            var expire: Int64? = nil
            if ttl != 0 {
                guard ttl <= UInt64(Int64.max) else {
                    throw error(.badLength, "hash field TTL \(ttl) is out of range", at: at)
                }
                if hasMinExpire {
                    let (sum, o1) = Int64(ttl).addingReportingOverflow(minExpire)
                    let (b, o2) = sum.subtractingReportingOverflow(1)
                    guard !o1 && !o2 else { throw error(.corrupt, "hash field expiry overflows", at: at) }
                    expire = b
                } else {
                    expire = Int64(ttl)
                }
                // rdb.c: "invalid expireAt time" beyond EB_EXPIRE_TIME_MAX.
                if let e = expire, e > RDBFieldExpiry.max {
                    throw error(.corrupt, "hash field expiry \(e) ms is beyond \(RDBFieldExpiry.max) (2^48-1); Redis refuses it", at: at)
                }
            }
            try lendString(a)
            try checkLastDistinct(a, at: fieldAt, "hash field", "Duplicate hash fields detected")
            if checksOnlyMembers { try skipString() } else { try lendString(a) }
            if keep { a.setFieldExpiry(i, expire) }
        }
    }

    /// HASH_LISTPACK_EX (25): int64 LE minExpire, then a listpack of (field, value, ttl) triplets with absolute
    /// ttl (0 = none). The pre-GA form (type 23 under the REDIS magic) has no minExpire prefix.
    func readHashListpackEx(_ a: RDBValueArena, hasMinExpire: Bool) throws {
        let keep = a.keepsBytes
        let fieldsOnly = checksOnlyMembers
        if hasMinExpire { _ = try readInt64LE() }
        try withString { blob, base in
            var field: PackedElement?
            var value: PackedElement?
            var fields = 0
            let n = try walkListpack(blob, base: base) { el in
                if let f = field, let v = value {
                    // Redis's listpack validation allows 0 (none) ... EB_EXPIRE_TIME_MAX.
                    guard let ttl = el.integer(), ttl >= 0, ttl <= RDBFieldExpiry.max else {
                        throw error(.listpack, "hash field TTL \(RDBError.quote(el.bytes())) is not a valid time (0 or 1...2^48-1)", at: base)
                    }
                    if fieldsOnly {
                        a.append(f)
                    } else if keep {
                        a.append(f)
                        a.append(v)
                        a.setFieldExpiry(fields, ttl == 0 ? nil : ttl)
                    }
                    fields += 1
                    field = nil
                    value = nil
                } else if field != nil {
                    value = el
                } else {
                    field = el
                }
            }
            if n % 3 != 0 {
                throw error(.listpack, "hash listpack with TTLs holds \(n) elements, not a multiple of 3", at: base)
            }
            try checkPackedDistinct(a, stride: fieldsOnly ? 1 : 2, code: .listpack, at: base, "hash listpack field",
                                    "Hash listpack integrity check failed")
            valueCount = n / 3
        }
    }

    /// Valkey 9 HASH_2 (type 22 under the VALKEY magic): `len n`, n x (field, value, int64 LE absolute
    /// expiry in ms; -1 = none).
    func readValkeyHash2(_ a: RDBValueArena) throws {
        let keep = a.keepsBytes
        let n = try readCount("hash size")
        valueCount = n
        for i in 0..<n {
            try lendString(a)
            try lendString(a)
            let at = bytesConsumed
            let exp = try readInt64LE()
            guard exp >= -1 else { throw error(.corrupt, "hash field expiry \(exp) is invalid", at: at) }
            if keep { a.setFieldExpiry(i, exp == -1 ? nil : exp) }
        }
    }
}
