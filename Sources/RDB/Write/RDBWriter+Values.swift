/// Value encodings per target version (Redis `rdbSaveObjectType` / `rdbSaveObject`).
///
/// | value  | RDB 12, 11                         | RDB 10                     | RDB 9, 8, 7                      |
/// |--------|------------------------------------|----------------------------|----------------------------------|
/// | list   | 18 quicklist-2 (listpack / plain)  | 18                         | 14 quicklist of ziplists         |
/// | set    | 11 intset, 20 listpack, 2          | 11 intset, 2               | 11 intset, 2                     |
/// | zset   | 17 listpack, 5                     | 17, 5                      | 12 ziplist, 5 (8+) or 3 (7)      |
/// | hash   | 16 listpack, 4; with TTLs 25 / 24 (12 only) | 16, 4            | 13 ziplist, 4                    |
/// | stream | 21 (27 for 14, 15; 26 for 13)      | 19                         | 15 (9 only)                      |
/// | module | 7                                  | 7                          | 7 (8+)                           |
/// | array  | 28 (15 only: Redis 8.10)           | -                          | -                                |
///
/// `VALKEY080` writes RDB 11's encodings, and a hash with field expiries as Valkey's HASH_2 (type 22).
extension RDBWriter {
    func writeKeyValue(_ e: RDBEntry) throws {
        // Refuse what the target cannot hold before writing a byte of the key.
        switch e.value {
        case .stream where version < 9:
            throw RDBWriteError(.notRepresentable, "streams need RDB 9 (Redis 5.0); target is \(version)")
        case .stream(let s) where version < 14 && s.groups.contains(where: { !$0.nackedIDs.isEmpty }):
            throw RDBWriteError(.notRepresentable,
                                "stream entries released by XNACK (a group's NACK zone) need RDB 14 (Redis 8.8); target is \(version)")
        case .module(let m) where version < 8:
            throw RDBWriteError(.notRepresentable, "module values (\(m.moduleName)) need RDB 8; target is \(version)")
        case .hash(let fields) where isValkey && fields.contains(where: { $0.expireAtMs != nil }):
            if let bad = fields.first(where: { ($0.expireAtMs ?? 0) < 0 }), let exp = bad.expireAtMs {
                throw RDBWriteError(.invalidValue, "hash field \(RDBError.quote(bad.field)) expiry \(exp) ms is negative")
            }
        case .hash(let fields) where version < 12 && !options.dropFieldTTL && fields.contains(where: { $0.expireAtMs != nil }):
            throw RDBWriteError(.notRepresentable,
                                "hash field TTLs need RDB 12 (Redis 7.4); target is \(version) (use --drop-field-ttl to keep the fields without their TTLs)")
        case .hash(let fields) where version >= 12:
            if let bad = fields.first(where: { $0.expireAtMs.map { !RDBFieldExpiry.range.contains($0) } ?? false }),
               let exp = bad.expireAtMs {
                throw RDBWriteError(.invalidValue,
                                    "hash field \(RDBError.quote(bad.field)) expiry \(exp) ms outside \(RDBFieldExpiry.min)...\(RDBFieldExpiry.max) (Redis refuses to load it)")
            }
        case .array where version < 15 || isValkey:
            throw RDBWriteError(.notRepresentable, "arrays need RDB 15 (Redis 8.10); target is \(isValkey ? "VALKEY0" : "")\(version)")
        case .array(let a):
            guard !a.elements.isEmpty else {
                throw RDBWriteError(.invalidValue, "empty array (Redis refuses to load an array of 0 elements)")
            }
            var previous: UInt64?
            for el in a.elements {
                if let p = previous, !(p < el.index) {
                    throw RDBWriteError(.invalidValue, "array indexes not strictly increasing (\(p) then \(el.index))")
                }
                previous = el.index
            }
            if previous == UInt64.max {
                throw RDBWriteError(.invalidValue, "array index 2^64-1 (the largest index is 2^64-2)")
            }
        case .sortedSet(let members) where members.contains(where: { $0.score.isNaN }):
            throw RDBWriteError(.invalidValue, "sorted set with a NaN score (Redis refuses to load it)")
        case .stream(let s):
            var previous: StreamID?
            for entry in s.entries {
                if let p = previous, !(p < entry.id) {
                    throw RDBWriteError(.invalidValue, "stream entry IDs not strictly increasing (\(p) then \(entry.id))")
                }
                previous = entry.id
            }
        default: break
        }

        writeKeyMetadata(expireAtMs: e.expireAtMs, lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq)

        switch e.value {
        case .string(let s):
            out.put(RDBType.string.rawValue)
            emitKey(e.key)
            emitString(s, to: out)
        case .list(let items):
            try writeList(key: e.key) { body in for item in items { item.withUnsafeBytes(body) } }
        case .set(let members):
            writeSet(key: e.key, count: members.count) { body in for m in members { m.withUnsafeBytes(body) } }
        case .sortedSet(let members):
            writeSortedSet(key: e.key, members)
        case .hash(let fields):
            writeHash(key: e.key, fields)
        case .stream(let s):
            writeStream(key: e.key, s)
        case .module(let m):
            out.put(RDBType.module2.rawValue)
            emitKey(e.key)
            out.putLength(m.moduleID)
            out.put(m.raw)
        case .array(let a):
            try writeArray(key: e.key, a)
        }
    }

