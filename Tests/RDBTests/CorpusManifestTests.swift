import Foundation
import RDB
import Testing

/// One data row of ../shared/rdb-corpus/MANIFEST.tsv.
struct ManifestRow: CustomStringConvertible, Sendable {
    var path: String
    var rdbVersion: String
    var description: String
    var expectedSummary: String
    var isData: Bool { rdbVersion != "-" }
    var isMarkedInvalid: Bool { description.contains("INTENTIONALLY INVALID") }

    static func all() -> [ManifestRow] {
        let url = CorpusFiles.corpusDirectory.appendingPathComponent("MANIFEST.tsv")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        var rows: [ManifestRow] = []
        for line in text.split(separator: "\n").dropFirst() {
            let c = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard c.count >= 8 else { continue }
            rows.append(ManifestRow(path: c[0], rdbVersion: c[5], description: c[6], expectedSummary: c[7]))
        }
        return rows
    }

    static let dataRows: [ManifestRow] = all().filter(\.isData)

    var url: URL { CorpusFiles.corpusDirectory.appendingPathComponent(path) }
}

/// What must happen when a corpus file is read completely.
enum CorpusOutcome {
    /// The file reads completely (checksum included) and every fact holds.
    case valid([CorpusFact])
    /// Reading fails with one of these codes.
    case rejected([RDBError.Code])
    /// Either (files whose handling is a documented choice), facts apply when it reads.
    case validOrRejected([CorpusFact], [RDBError.Code])
}

/// One asserted fact, taken from the MANIFEST's expected_summary column (upstream test assertions).
enum CorpusFact {
    case keys(Int)
    case string(String, String, db: Int? = nil)
    case list(String, [String])
    case listCount(String, Int)
    case listContains(String, [String])
    case set(String, [String])
    case setCount(String, Int)
    case hash(String, [String: String])
    case hashCount(String, Int)
    case hashValueLengths(String, [String: Int])
    case zset(String, [String: Double])
    case zsetCount(String, Int)
    case streamLength(String, UInt64)
    case streamEntries(String, Int)
    case aux(String, String)
    case functions(Int)
    case functionContains(String)
    case expire(String, Int64?)
    case idle(String, UInt64)
    case freq(String, UInt8)
    case module(String, String)
    case rdbType(String, UInt8)
    case dbs([Int])
    case checksum(UInt64)
    case typeCounts([String: Int])
    /// A named check over the whole file.
    case custom(String, @Sendable (CorpusLoaded) -> Bool)
}

enum CorpusExpectations {
    static func a(_ n: Int) -> String { String(repeating: "a", count: n) }

