import Foundation
import RDB
import RDBTools
import Testing
@testable import SQLiteExport

private func b(_ s: String) -> Bytes { Array(s.utf8) }

/// A small dataset with every record kind and the awkward values: binary and empty keys, NUL bytes,
/// +/-inf and NaN scores, field TTLs, a stream with a group, a consumer and a deleted-entry PEL, a module.
func syntheticRecords() -> [RDBRecord] {
    let binaryKey: Bytes = [0xFF, 0x00, 0xC3, 0x28]  // not UTF-8
    let stream = StreamValue(
        entries: [
            StreamEntry(id: StreamID(ms: 1700000000000, seq: 0), fields: [(b("f1"), b("v1")), (b("f2"), [0xFE])]),
            StreamEntry(id: StreamID(ms: 1700000000001, seq: 5), fields: [(b("f1"), b("v2")), (b("f1"), b("dup"))]),
        ],
        length: 2, listpackNodes: 1, lastID: StreamID(ms: 1700000000001, seq: 5),
        firstID: StreamID(ms: 1700000000000, seq: 0), maxDeletedEntryID: StreamID(ms: 0, seq: 0), entriesAdded: 3,
        groups: [
            StreamGroup(name: b("g1"), lastDeliveredID: StreamID(ms: 1700000000001, seq: 5), entriesReadRaw: UInt64.max,
                        pending: [StreamPendingEntry(id: StreamID(ms: 1700000000000, seq: 0), deliveryTimeMs: 1234, deliveryCount: 2),
                                  StreamPendingEntry(id: StreamID(ms: 1, seq: 1), deliveryTimeMs: 99, deliveryCount: 1)],
                        consumers: [StreamConsumer(name: b("c1"), seenTimeMs: 1500, activeTimeMs: -1,
                                                   pendingIDs: [StreamID(ms: 1700000000000, seq: 0)])]),
        ])
    return [
        .header(RDBHeader(magic: .redis, version: 11)),
        .aux(key: b("redis-ver"), value: b("7.2.6")),
        .aux(key: b("repl-id"), value: b("0123456789abcdef0123456789abcdef01234567")),
        .aux(key: b("repl-offset"), value: b("4242")),
        .function(code: b("#!lua name=mylib\nredis.register_function('f', function() return 1 end)")),
        .moduleAux(ModuleAux(moduleID: 77, moduleName: "mymodule1", encodingVersion: 2, raw: [1, 2, 3])),
        .selectDB(0),
        .resizeDB(dbSize: 9, expiresSize: 1),
        .entry(RDBEntry(db: 0, key: b("s:plain"), value: .string(b("hello")), expireAtMs: 1893456000000, rdbType: 0)),
        .entry(RDBEntry(db: 0, key: b("s:empty"), value: .string([]), rdbType: 0)),
        .entry(RDBEntry(db: 0, key: binaryKey, value: .string([0x00, 0x01, 0xFF]), lfuFreq: 5, rdbType: 0)),
        .entry(RDBEntry(db: 0, key: [], value: .string(b("empty-key")), lruIdleSeconds: 100, rdbType: 0)),
        .entry(RDBEntry(db: 0, key: b("l"), value: .list([b("a"), [], b("a"), b("ключ")]), rdbType: 18)),
        .entry(RDBEntry(db: 0, key: b("set"), value: .set([b("x"), b("y")]), rdbType: 20)),
        .entry(RDBEntry(db: 0, key: b("z"), value: .sortedSet([
            SortedSetMember(member: b("lo"), score: -.infinity), SortedSetMember(member: b("hi"), score: .infinity),
            SortedSetMember(member: b("mid"), score: 1.5), SortedSetMember(member: b("nan"), score: .nan),
            SortedSetMember(member: b("tiny"), score: .leastNonzeroMagnitude)]), rdbType: 17)),
        .entry(RDBEntry(db: 0, key: b("h"), value: .hash([HashField(field: b("a"), value: b("1")),
                                                          HashField(field: b("b"), value: [0xC0], expireAtMs: 4102444800123)]),
                        rdbType: 25)),
        .entry(RDBEntry(db: 0, key: b("st"), value: .stream(stream), rdbType: 21)),
        .selectDB(3),
        .entry(RDBEntry(db: 3, key: b("m"), value: .module(ModuleValue(moduleID: 99, moduleName: "ReJSON-RL", encodingVersion: 3, raw: [9, 8, 0])),
                        rdbType: 7)),
        .entry(RDBEntry(db: 3, key: b("s:plain"), value: .string(b("db3")), rdbType: 0)),
        .eof(storedChecksum: 0x1234, computedChecksum: 0x1234),
    ]
}

@Suite struct SQLiteSinkTests {
    func export(_ records: [RDBRecord], filter: KeyFilter = KeyFilter(),
                layout: SQLiteLayoutOptions = SQLiteLayoutOptions()) throws -> (TempDir, String) {
        let dir = try TempDir()
        let path = dir.file("out.db")
        let sink = try SQLiteSink(path: path, sourceFileName: "synthetic.rdb", filter: filter, layout: layout)
        for r in records { try sink.consume(r) }
        try sink.finish()
        return (dir, path)
    }