    /// [EXPIRETIME_MS] [IDLE] [FREQ] before a key's type byte (IDLE and FREQ from RDB 9).
    func writeKeyMetadata(expireAtMs: Int64?, lruIdleSeconds: UInt64?, lfuFreq: UInt8?) {
        if let exp = expireAtMs {
            out.put(RDBOpcode.expireTimeMs.rawValue)
            out.putLE(exp)
        }
        if version >= 9 {
            if let idle = lruIdleSeconds {
                out.put(RDBOpcode.idle.rawValue)
                out.putLength(idle)
            }
            if let freq = lfuFreq {
                out.put(RDBOpcode.freq.rawValue)
                out.put(freq)
            }
        } else if lruIdleSeconds != nil || lfuFreq != nil {
            stats.droppedEvictionHints += 1
        }
    }

    // MARK: arrays

    /// ARRAY (28): every value as a string (tag SDS), which Redis re-encodes on load as ARSET would
    /// (`arEncode`: integers and round-tripping floats inline), so the loaded array is the one saved.
    private func writeArray(key: Bytes, _ a: ArrayValue) throws {
        out.put(RDBType.array.rawValue)
        emitKey(key)
        out.putLength(UInt64(a.elements.count))
        if let i = a.insertIndex {
            out.putLength(1)
            out.putLength(i)
        } else {
            out.putLength(0)
        }
        for el in a.elements {
            out.putLength(el.index)
            out.putLength(RDBArrayTag.string.rawValue)
            emitString(el.value, to: out)
            try flushIfNeeded()
        }
    }

    // MARK: lists

    /// Quicklist nodes of at most `listMaxNodeBytes` (Redis's estimate: node size + element + 8);
    /// elements of 1 GB or more get a PLAIN node of their own (RDB 10+).
    func writeList(key: Bytes, elements: LentElements) throws {
        let limit = options.listMaxNodeBytes
        nodes.reset()
        var nodeCount = 0
        if version >= 10 {
            var lp = ListpackBuilder(blob)
            func finishNode() {
                guard lp.count > 0 else { return }
                lp.finish()
                nodes.putLength(QuicklistContainer.packed.rawValue)
                emitString(blob.bytes, to: nodes)
                nodeCount += 1
                lp = ListpackBuilder(blob)
            }
            elements { p in
                if p.count >= RDBWriter.plainNodeThreshold {
                    finishNode()
                    nodes.putLength(QuicklistContainer.plain.rawValue)
                    emitString(p, to: nodes)
                    nodeCount += 1
                    return
                }
                if lp.count > 0 && lp.finishedSize + p.count + 8 > limit { finishNode() }
                lp.append(p)
            }
            finishNode()
            out.put(RDBType.listQuicklist2.rawValue)
        } else {
            var zl = ZiplistBuilder(blob)
            func finishNode() {
                guard zl.count > 0 else { return }
                zl.finish()
                emitString(blob.bytes, to: nodes)
                nodeCount += 1
                zl = ZiplistBuilder(blob)
            }
            elements { p in
                if zl.count > 0 && zl.finishedSize + p.count + 8 > limit { finishNode() }
                zl.append(p)
            }
            finishNode()
            out.put(RDBType.listQuicklist.rawValue)
        }
        emitKey(key)
        out.putLength(nodeCount)
        out.put(nodes.bytes)
        nodes.reset()
    }