    /// Facts per MANIFEST path. Files not listed must read completely unless marked INTENTIONALLY INVALID.
    static let table: [String: CorpusOutcome] = [
        "cupcake-rdb/rdb_v7_list_quicklist.rdb": .valid([
            .aux("redis-ver", "3.2.0"), .keys(1), .list("foo", ["bar", "baz", "boo"]), .rdbType("foo", 14),
        ]),
        "hdt3213-rdb/cases/expiration.rdb": .valid([
            .keys(2), .expire("noexpire", nil), .expire("expired", 1751792339236),
        ]),
        "hdt3213-rdb/cases/hash_with_hfe.rdb": .valid([.keys(1), .rdbType("hash-hfe", 24)]),
        "hdt3213-rdb/cases/issue27.rdb": .valid([.keys(1), .rdbType("mytest", 19)]),
        "hdt3213-rdb/cases/memory.rdb": .valid([.keys(7)]),
        "hdt3213-rdb/cases/tree.rdb": .valid([
            .keys(7), .custom("keys a ab abb abba abbd abc b") { l in
                Set(l.entries.map { CorpusLoaded.text($0.key) }) == ["a", "ab", "abb", "abba", "abbd", "abc", "b"]
            },
        ]),
        "hdt3213-rdb/cases/valkey_cluster_slot_import.rdb": .valid([
            .keys(0), .custom("VALKEY magic") { $0.header?.magic == .valkey },
        ]),
        "hdt3213-rdb/cases/valkey_hash2_with_hfe.rdb": .valid([
            .keys(1), .hash("hash2-hfe", ["F1": "V1", "F2": "V2", "F3": "V3"]),
        ]),
        "librdb/dumps/100_lists.rdb": .valid([
            .keys(100), .rdbType("mylist1", 18), .rdbType("mylist100", 18),
        ]),
        "librdb/dumps/empty.rdb": .valid([.keys(0)]),
        "librdb/dumps/function.rdb": .valid([.keys(0), .functions(1), .functionContains("myfunc")]),
        "librdb/dumps/function2.rdb": .valid([.keys(10), .functions(2)]),
        "librdb/dumps/hash_with_expire_v12.rdb": .validOrRejected(
            [.hash("myhash", ["field1": "value1", "field2": "value2", "field3": "value3"])], [.preRelease, .unknownType]),
        "librdb/dumps/invalid_chksum_v8.rdb": .rejected([.checksumMismatch]),
        "librdb/dumps/mem_policy_lfu.rdb": .valid([
            .keys(1), .string("abcdefghijk", "012345789abcdefghik"), .freq("abcdefghijk", 5),
        ]),
        "librdb/dumps/misc_with_stream.rdb": .valid([
            .keys(12), .custom("5 streams") { $0.entries.filter { $0.rdbType == 15 }.count == 5 },
            .custom("2 module aux records") { $0.moduleAux.count == 2 },
        ]),
        "librdb/dumps/module.rdb": .valid([.keys(1), .module("key1", "test__rdb")]),
        "librdb/dumps/module_aux.rdb": .valid([
            .keys(1), .string("x", "1"), .custom("2 module aux records") { $0.moduleAux.count == 2 },
        ]),
        "librdb/dumps/module_aux_empty.rdb": .valid([.keys(0)]),
        "librdb/dumps/script.rdb": .valid([
            .keys(0), .aux("lua", "return 'Hello from Lua!'"), .checksum(0),
        ]),
        "librdb/dumps/set_not_expired_v11.rdb": .valid([
            .string("mykey", "myval"),
            .custom("mykey expires in 2087") { l in
                guard let x = l.entry("mykey")?.expireAtMs else { return false }
                return x > 3_690_000_000_000 && x < 3_700_000_000_000  // 2086-12 .. 2087-04
            },
        ]),
        // No upstream assertion; RDB 13 stream IDMP sections may be unsupported, then a clear type error.
        "librdb/dumps/stream_v13.rdb": .validOrRejected([
            .keys(49), .custom("all type 26") { $0.entries.allSatisfy { $0.rdbType == 26 } },
        ], [.unknownType]),
        "librdb/dumps/string_int_encoded.rdb": .valid([.keys(57)]),
        "librdb/dumps/string_lzf.rdb": .valid([.keys(2)]),
        "rdb-rs/hash_list_pack.rdb": .valid([.keys(5), .custom("all type 16") { $0.entries.allSatisfy { $0.rdbType == 16 } }]),
        "rdb-rs/multidb-skipping.rdb": .valid([
            .keys(2), .custom("foo=bar in two databases") { l in
                let dbs = l.entries.filter { CorpusLoaded.text($0.key) == "foo" && $0.value == .string(Array("bar".utf8)) }.map(\.db)
                return Set(dbs).count == 2
            },
        ]),
        "rdb-rs/quicklist_with_one_node.rdb": .valid([.keys(1), .rdbType("quicklist", 14)]),
        "redis-rdb-cli/rct/all.rdb": .validOrRejected([
            .keys(270),
            .typeCounts(["zset": 17, "set": 20, "string": 85, "stream": 11, "module": 1, "list": 23, "hash": 113]),
        ], [.preRelease]),
        "redis-rdb-cli/rdt/12.rdb": .valid([.keys(95), .dbs([0, 1])]),
        "redis-rdb-cli/rdt/34.rdb": .validOrRejected([.keys(90), .dbs([0])], [.preRelease]),
        "redis-rdb-cli/rdt/dump.rdb": .validOrRejected([.keys(270)], [.preRelease]),
        "redis-rdb-cli/rdt/filter1.rdb": .validOrRejected([.keys(1), .rdbType("hll1", 0), .dbs([1])], [.preRelease]),
        "redis-rdb-tools/dictionary.rdb": .valid([
            .keys(1), .hashCount("force_dictionary", 1000), .rdbType("force_dictionary", 4),
            .hash("force_dictionary", [
                "ZMU5WEJDG7KU89AOG5LJT6K7HMNB3DEI43M6EYTJ83VRJ6XNXQ": "T63SOS8DQJF0Q0VJEZ0D1IQFCYTIPSBOUIAI9SB0OV57MQR1FI",
                "UHS5ESW4HLK8XOGTM39IK1SJEUGVV9WOPK6JYA5QBZSJU84491": "6VULTCV52FXJ8MGVSFTZVAGK2JXZMGQ5F8OVJI0X6GEDDR27RZ",
            ]),
        ]),
        "redis-rdb-tools/easily_compressible_string_key.rdb": .valid([
            .keys(1), .string(a(200), "Key that redis should compress easily"),
        ]),
        "redis-rdb-tools/empty_database.rdb": .valid([.keys(0)]),
        "redis-rdb-tools/hash_as_ziplist.rdb": .valid([
            .keys(1), .hash("zipmap_compresses_easily", ["a": "aa", "aa": "aaaa", "aaaaa": "aaaaaaaaaaaaaa"]),
            .rdbType("zipmap_compresses_easily", 13),
        ]),
        "redis-rdb-tools/integer_keys.rdb": .valid([
            .keys(6), .string("125", "Positive 8 bit integer"), .string("43947", "Positive 16 bit integer"),
            .string("183358245", "Positive 32 bit integer"), .string("-123", "Negative 8 bit integer"),
            .string("-29477", "Negative 16 bit integer"), .string("-183358245", "Negative 32 bit integer"),
        ]),
        "redis-rdb-tools/intset_16.rdb": .valid([.set("intset_16", ["32766", "32765", "32764"]), .rdbType("intset_16", 11)]),
        "redis-rdb-tools/intset_64.rdb": .valid([
            .set("intset_64", ["9223090557583032318", "9223090557583032317", "9223090557583032316"]),
        ]),
        "redis-rdb-tools/linkedlist.rdb": .valid([
            .listCount("force_linkedlist", 1000), .rdbType("force_linkedlist", 1),
            .listContains("force_linkedlist", ["JYY4GIFI0ETHKP4VAJF5333082J4R1UPNPLE329YT0EYPGHSJQ",
                                               "TKBXHJOX9Q99ICF4V78XTCA2Y1UYW6ERL35JCIL1O0KSGXS58S"]),
        ]),
        "redis-rdb-tools/multiple_databases.rdb": .valid([
            .keys(2), .dbs([0, 2]), .string("key_in_zeroth_database", "zero", db: 0),
            .string("key_in_second_database", "second", db: 2),
        ]),
        "redis-rdb-tools/parser_filters.rdb": .valid([
            .keys(43), .string("k1", "ssssssss"), .string("k3", "wwwwwwww"),
            .custom("zsets z1..z4") { l in (1...4).allSatisfy { l.entry("z\($0)").map { CorpusLoaded.kind($0.value) } == "zset" } },
        ]),
        "redis-rdb-tools/rdb_version_5_with_checksum.rdb": .valid([
            .keys(6), .string("abcd", "efgh"), .string("foo", "bar"), .string("bar", "baz"),
            .string("abcdef", "abcdef"), .string("longerstring", "thisisalongerstring.idontknowwhatitmeans"),
            .custom("checksum present and verified") { $0.storedChecksum != nil && $0.storedChecksum != 0 },
        ]),
        "redis-rdb-tools/rdb_version_8_with_64b_length_and_scores.rdb": .valid([
            .string("foo", "bar"), .zsetCount("bigset", 1000), .zset("bigset", ["finalfield": 2.718]),
            .rdbType("bigset", 5),
        ]),
        "redis-rdb-tools/redis_40_with_module.rdb": .valid([
            .keys(2), .rdbType("simplekey", 0), .module("foo", "ReJSON-RL"), .checksum(0),
        ]),
        "redis-rdb-tools/redis_50_with_streams.rdb": .valid([
            .keys(14), .streamEntries("mystream", 4), .custom("mystream: one listpack") { l in
                if case .stream(let s)? = l.entry("mystream")?.value { return s.listpackNodes == 1 }
                return false
            },
        ]),
        "redis-rdb-tools/regular_set.rdb": .valid([
            .set("regular_set", ["alpha", "beta", "gamma", "delta", "phi", "kappa"]), .rdbType("regular_set", 2),
        ]),
        "redis-rdb-tools/sorted_set_as_ziplist.rdb": .valid([
            .zset("sorted_set_as_ziplist", ["8b6ba6718a786daefa69438148361901": 1,
                                            "cb7a24bb7528f934b841b34c3a73e0c7": 2.37,
                                            "523af537946b79c4f8369ed39ba78605": 3.423]),
            .zsetCount("sorted_set_as_ziplist", 3), .rdbType("sorted_set_as_ziplist", 12),
        ]),
        "redis-rdb-tools/ziplist_that_compresses_easily.rdb": .valid([
            .list("ziplist_compresses_easily", [a(6), a(12), a(18), a(24), a(30), a(36)]),
        ]),
        "redis-rdb-tools/ziplist_with_integers.rdb": .valid([
            .list("ziplist_with_integers", ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
                                            "-2", "13", "25", "-61", "63", "16380", "-16000", "65535", "-65523",
                                            "4194304", "9223372036854775807"]),
        ]),
        "redis-rdb-tools/zipmap_that_compresses_easily.rdb": .valid([
            .hash("zipmap_compresses_easily", ["a": "aa", "aa": "aaaa", "aaaaa": "aaaaaaaaaaaaaa"]),
            .rdbType("zipmap_compresses_easily", 9),
        ]),
        "redis-rdb-tools/zipmap_with_big_values.rdb": .valid([
            .hashValueLengths("zipmap_with_big_values", ["253bytes": 253, "254bytes": 254, "255bytes": 255,
                                                         "300bytes": 300, "20kbytes": 20000]),
        ]),
        "redis-replicator/binarydump.rdb": .valid([
            .keys(3), .rdbType("seri1", 0), .rdbType("seri3", 14),
            .custom("seri2 has field2") { l in CorpusLoaded.hash(l.entry("seri2")?.value ?? .string([]))?["field2"] != nil },
        ]),
        "redis-replicator/dump-lru.rdb": .valid([
            .keys(2), .expire("key", 1528592665231), .idle("key", 4), .idle("key1", 1914611),
        ]),
        "redis-replicator/dump-slot.rdb": .valid([
            // Upstream reports the slot info per key (5 keys, two in slot 4772); the file holds one
            // SLOT_INFO opcode per slot.
            .keys(5), .custom("slot infos (98,1,0) (230,1,0) (4163,1,0) (4772,2,0)") { l in
                l.slotInfos.map { "\($0.0),\($0.1),\($0.2)" } == ["98,1,0", "230,1,0", "4163,1,0", "4772,2,0"]
            },
        ]),
        "redis-replicator/dump-stream1.rdb": .valid([.keys(5), .streamLength("trim", 120)]),
        "redis-replicator/dump-ttlhash.rdb": .valid([
            .rdbType("iterttlhash", 25), .rdbType("ttlhash", 25), .rdbType("ttlhash1", 24), .hashCount("ttlhash1", 1024),
            .custom("ttlhash1 fields have TTLs") { l in
                if case .hash(let f)? = l.entry("ttlhash1")?.value { return f.contains { $0.expireAtMs != nil } }
                return false
            },
        ]),
        "redis-replicator/dumpV11.rdb": .valid([
            .custom("a SET_LISTPACK with 4 members") { l in
                l.entries.contains { $0.rdbType == 20 && CorpusLoaded.count($0.value) == 4 }
            },
            .custom("a STREAM_LISTPACKS_3") { $0.entries.contains { $0.rdbType == 21 } },
        ]),
        "redis-replicator/dumpV7.rdb": .valid([
            .keys(19), .string("abcd", "abcd"), .string("foo", "bar"), .string("aaa", "bbb"),
            .checksum(6576517133597126869),
            .custom("13 strings") { $0.entries.filter { CorpusLoaded.kind($0.value) == "string" }.count == 13 },
        ]),
        "redis-replicator/dumpV9.rdb": .valid([.rdbType("list1", 14)]),
        "redis-replicator/function2.rdb": .valid([
            .keys(0), .functions(1),
            .functionContains("#!lua name=mylib \n redis.register_function('myfunc', function(keys, args) return args[1] end)"),
        ]),
        "redis-replicator/listpack-bug.rdb": .valid([.keys(237), .functions(3)]),
        "redis-replicator/module.rdb": .rejected([.preRelease, .module, .unknownType]),
        "redis-replicator/stream2.rdb": .valid([
            .streamLength("mystream", 9),
            .custom("first-id 1646121872530-0, max-deleted 1646121870418-0, entries-added 16, g3/g4 entries-read 3/4") { l in
                guard case .stream(let s)? = l.entry("mystream")?.value else { return false }
                let read = Dictionary(uniqueKeysWithValues: s.groups.map { (CorpusLoaded.text($0.name), $0.entriesReadRaw) })
                return s.firstID == StreamID(ms: 1646121872530, seq: 0)
                    && s.maxDeletedEntryID == StreamID(ms: 1646121870418, seq: 0)
                    && s.entriesAdded == 16 && read["g3"] == 3 && read["g4"] == 4
            },
        ]),
        "redis/corrupt_empty_keys.rdb": .validOrRejected([
            .keys(9), .custom("every key is an empty collection") { l in
                l.entries.allSatisfy { CorpusLoaded.count($0.value) == 0 }
            },
        ], [.corrupt, .badLength, .ziplist, .listpack, .quicklist, .intset]),
        "redis/encodings.rdb": .valid([
            .keys(13), .string("compressible", a(137)), .string("number", "10"), .string("string", "Hello World"),
            .hash("hash", ["a": "1", "aa": "10", "aaa": "100", "b": "2", "bb": "20", "bbb": "200", "c": "3",
                           "cc": "30", "ccc": "300", "ddd": "400", "eee": "5000000000"]),
            .hash("hash_zipped", ["a": "1", "b": "2", "c": "3"]),
            .list("list", Array(repeating: ["1", "2", "3", "a", "b", "c", "100000", "6000000000"], count: 3).flatMap { $0 }),
            .list("list_zipped", ["1", "2", "3", "a", "b", "c", "100000", "6000000000"]),
            .set("set", ["1", "100000", "2", "3", "6000000000", "a", "b", "c"]),
            .set("set_zipped_1", ["1", "2", "3", "4"]),
            .set("set_zipped_2", ["100000", "200000", "300000", "400000"]),
            .set("set_zipped_3", ["1000000000", "2000000000", "3000000000", "4000000000", "5000000000", "6000000000"]),
            .zset("zset", ["a": 1, "b": 2, "c": 3, "aa": 10, "bb": 20, "cc": 30, "aaa": 100, "bbb": 200, "ccc": 300,
                           "aaaa": 1000, "cccc": 123456789, "bbbb": 5000000000]),
            .zset("zset_zipped", ["a": 1, "b": 2, "c": 3]),
        ]),
        "redis/hash-ziplist.rdb": .valid([.hash("hash", ["f1": "v1", "f2": "v2"]), .hashCount("hash", 2)]),
        "redis/list-quicklist.rdb": .valid([.string("x", "7"), .list("list", ["7"])]),
        "redis/rdb-preamble.aof": .valid([.keys(2), .string("k1", "v1"), .string("k2", "v2")]),
        "redis/scriptbackup.rdb": .valid([.keys(0), .aux("lua", "return redis.call('set', 'foo', 'bar')")]),
        "redisshake/appendonly.aof.2.base.rdb": .valid([.keys(10016)]),
        "librdb/dumps/redis_ent_opcode_ram_lru.rdb": .validOrRejected([
            .keys(3), .string("a", "b"), .string("e", "f"), .string("c", "d"),
        ], [.unknownOpcode, .unknownType]),
    ]

    static func outcome(for row: ManifestRow) -> CorpusOutcome {
        if let o = table[row.path] { return o }
        return row.isMarkedInvalid ? .rejected([]) : .valid([])
    }

    /// Checks one fact; returns a failure message or nil.
    static func check(_ fact: CorpusFact, _ l: CorpusLoaded) -> String? {
        func need(_ key: String, db: Int? = nil) -> RDBEntry? { l.entry(key, db: db) }
        switch fact {
        case .keys(let n):
            return l.entries.count == n ? nil : "expected \(n) keys, got \(l.entries.count)"
        case .string(let k, let v, let db):
            guard let e = need(k, db: db) else { return "missing key \(k)" }
            return e.value == .string(Array(v.utf8)) ? nil : "\(k): expected \(v), got \(e.value)"
        case .list(let k, let v):
            guard let e = need(k), case .list(let items) = e.value else { return "missing list \(k)" }
            return items.map(CorpusLoaded.text) == v ? nil : "\(k): expected \(v), got \(items.map(CorpusLoaded.text))"
        case .listCount(let k, let n):
            guard let e = need(k), case .list(let items) = e.value else { return "missing list \(k)" }
            return items.count == n ? nil : "\(k): expected \(n) elements, got \(items.count)"
        case .listContains(let k, let v):
            guard let e = need(k), case .list(let items) = e.value else { return "missing list \(k)" }
            let have = Set(items.map(CorpusLoaded.text))
            return v.allSatisfy(have.contains) ? nil : "\(k): missing some of \(v)"
        case .set(let k, let v):
            guard let e = need(k), case .set(let m) = e.value else { return "missing set \(k)" }
            return m.map(CorpusLoaded.text).sorted() == v.sorted() ? nil : "\(k): expected \(v.sorted()), got \(m.map(CorpusLoaded.text).sorted())"
        case .setCount(let k, let n):
            guard let e = need(k), case .set(let m) = e.value else { return "missing set \(k)" }
            return m.count == n ? nil : "\(k): expected \(n) members, got \(m.count)"
        case .hash(let k, let v):
            guard let e = need(k), let h = CorpusLoaded.hash(e.value) else { return "missing hash \(k)" }
            for (f, x) in v where h[f] != x { return "\(k).\(f): expected \(x), got \(h[f] ?? "<absent>")" }
            return nil
        case .hashCount(let k, let n):
            guard let e = need(k), case .hash(let f) = e.value else { return "missing hash \(k)" }
            return f.count == n ? nil : "\(k): expected \(n) fields, got \(f.count)"
        case .hashValueLengths(let k, let v):
            guard let e = need(k), case .hash(let fields) = e.value else { return "missing hash \(k)" }
            for (f, n) in v {
                guard let got = fields.first(where: { CorpusLoaded.text($0.field) == f }) else { return "\(k): no field \(f)" }
                if got.value.count != n { return "\(k).\(f): expected \(n) bytes, got \(got.value.count)" }
            }
            return nil
        case .zset(let k, let v):
            guard let e = need(k), let z = CorpusLoaded.zset(e.value) else { return "missing zset \(k)" }
            for (m, s) in v where z[m] != s { return "\(k).\(m): expected \(s), got \(String(describing: z[m]))" }
            return nil
        case .zsetCount(let k, let n):
            guard let e = need(k), case .sortedSet(let m) = e.value else { return "missing zset \(k)" }
            return m.count == n ? nil : "\(k): expected \(n) members, got \(m.count)"
        case .streamLength(let k, let n):
            guard let e = need(k), case .stream(let s) = e.value else { return "missing stream \(k)" }
            return s.length == n ? nil : "\(k): expected length \(n), got \(s.length) (\(s.entries.count) entries)"
        case .streamEntries(let k, let n):
            guard let e = need(k), case .stream(let s) = e.value else { return "missing stream \(k)" }
            return s.entries.count == n ? nil : "\(k): expected \(n) entries, got \(s.entries.count)"
        case .aux(let k, let v):
            return l.aux.contains { $0.0 == k && $0.1 == v } ? nil : "aux \(k)=\(v) missing in \(l.aux)"
        case .functions(let n):
            return l.functions.count == n ? nil : "expected \(n) function libraries, got \(l.functions.count)"
        case .functionContains(let s):
            return l.functions.contains { $0.contains(s) } ? nil : "no function library contains \(s)"
        case .expire(let k, let ms):
            guard let e = need(k) else { return "missing key \(k)" }
            return e.expireAtMs == ms ? nil : "\(k): expected expiry \(String(describing: ms)), got \(String(describing: e.expireAtMs))"
        case .idle(let k, let n):
            guard let e = need(k) else { return "missing key \(k)" }
            return e.lruIdleSeconds == n ? nil : "\(k): expected idle \(n), got \(String(describing: e.lruIdleSeconds))"
        case .freq(let k, let n):
            guard let e = need(k) else { return "missing key \(k)" }
            return e.lfuFreq == n ? nil : "\(k): expected freq \(n), got \(String(describing: e.lfuFreq))"
        case .module(let k, let name):
            guard let e = need(k), case .module(let m) = e.value else { return "missing module value \(k)" }
            return m.moduleName == name ? nil : "\(k): expected module \(name), got \(m.moduleName)"
        case .rdbType(let k, let t):
            guard let e = need(k) else { return "missing key \(k)" }
            return e.rdbType == t ? nil : "\(k): expected RDB type \(t), got \(e.rdbType)"
        case .dbs(let dbs):
            return Set(l.entries.map(\.db)) == Set(dbs) ? nil : "expected dbs \(dbs), got \(Set(l.entries.map(\.db)).sorted())"
        case .checksum(let c):
            return l.storedChecksum == c ? nil : "expected stored checksum \(c), got \(String(describing: l.storedChecksum))"
        case .typeCounts(let want):
            var got: [String: Int] = [:]
            for e in l.entries { got[CorpusLoaded.kind(e.value), default: 0] += 1 }
            return got == want ? nil : "expected type counts \(want), got \(got)"
        case .custom(let name, let ok):
            return ok(l) ? nil : "failed: \(name)"
        }
    }
}

