import RDB

/// A deterministic dataset touching every value type and encoding boundary the writer chooses between.
enum WriterSamples {
    static func b(_ s: String) -> Bytes { Array(s.utf8) }

    /// A seeded xorshift generator (tests must be deterministic).
    struct Rng {
        var state: UInt64
        init(seed: UInt64) { state = seed == 0 ? 0x9E3779B97F4A7C15 : seed }
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(next() % UInt64(range.count))
        }
        mutating func bytes(_ n: Int) -> Bytes { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
    }

    /// Entries for db 0 and db 3; `fieldTTL` adds a hash with field TTLs, `stream` adds streams,
    /// `lru` adds IDLE/FREQ hints.
    static func entries(fieldTTL: Bool = true, streams: Bool = true, hints: Bool = true, idmp: Bool = false,
                        nackZone: Bool = false, arrays: Bool = false) -> [RDBEntry] {
        var rng = Rng(seed: 42)
        var out: [RDBEntry] = []
        func add(_ key: String, _ v: RDBValue, db: Int = 0, expire: Int64? = nil) {
            out.append(RDBEntry(db: db, key: b(key), value: v, expireAtMs: expire, rdbType: 0))
        }
        // Strings: int-encodable, non-canonical numbers, compressible, incompressible, binary, empty, big.
        add("s:int8", .string(b("-12")))
        add("s:int16", .string(b("30000")))
        add("s:int32", .string(b("-2147483648")))
        add("s:int64", .string(b("9223372036854775807")))
        add("s:lead0", .string(b("007")))
        add("s:minus0", .string(b("-0")))
        add("s:plus", .string(b("+5")))
        add("s:empty", .string([]))
        add("s:compressible", .string(Bytes(repeating: UInt8(ascii: "a"), count: 500)), expire: 4_102_444_800_000)
        add("s:random", .string(rng.bytes(300)))
        add("s:big", .string((0..<200_000).map { UInt8(truncatingIfNeeded: $0 % 251) }))
        add("s:21", .string(b("abcabcabcabcabcabcabc")))
        add("bin:\u{0}\u{ff}", .string([0, 255, 10, 13]))
        // Lists: small, mixed ints, many nodes, big elements.
        add("l:small", .list([b("a"), b("1"), b("-5000"), b("100000"), b("4294967296"), b("")]))
        add("l:many", .list((0..<5000).map { b("item-\($0)") }))
        add("l:ints", .list((0..<3000).map { b(String($0 * 7919 - 100_000)) }))
        add("l:bigelem", .list([Bytes(repeating: 120, count: 20_000), b("x"), rng.bytes(9000)]))
        // Sets: intset widths, listpack (11+), hashtable.
        add("set:i16", .set([b("3"), b("1"), b("2")]))
        add("set:i32", .set([b("70000"), b("-1")]))
        add("set:i64", .set([b("-9223372036854775808"), b("5")]))
        add("set:lp", .set([b("a"), b("b"), b("12"), b("c")]))
        add("set:ht", .set((0..<600).map { b(String($0)) }))
        add("set:longmember", .set([b("x"), Bytes(repeating: 65, count: 100)]))
        // Sorted sets: listpack/ziplist (sorted), skiplist, special scores.
        add("z:small", .sortedSet([
            SortedSetMember(member: b("b"), score: 2), SortedSetMember(member: b("a"), score: 2),
            SortedSetMember(member: b("c"), score: -1.5), SortedSetMember(member: b("inf"), score: .infinity),
            SortedSetMember(member: b("ninf"), score: -.infinity), SortedSetMember(member: b("tiny"), score: 1e-300),
            SortedSetMember(member: b("negzero"), score: -0.0), SortedSetMember(member: b("pi"), score: 3.141592653589793),
        ]))
        add("z:big", .sortedSet((0..<300).map { SortedSetMember(member: b("m\($0)"), score: Double($0) / 3) }))
        add("z:longmember", .sortedSet([SortedSetMember(member: Bytes(repeating: 66, count: 80), score: 1)]))
        // Hashes: listpack/ziplist, hashtable.
        add("h:small", .hash([HashField(field: b("f1"), value: b("v1")), HashField(field: b("n"), value: b("123"))]))
        add("h:big", .hash((0..<200).map { HashField(field: b("field\($0)"), value: b("value\($0)")) }))
        add("h:longvalue", .hash([HashField(field: b("f"), value: Bytes(repeating: 67, count: 65))]))
        if fieldTTL {
            add("h:ttl-small", .hash([
                HashField(field: b("keep"), value: b("v")),
                HashField(field: b("late"), value: b("v2"), expireAtMs: 4_102_444_900_000),
                HashField(field: b("early"), value: b("v3"), expireAtMs: 4_102_444_800_000),
            ]))
            add("h:ttl-big", .hash((0..<150).map {
                HashField(field: b("f\($0)"), value: b("v\($0)"), expireAtMs: $0 % 3 == 0 ? nil : 4_102_444_800_000 + Int64($0))
            }))
        }
        if streams {
            var entries: [StreamEntry] = []
            for i in 0..<250 {
                let fields: [(Bytes, Bytes)] = i % 50 == 7
                    ? [(b("other"), b("x")), (b("n"), b(String(i)))]
                    : [(b("sensor"), b("s\(i % 4)")), (b("value"), b(String(i * 3)))]
                entries.append(StreamEntry(id: StreamID(ms: 1_700_000_000_000 + UInt64(i / 3), seq: UInt64(i % 3)), fields: fields))
            }
            let last = entries.last!.id
            let group = StreamGroup(
                name: b("g1"), lastDeliveredID: entries[10].id, entriesReadRaw: 11,
                pending: [StreamPendingEntry(id: entries[3].id, deliveryTimeMs: 1_700_000_000_500, deliveryCount: 2),
                          StreamPendingEntry(id: entries[5].id, deliveryTimeMs: 1_700_000_000_600, deliveryCount: 1)],
                consumers: [StreamConsumer(name: b("alice"), seenTimeMs: 1_700_000_000_600, activeTimeMs: 1_700_000_000_600,
                                           pendingIDs: [entries[3].id, entries[5].id]),
                            StreamConsumer(name: b("bob"), seenTimeMs: 1_700_000_000_700, activeTimeMs: -1, pendingIDs: [])])
            add("st:events", .stream(StreamValue(entries: entries, length: UInt64(entries.count), listpackNodes: 0,
                                                 lastID: last, firstID: entries[0].id, maxDeletedEntryID: .zero,
                                                 entriesAdded: UInt64(entries.count), groups: [group])))
            add("st:empty", .stream(StreamValue(entries: [], length: 0, listpackNodes: 0, lastID: StreamID(ms: 5, seq: 1),
                                                firstID: .zero, maxDeletedEntryID: StreamID(ms: 5, seq: 1), entriesAdded: 1,
                                                groups: [StreamGroup(name: b("empty-g"), lastDeliveredID: .zero, entriesReadRaw: 0,
                                                                     pending: [], consumers: [])])))
            if idmp || nackZone {
                // RDB 13's IDMP section and RDB 14's NACK zone: two ids released by XNACK (the later release first
                // in id order, to show the zone keeps its own order), one still owned.
                let ids = (1...4).map { StreamID(ms: 1_800_000_000_000, seq: UInt64($0)) }
                let group = StreamGroup(
                    name: b("workers"), lastDeliveredID: ids[3], entriesReadRaw: 4,
                    pending: [StreamPendingEntry(id: ids[0], deliveryTimeMs: 0, deliveryCount: 3),
                              StreamPendingEntry(id: ids[1], deliveryTimeMs: 1_800_000_000_100, deliveryCount: 1),
                              StreamPendingEntry(id: ids[2], deliveryTimeMs: 0, deliveryCount: UInt64(Int64.max))],
                    consumers: [StreamConsumer(name: b("w1"), seenTimeMs: 1_800_000_000_100, activeTimeMs: 1_800_000_000_100,
                                               pendingIDs: [ids[1]])],
                    nackedIDs: nackZone ? [ids[2], ids[0]] : [])
                var st = StreamValue(entries: ids.map { StreamEntry(id: $0, fields: [(b("job"), b("j\($0.seq)"))]) },
                                     length: 4, listpackNodes: 1, lastID: ids[3], firstID: ids[0], maxDeletedEntryID: .zero,
                                     entriesAdded: 4, groups: nackZone ? [group] : [])
                if idmp {
                    st.idmp = StreamIDMP(duration: 300, maxEntries: 50,
                                         producers: [StreamIDMPProducer(name: b("p1"), entries: [StreamIDMPEntry(iid: b("req-1"), id: ids[0]),
                                                                                              StreamIDMPEntry(iid: b("req-2"), id: ids[1])])],
                                         iidsAdded: 2, iidsDuplicates: 1)
                }
                add("st:nack", .stream(st))
            }
        }
        if arrays {
            // Redis 8.10 arrays: numbers, floats, short and long strings, sparse, every cursor state.
            add("ar:mixed", .array(ArrayValue(elements: [
                ArrayElement(index: 0, value: b("17")), ArrayElement(index: 1, value: b("1.5")),
                ArrayElement(index: 2, value: b("")), ArrayElement(index: 3, value: b("a longer value")),
                ArrayElement(index: 70_000, value: b("far")), ArrayElement(index: UInt64.max - 1, value: [0, 255])],
                insertIndex: 3)))
            add("ar:none", .array(ArrayValue(elements: [ArrayElement(index: 5, value: b("v"))])), expire: 4_102_444_800_000)
            add("ar:last", .array(ArrayValue(elements: [ArrayElement(index: 0, value: b("v"))], insertIndex: UInt64.max - 1)), db: 2)
        }
        // Another database with expiries and hints.
        for i in 0..<50 {
            var e = RDBEntry(db: 3, key: b("k\(i)"), value: .string(b("v\(i)")),
                             expireAtMs: i % 2 == 0 ? 4_102_444_800_000 + Int64(i) : nil, rdbType: 0)
            if hints && i % 5 == 0 { e.lruIdleSeconds = UInt64(i) }
            if hints && i % 7 == 0 { e.lfuFreq = UInt8(200 + i % 50) }
            out.append(e)
        }
        return out
    }

    static let functionCode = b("#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)")

    /// Writes `entries` grouped by db with correct RESIZEDB counts.
    static func write(_ entries: [RDBEntry], options: RDBWriterOptions, functions: [Bytes] = [],
                      aux: RDBAuxInfo = RDBAuxInfo(ctime: 1_700_000_000)) throws -> (bytes: Bytes, stats: RDBWriterStats) {
        let w = try RDBWriter(sink: MemoryByteSink(), options: options)
        try w.writeHeader()
        try w.writeAuxFields(aux)
        for f in functions { try w.writeFunction(code: f) }
        let dbs = Set(entries.map(\.db)).sorted()
        for db in dbs {
            let inDB = entries.filter { $0.db == db }
            try w.selectDB(db, resize: (UInt64(inDB.count), UInt64(inDB.filter { $0.expireAtMs != nil }.count)))
            for e in inDB { try w.writeEntry(e) }
        }
        try w.finish()
        return (w.sink.bytes, w.stats)
    }
}