    static var plainNodeThreshold: Int { 1 << 30 }

    // MARK: sets

    /// `elements` is walked up to three times (intset test, listpack test, the write), in the same order.
    func writeSet(key: Bytes, count: Int, elements: LentElements) {
        if count <= options.setMaxIntsetEntries && count > 0 {
            var ints: [Int64] = []
            ints.reserveCapacity(count)
            var allInts = true
            elements { p in
                guard allInts, let v = canonicalInt64(p) else { allInts = false; return }
                ints.append(v)
            }
            if allInts && ints.count == count {
                IntsetBuilder.build(ints, into: blob)
                out.put(RDBType.setIntset.rawValue)
                emitKey(key)
                emitString(blob.bytes, to: out)
                return
            }
        }
        if version >= 11 && count <= options.setMaxListpackEntries {
            var small = true
            elements { p in if p.count > options.setMaxListpackValue { small = false } }
            if small {
                var lp = ListpackBuilder(blob)
                elements { p in lp.append(p) }
                lp.finish()
                out.put(RDBType.setListpack.rawValue)
                emitKey(key)
                emitString(blob.bytes, to: out)
                return
            }
        }
        out.put(RDBType.set.rawValue)
        emitKey(key)
        out.putLength(count)
        elements { p in emitString(p, to: out) }
    }

    // MARK: sorted sets

    /// A small sorted set or hash: its (member, score) or (field, value) pairs as one listpack (RDB 10+, type
    /// `listpack`) or ziplist (before 10, type `ziplist`), then the key and the blob (`rdbSaveObject`).
    private func writePackedPairs<C: Collection>(key: Bytes, _ items: C, listpack: UInt8, ziplist: UInt8,
                                                 _ pair: (C.Element) -> (Bytes, Bytes)) {
        if version >= 10 {
            var lp = ListpackBuilder(blob)
            for item in items {
                let (first, second) = pair(item)
                lp.append(first)
                lp.append(second)
            }
            lp.finish()
            out.put(listpack)
        } else {
            var zl = ZiplistBuilder(blob)
            for item in items {
                let (first, second) = pair(item)
                zl.append(first)
                zl.append(second)
            }
            zl.finish()
            out.put(ziplist)
        }
        emitKey(key)
        emitString(blob.bytes, to: out)
    }

    private func writeSortedSet(key: Bytes, _ members: [SortedSetMember]) {
        if members.count <= options.zsetMaxListpackEntries
            && members.allSatisfy({ $0.member.count <= options.zsetMaxListpackValue }) {
            // Packed zsets must be ordered by (score, member) — Redis walks them assuming it.
            let sorted = isZsetOrdered(members) ? members : members.sorted(by: zsetOrder)
            writePackedPairs(key: key, sorted, listpack: RDBType.zsetListpack.rawValue, ziplist: RDBType.zsetZiplist.rawValue) {
                ($0.member, scoreText($0.score))
            }
            return
        }
        if version >= 8 {
            out.put(RDBType.zset2.rawValue)
            emitKey(key)
            out.putLength(members.count)
            for m in members {
                emitString(m.member, to: out)
                out.putLE(m.score.bitPattern)
            }
        } else {
            out.put(RDBType.zset.rawValue)
            emitKey(key)
            out.putLength(members.count)
            for m in members {
                emitString(m.member, to: out)
                // rdbSaveDoubleValue: 253 NaN, 254 +inf, 255 -inf, else a length byte + text.
                if m.score.isNaN {
                    out.put(253)
                } else if m.score == .infinity {
                    out.put(254)
                } else if m.score == -.infinity {
                    out.put(255)
                } else {
                    let text = scoreText(m.score)
                    out.put(UInt8(text.count))
                    out.put(text)
                }
            }
        }
    }


    // MARK: hashes

    /// A hash as a table: HASH (4), the field count, then each field's name and value; or Valkey 9's
    /// HASH_2 (type 22 under the `VALKEY` magic, Valkey `rdb.c`), where each field is followed by its expiry
    /// as 8 bytes little-endian Unix ms, -1 for none.
    private func writeHashTable(key: Bytes, _ fields: [HashField], valkeyExpiries: Bool) {
        out.put(valkeyExpiries ? RDBType.hashMetadataPreGAOrValkeyHash2.rawValue : RDBType.hash.rawValue)
        emitKey(key)
        out.putLength(fields.count)
        for f in fields {
            emitString(f.field, to: out)
            emitString(f.value, to: out)
            if valkeyExpiries { out.putLE(f.expireAtMs ?? -1) }
        }
    }