@Suite("Corpus: every MANIFEST data file reads as its expected_summary says",
       .enabled(if: CorpusFiles.corpusAvailable, "shared corpus not found at ../shared/rdb-corpus: skipped"))
struct CorpusManifestTests {
    @Test("the MANIFEST lists data files, and every table entry names one")
    func manifestAndTableAgree() {
        let paths = Set(ManifestRow.dataRows.map(\.path))
        #expect(paths.count >= 80)
        for p in CorpusExpectations.table.keys {
            #expect(paths.contains(p), "table entry \(p) is not a MANIFEST data row")
        }
    }

    @Test("reads, rejects or warns as expected", arguments: ManifestRow.dataRows.map(\.path))
    func fileOutcome(_ path: String) throws {
        guard let row = ManifestRow.dataRows.first(where: { $0.path == path }) else { return }
        let outcome = CorpusExpectations.outcome(for: row)
        let result = Result { try CorpusLoaded.load(path: row.url.path) }
        switch (outcome, result) {
        case (.valid(let facts), .success(let l)), (.validOrRejected(let facts, _), .success(let l)):
            for f in facts {
                if let msg = CorpusExpectations.check(f, l) { Issue.record("\(path): \(msg)") }
            }
        case (.valid, .failure(let e)):
            Issue.record("\(path) must read completely, got: \(e)")
        case (.rejected, .success(let l)):
            Issue.record("\(path) must be rejected, but read \(l.entries.count) keys")
        case (.rejected(let codes), .failure(let e)), (.validOrRejected(_, let codes), .failure(let e)):
            guard let err = e as? RDBError else {
                Issue.record("\(path): expected an RDBError, got \(e)")
                return
            }
            if !codes.isEmpty {
                #expect(codes.contains(err.code), "\(path): got \(err.code) (\(err)), expected one of \(codes)")
            }
            #expect(err.offset >= 0 && err.offset <= Int64((try? Data(contentsOf: row.url).count) ?? 0) + 1,
                    "\(path): error offset \(err.offset) outside the file")
            #expect(!err.message.isEmpty)
            #expect(err.description.contains("error at byte \(err.offset)"))
        }
    }
}