    @Test(arguments: [false, true])
    func everyRecordKindIsStored(keysWithoutRowID: Bool) throws {
        let (dir, db) = try export(syntheticRecords(), layout: SQLiteLayoutOptions(keysWithoutRowID: keysWithoutRowID))
        defer { dir.remove() }

        let meta = try SQLite3CLI.query(db, "SELECT key, value FROM meta")
        var m: [String: String] = [:]
        for row in meta { m[row["key"] as! String] = "\(row["value"]!)" }
        #expect(m["schema_version"] == "\(SQLiteSchema.version)")
        #expect(m["source_file"] == "synthetic.rdb")
        #expect(m["rdb_version"] == "11")
        #expect(m["repl_id"] == "0123456789abcdef0123456789abcdef01234567")
        #expect(m["repl_offset"] == "4242")
        #expect(m["keys_exported"] == "11")

        #expect(try SQLite3CLI.text(db, "SELECT type || ':' || count(*) FROM keys GROUP BY type ORDER BY type")
                == "ReJSON-RL:1\nhash:1\nlist:1\nset:1\nstream:1\nstring:5\nzset:1")
        // Binary-safe keys and values, read back as hex.
        #expect(try SQLite3CLI.text(db, "SELECT hex(value) FROM strings WHERE key = X'FF00C328'") == "0001FF")
        #expect(try SQLite3CLI.text(db, "SELECT typeof(value) || length(value) FROM strings WHERE key = CAST('s:empty' AS BLOB)") == "blob0")
        #expect(try SQLite3CLI.text(db, "SELECT value FROM strings WHERE key = X''") == "empty-key")
        #expect(try SQLite3CLI.text(db, "SELECT lfu_freq FROM keys WHERE key = X'FF00C328'") == "5")
        #expect(try SQLite3CLI.text(db, "SELECT lru_idle_s FROM keys WHERE key = X''") == "100")
        #expect(try SQLite3CLI.text(db, "SELECT expire_at_ms FROM keys WHERE db = 0 AND key = CAST('s:plain' AS BLOB)") == "1893456000000")
        #expect(try SQLite3CLI.text(db, "SELECT count(*) FROM keys WHERE key = CAST('s:plain' AS BLOB)") == "2")
        // List order and empty elements.
        #expect(try SQLite3CLI.text(db, "SELECT group_concat(hex(value), ',') FROM (SELECT value FROM list_items ORDER BY idx)")
                == "61,,61,\(b("ключ").hex)")
        // Scores: infinities round-trip as REAL, NaN is NULL, denormals exact.
        let z = try SQLite3CLI.text(db, "SELECT CAST(member AS TEXT) || '=' || quote(score) FROM zset_members ORDER BY rowid")
        #expect(z == "lo=-Inf\nhi=Inf\nmid=1.5\nnan=NULL\ntiny=4.94065645841247e-324")
        #expect(try SQLite3CLI.int(db, "SELECT count(*) FROM zset_members WHERE score = 9e999") == 1)
        // Hash field TTLs.
        #expect(try SQLite3CLI.text(db, "SELECT CAST(field AS TEXT) || ':' || ifnull(expire_at_ms, '-') FROM hash_fields ORDER BY field")
                == "a:-\nb:4102444800123")
        // Streams.
        #expect(try SQLite3CLI.text(db, "SELECT id || ' ' || pos || ' ' || ifnull(field, '?') || '=' || ifnull(value, '<bin>') FROM stream_entries_text ORDER BY ms, seq, pos")
                == "1700000000000-0 0 f1=v1\n1700000000000-0 1 f2=<bin>\n1700000000001-5 0 f1=v2\n1700000000001-5 1 f1=dup")
        #expect(try SQLite3CLI.text(db, "SELECT length || ' ' || last_id_ms || '-' || last_id_seq || ' ' || entries_added FROM streams")
                == "2 1700000000001-5 3")
        #expect(try SQLite3CLI.text(db, "SELECT CAST(group_name AS TEXT) || ' ' || ifnull(entries_read, 'null') FROM stream_groups") == "g1 null")
        #expect(try SQLite3CLI.text(db, "SELECT CAST(consumer AS TEXT) || ' ' || seen_time_ms || ' ' || active_time_ms FROM stream_consumers") == "c1 1500 -1")
        #expect(try SQLite3CLI.text(db, "SELECT ms || '-' || seq || ' ' || ifnull(CAST(consumer AS TEXT), 'none') || ' ' || delivery_count FROM stream_pending ORDER BY ms")
                == "1-1 none 1\n1700000000000-0 c1 2")
        // Modules, functions, aux.
        #expect(try SQLite3CLI.text(db, "SELECT db || ' ' || module || ' ' || hex(raw) FROM modules") == "3 ReJSON-RL 090800")
        #expect(try SQLite3CLI.text(db, "SELECT module || ' ' || hex(raw) FROM module_aux") == "mymodule1 010203")
        #expect(try SQLite3CLI.text(db, "SELECT library_name FROM functions") == "mylib")
        #expect(try SQLite3CLI.text(db, "SELECT key FROM aux_text ORDER BY pos") == "redis-ver\nrepl-id\nrepl-offset")
        #expect(try SQLite3CLI.text(db, "SELECT db || ' ' || db_size FROM resize_db") == "0 9")
        // Text views: NULL where the bytes are not UTF-8.
        #expect(try SQLite3CLI.text(db, "SELECT ifnull(key, 'NULL') || ' ' || ifnull(value, 'NULL') FROM strings_text ORDER BY rowid")
                == "s:plain hello\ns:empty \nNULL NULL\n empty-key\ns:plain db3")
        #expect(try SQLite3CLI.text(db, "SELECT ifnull(value, 'NULL') FROM hash_fields_text ORDER BY field") == "1\nNULL")
        #expect(try SQLite3CLI.text(db, "SELECT expire_at FROM keys_text WHERE expire_at IS NOT NULL") == "2030-01-01T00:00:00.000Z")
        // Indexes exist and the keys table is unique on (db, key).
        #expect(try SQLite3CLI.int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'")
                == (keysWithoutRowID ? 13 : 14))
        #expect(throws: (any Error).self) {
            _ = try SQLite3CLI.run([db, "INSERT INTO keys VALUES(0, CAST('s:plain' AS BLOB), 'string', NULL, NULL, NULL, 0, 0, 0, 1)"])
        }
    }

    @Test func filtersSelectKeysButKeepFileLevelRecords() throws {
        let filter = KeyFilter(databases: [0], keyPattern: b("s:*"), types: ["string"])
        let (dir, db) = try export(syntheticRecords(), filter: filter)
        defer { dir.remove() }
        #expect(try SQLite3CLI.text(db, "SELECT db || ' ' || CAST(key AS TEXT) FROM keys ORDER BY key") == "0 s:empty\n0 s:plain")
        #expect(try SQLite3CLI.int(db, "SELECT count(*) FROM aux") == 3)
        #expect(try SQLite3CLI.int(db, "SELECT count(*) FROM functions") == 1)
        #expect(try SQLite3CLI.text(db, "SELECT value FROM meta WHERE key = 'filter'") == "db=0 key-pattern=s:* type=string")
        #expect(try SQLite3CLI.text(db, "SELECT value FROM meta WHERE key = 'keys_seen'") == "11")

        let (dir2, db2) = try export(syntheticRecords(), filter: KeyFilter(types: ["module", "zset"]))
        defer { dir2.remove() }
        #expect(try SQLite3CLI.text(db2, "SELECT type FROM keys ORDER BY type") == "ReJSON-RL\nzset")
        let (dir3, db3) = try export(syntheticRecords(), filter: KeyFilter(databases: [3]))
        defer { dir3.remove() }
        #expect(try SQLite3CLI.int(db3, "SELECT count(*) FROM keys") == 2)
    }

    @Test func sinkRefusesUseAfterFinish() throws {
        let (dir, _) = try export([])
        defer { dir.remove() }
        let sink = try SQLiteSink(path: dir.file("x.db"))
        try sink.finish()
        #expect(throws: SQLiteExportError.self) { try sink.consume(.selectDB(1)) }
        #expect(throws: SQLiteExportError.self) { try sink.finish() }
    }
}