    private func writeHash(key: Bytes, _ fields: [HashField]) {
        let withTTL = fields.reduce(0) { $0 + ($1.expireAtMs != nil ? 1 : 0) }
        if withTTL > 0 && isValkey {
            writeHashTable(key: key, fields, valkeyExpiries: true)
            return
        }
        let keepTTL = withTTL > 0 && version >= 12
        if withTTL > 0 && !keepTTL { stats.droppedFieldTTLs += withTTL }
        let small = fields.count <= options.hashMaxListpackEntries
            && fields.allSatisfy { $0.field.count <= options.hashMaxListpackValue && $0.value.count <= options.hashMaxListpackValue }

        if keepTTL {
            let minExpire = fields.compactMap(\.expireAtMs).min() ?? 0
            if small {
                // HASH_LISTPACK_EX: min expiry, then (field, value, ttl) triplets ordered by expiry,
                // fields without a TTL (ttl 0) last — Redis reads the first triplet as the minimum.
                let ordered = fields.enumerated().sorted { a, b in
                    switch (a.element.expireAtMs, b.element.expireAtMs) {
                    case let (x?, y?): return x != y ? x < y : a.offset < b.offset
                    case (.some, nil): return true
                    case (nil, .some): return false
                    case (nil, nil): return a.offset < b.offset
                    }
                }.map(\.element)
                var lp = ListpackBuilder(blob)
                for f in ordered {
                    lp.append(f.field)
                    lp.append(f.value)
                    lp.append(integer: f.expireAtMs ?? 0)
                }
                lp.finish()
                out.put(RDBType.hashListpackEx.rawValue)
                emitKey(key)
                out.putLE(minExpire)
                emitString(blob.bytes, to: out)
            } else {
                // HASH_METADATA: min expiry, count, then (ttl, field, value) with ttl = expiry - min + 1, 0 = none.
                out.put(RDBType.hashMetadata.rawValue)
                emitKey(key)
                out.putLE(minExpire)
                out.putLength(fields.count)
                for f in fields {
                    if let x = f.expireAtMs {
                        out.putLength(UInt64(bitPattern: x &- minExpire &+ 1))
                    } else {
                        out.putLength(0)
                    }
                    emitString(f.field, to: out)
                    emitString(f.value, to: out)
                }
            }
            return
        }

        if small {
            writePackedPairs(key: key, fields, listpack: RDBType.hashListpack.rawValue, ziplist: RDBType.hashZiplist.rawValue) {
                ($0.field, $0.value)
            }
            return
        }
        writeHashTable(key: key, fields, valkeyExpiries: false)
    }
}

/// A score as Redis's `d2string` stores it in packed zsets and RDB 7 type-3 zsets: integral values
/// (within ±2^53) as integer text, `-0`, `inf`/`-inf`/`nan`, otherwise the shortest text that
/// parses back to the same double (`strtod` round-trips it).
func scoreText(_ d: Double) -> [UInt8] {
    if d.isNaN { return Array("nan".utf8) }
    if d == .infinity { return Array("inf".utf8) }
    if d == -.infinity { return Array("-inf".utf8) }
    if d == 0 { return d.sign == .minus ? Array("-0".utf8) : [UInt8(ascii: "0")] }
    if d == d.rounded(), abs(d) < 9_007_199_254_740_992 {
        return Array(String(Int64(d)).utf8)
    }
    return Array("\(d)".utf8)
}

// Outside the generic `RDBWriter`, so sorting doesn't capture its `Sink` metatype (not `Sendable`).

/// Redis's zset order: by score, then by member bytes (`zslInsert`, `zzlInsertAt`).
private func zsetOrder(_ a: SortedSetMember, _ b: SortedSetMember) -> Bool {
    if a.score != b.score { return a.score < b.score }
    return a.member.lexicographicallyPrecedes(b.member)
}

private func isZsetOrdered(_ members: [SortedSetMember]) -> Bool {
    var i = 1
    while i < members.count {
        if zsetOrder(members[i], members[i - 1]) { return false }
        i += 1
    }
    return true
}
