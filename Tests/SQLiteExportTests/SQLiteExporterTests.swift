import Foundation
import RDB
import RDBTools
import Testing
@testable import SQLiteExport

@Suite struct SQLiteExporterTests {
    /// A record source over an array that can fail after `failAfter` records, like a corrupt file.
    final class Feed {
        var records: [RDBRecord]
        var index = 0
        let failAfter: Int?
        init(_ records: [RDBRecord], failAfter: Int? = nil) {
            self.records = records
            self.failAfter = failAfter
        }
        func next() throws -> RDBRecord? {
            if let failAfter, index >= failAfter {
                throw RDBError(.truncated, at: 1234, "unexpected end of input", file: "bad.rdb", key: Array("l".utf8), db: 0)
            }
            guard index < records.count else { return nil }
            defer { index += 1 }
            return records[index]
        }
    }

    @Test(arguments: SQLiteLayer.allCases)
    func bothLayersWriteTheSameRows(layer: SQLiteLayer) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let out = dir.file("out.db")
        let feed = Feed(syntheticRecords())
        let summary = try SQLiteExporter.export(to: out, sourceFileName: "s.rdb", options: SQLiteExportOptions(layer: layer),
                                                next: feed.next)
        #expect(summary.keysExported == 11)
        #expect(dir.contents == ["out.db"])
        let dump = try SQLite3CLI.text(out, """
            SELECT group_concat(x, '|') FROM (
              SELECT hex(key) || typeof(key) || hex(value) AS x FROM strings
              UNION ALL SELECT idx || hex(value) || typeof(value) FROM list_items
              UNION ALL SELECT hex(member) || quote(score) FROM zset_members
              UNION ALL SELECT hex(field) || hex(value) || ifnull(expire_at_ms, '') FROM hash_fields
              UNION ALL SELECT ms || seq || pos || hex(field) || hex(value) || utf8 FROM stream_entries)
            """)
        // Same bytes, types and order from both layers: empty values are BLOBs, infinities REALs, NaN NULL.
        #expect(dump == "733A706C61696Eblob68656C6C6F|733A656D707479blob|FF00C328blob0001FF|blob656D7074792D6B6579|"
                + "733A706C61696Eblob646233|061blob|1blob|261blob|3D0BAD0BBD18ED187blob|6C6F-Inf|6869Inf|6D69641.5|"
                + "6E616ENULL|74696E794.94065645841247e-324|6131|62C04102444800123|170000000000000663176317|"
                + "1700000000000016632FE3|170000000000150663176327|17000000000015166316475707")
    }

    @Test("Multi-row INSERT batches write exactly what single-row inserts write (sizes around the batch size)")
    func batchesMatchSingleRows() throws {
        var records: [RDBRecord] = [.header(RDBHeader(magic: .redis, version: 11)), .selectDB(0)]
        for n in [0, 1, 15, 16, 17, 33, 40] {
            let items = (0..<n).map { Array("v\($0)".utf8) + ($0 % 5 == 0 ? [0xFF] : []) }
            records.append(.entry(RDBEntry(db: 0, key: Array("l\(n)".utf8), value: .list(items), rdbType: 18)))
            records.append(.entry(RDBEntry(db: 0, key: Array("s\(n)".utf8), value: .set(items), rdbType: 2)))
            records.append(.entry(RDBEntry(db: 0, key: Array("z\(n)".utf8), value: .sortedSet(items.enumerated().map {
                SortedSetMember(member: $1, score: $0 == 3 ? .infinity : Double($0) / 3) }), rdbType: 5)))
            records.append(.entry(RDBEntry(db: 0, key: Array("h\(n)".utf8), value: .hash(items.enumerated().map {
                HashField(field: $1, value: $0 % 2 == 0 ? [] : $1, expireAtMs: $0 % 3 == 0 ? Int64($0) : nil) }), rdbType: 4)))
        }
        records.append(.eof(storedChecksum: nil, computedChecksum: nil))
        let dir = try TempDir()
        defer { dir.remove() }
        let sql = """
            SELECT group_concat(x, '|') FROM (
              SELECT hex(key) || ':' || idx || ':' || hex(value) || ':' || utf8 AS x FROM list_items
              UNION ALL SELECT hex(key) || ':' || hex(member) || ':' || utf8 FROM set_members
              UNION ALL SELECT hex(key) || ':' || hex(member) || ':' || quote(score) || ':' || utf8 FROM zset_members
              UNION ALL SELECT hex(key) || ':' || hex(field) || ':' || quote(value) || ':' || quote(expire_at_ms) || ':' || utf8 FROM hash_fields)
            """
        var dumps: [String] = []
        for (i, (rows, layer)) in [(1, SQLiteLayer.cAPI), (16, .cAPI), (7, .cAPI), (16, .grdb)].enumerated() {
            let out = dir.file("out\(i).db")
            let options = SQLiteExportOptions(layout: SQLiteLayoutOptions(batchRows: rows), layer: layer)
            let summary = try SQLiteExporter.export(to: out, sourceFileName: nil, options: options, next: Feed(records).next)
            #expect(summary.rows == 28 + 4 * (1 + 15 + 16 + 17 + 33 + 40))
            dumps.append(try SQLite3CLI.text(out, sql))
        }
        #expect(dumps[0].count > 1000)
        #expect(Set(dumps).count == 1)
    }

    @Test func refusesExistingOutputUnlessForced() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let out = dir.file("out.db")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: out))
        #expect(throws: SQLiteExportError.self) {
            _ = try SQLiteExporter.export(to: out, sourceFileName: nil, options: SQLiteExportOptions(),
                                          next: Feed(syntheticRecords()).next)
        }
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "precious")
        #expect(dir.contents == ["out.db"])

        _ = try SQLiteExporter.export(to: out, sourceFileName: nil, options: SQLiteExportOptions(force: true),
                                      next: Feed(syntheticRecords()).next)
        #expect(try SQLite3CLI.int(out, "SELECT count(*) FROM keys") == 11)
        #expect(dir.contents == ["out.db"])
    }

    @Test(arguments: SQLiteLayer.allCases)
    func corruptInputLeavesNoOutputAndKeepsAnOldOne(layer: SQLiteLayer) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let out = dir.file("out.db")
        let error = #expect(throws: RDBError.self) {
            _ = try SQLiteExporter.export(to: out, sourceFileName: "bad.rdb", options: SQLiteExportOptions(layer: layer),
                                          next: Feed(syntheticRecords(), failAfter: 12).next)
        }
        #expect(error?.description == "bad.rdb: error at byte 1234: unexpected end of input (key \"l\", db 0)")
        #expect(dir.contents == [])

        // With --force an existing output survives a failed export untouched.
        try Data("old".utf8).write(to: URL(fileURLWithPath: out))
        #expect(throws: RDBError.self) {
            _ = try SQLiteExporter.export(to: out, sourceFileName: "bad.rdb", options: SQLiteExportOptions(layer: layer, force: true),
                                          next: Feed(syntheticRecords(), failAfter: 3).next)
        }
        #expect(dir.contents == ["out.db"])
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "old")
    }

    @Test(arguments: [false, true], SQLiteLayer.allCases)
    func duplicateKeysAreRefusedLikeRedisDoes(keysWithoutRowID: Bool, layer: SQLiteLayer) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        var records = syntheticRecords()
        records.insert(.entry(RDBEntry(db: 0, key: Array("h".utf8), value: .string([]), rdbType: 0, startOffset: 4321)),
                       at: records.count - 1)
        let options = SQLiteExportOptions(layout: SQLiteLayoutOptions(keysWithoutRowID: keysWithoutRowID), layer: layer)
        // The second occurrence's offset: found at insert time (WITHOUT ROWID), or after the UNIQUE index
        // failed by reading the records again.
        let error = #expect(throws: SQLiteExportError.self) {
            _ = try SQLiteExporter.export(to: dir.file("out.db"), sourceFileName: "dup.rdb", options: options, next: Feed(records).next,
                                          rereadRecords: { Feed(records).next })
        }
        #expect(error?.description == "dup.rdb: error at byte 4321: duplicate key \"h\" in db 0 "
                + "(Redis refuses to load such a file: \"RDB has duplicated key\")")
        #expect(error?.duplicate == SQLiteDuplicateKey(db: 0, key: Array("h".utf8), offset: 4321))
        #expect(dir.contents == [])

        // Records that cannot be read again: the default layout still names the file, the key and the db.
        if !keysWithoutRowID {
            let error = #expect(throws: SQLiteExportError.self) {
                _ = try SQLiteExporter.export(to: dir.file("out.db"), sourceFileName: "dup.rdb", options: options,
                                              next: Feed(records).next)
            }
            #expect(error?.description == "dup.rdb: duplicate key \"h\" in db 0 (Redis refuses to load such a file: \"RDB has duplicated key\")")
            #expect(dir.contents == [])
        }
    }

    /// A hand-built RDB file holding key "dup" twice in db 0 (and once in db 1, which is no duplicate): every
    /// layout and layer names the file, the byte offset where the second "dup" of db 0 starts, the key and the db;
    /// with a filter, the second of the occurrences the filter let in.
    @Test(arguments: [false, true], SQLiteLayer.allCases)
    func duplicateKeyInAFileIsNamedWithItsOffset(keysWithoutRowID: Bool, layer: SQLiteLayer) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let w = try RDBWriter(sink: MemoryByteSink(), options: RDBWriterOptions(rdbVersion: 10))
        try w.writeHeader()
        try w.writeAuxFields()
        try w.selectDB(0)
        try w.writeEntry(RDBEntry(db: 0, key: Array("a".utf8), value: .string(Array("1".utf8)), rdbType: 0))
        try w.writeEntry(RDBEntry(db: 0, key: Array("dup".utf8), value: .list([Array("x".utf8)]), rdbType: 18))
        try w.writeEntry(RDBEntry(db: 0, key: Array("b".utf8), value: .string(Array("2".utf8)), rdbType: 0))
        try w.writeEntry(RDBEntry(db: 1, key: Array("dup".utf8), value: .string(Array("db1".utf8)), rdbType: 0))
        try w.selectDB(0)
        let second = w.bytesWritten  // the second "dup" of db 0 starts with its type byte here
        try w.writeEntry(RDBEntry(db: 0, key: Array("dup".utf8), value: .string(Array("again".utf8)), rdbType: 0))
        try w.writeEntry(RDBEntry(db: 0, key: Array("c".utf8), value: .string(Array("3".utf8)), rdbType: 0))
        let third = w.bytesWritten
        try w.writeEntry(RDBEntry(db: 0, key: Array("dup".utf8), value: .string(Array("third".utf8)), rdbType: 0))
        try w.finish()
        let input = dir.file("dup.rdb")
        try Data(w.sink.bytes).write(to: URL(fileURLWithPath: input))
        #expect(second > 30)

        var options = SQLiteExportOptions(layout: SQLiteLayoutOptions(keysWithoutRowID: keysWithoutRowID), layer: layer)
        let error = #expect(throws: SQLiteExportError.self) {
            _ = try SQLiteExporter.exportFile(inputPath: input, outputPath: dir.file("out.db"), options: options)
        }
        #expect(error?.description == "dup.rdb: error at byte \(second): duplicate key \"dup\" in db 0 "
                + "(Redis refuses to load such a file: \"RDB has duplicated key\")")
        #expect(dir.contents == ["dup.rdb"])

        // --type string leaves out the first "dup" of db 0 (a list): the second and third clash.
        options.filter = KeyFilter(types: ["string"])
        let filtered = #expect(throws: SQLiteExportError.self) {
            _ = try SQLiteExporter.exportFile(inputPath: input, outputPath: dir.file("out.db"), options: options)
        }
        #expect(filtered?.description == "dup.rdb: error at byte \(third): duplicate key \"dup\" in db 0 "
                + "(Redis refuses to load such a file: \"RDB has duplicated key\")")
        #expect(dir.contents == ["dup.rdb"])
    }

    @Test func outputDirectoryIsRefused() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        #expect(throws: SQLiteExportError.self) {
            _ = try SQLiteExporter.export(to: dir.path, sourceFileName: nil, options: SQLiteExportOptions(force: true),
                                          next: Feed([]).next)
        }
        #expect(throws: SQLiteExportError.self) {
            _ = try SQLiteExporter.export(to: dir.file("missing/out.db"), sourceFileName: nil, options: SQLiteExportOptions(),
                                          next: Feed([]).next)
        }
    }
}