@Suite struct UTF8ValidationTests {
    @Test func utf8Validation() {
        #expect(isValidUTF8(Array("plain ascii long enough to use the 8-byte path".utf8)))
        #expect(isValidUTF8(Array("ключ:юникод:🔑 значение ✓".utf8)))
        #expect(isValidUTF8([]))
        #expect(isValidUTF8([0]))
        #expect(!isValidUTF8([0xC0, 0x80]))           // overlong NUL
        #expect(!isValidUTF8([0xED, 0xA0, 0x80]))     // surrogate
        #expect(!isValidUTF8([0xF4, 0x90, 0x80, 0x80]))  // > U+10FFFF
        #expect(!isValidUTF8(Array("abcdefgh".utf8) + [0xE2, 0x82]))  // truncated after the fast path
        #expect(!isValidUTF8([0xFF]))
        // Agrees with Swift's own validation on random bytes.
        var seed: UInt64 = 0x9E3779B97F4A7C15
        for _ in 0..<2000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let n = Int(seed >> 59)
            var bytes: Bytes = []
            for j in 0..<n {
                let x = UInt8(truncatingIfNeeded: (seed >> UInt64(j % 8 * 8)) ^ UInt64(j &* 131))
                bytes.append(j % 3 == 0 ? x : x & 0x7F | (x & 0x80 == 0 ? 0 : 0xC0))
            }
            #expect(isValidUTF8(bytes) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
        }
    }
}
