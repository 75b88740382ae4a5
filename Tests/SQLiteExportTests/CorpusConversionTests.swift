import Foundation
import RDB
import RDBTools
import Testing
import TestSupport
@testable import SQLiteExport

/// Where the test data lives: Fixtures/ in the package, and the shared corpus next to the package
/// (`<package root>/../shared/rdb-corpus`, read in place, never copied).
enum TestData {
    static let packageRoot = TestPaths.packageRoot
    static let corpus = TestPaths.sharedCorpusDirectory ?? packageRoot.appendingPathComponent("../shared/rdb-corpus-absent")
    static let fixtures = TestPaths.fixturesDirectory

    static var corpusPresent: Bool { TestPaths.sharedCorpusDirectory != nil }

    static func rdbFiles(under dir: URL) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir.path) else { return [] }
        return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".rdb") }.sorted().map { dir.path + "/" + $0 }
    }

    /// RDB files that come with an expected canonical JSON (`NAME.rdb` + `NAME.json`).
    static var canonicalPairs: [String] {
        (rdbFiles(under: corpus.appendingPathComponent("generated")) + rdbFiles(under: fixtures)).filter {
            FileManager.default.fileExists(atPath: String($0.dropLast(4)) + ".json")
        }
    }

    /// Every RDB-format file in the shared corpus (valid and deliberately broken ones).
    static var corpusFiles: [String] { rdbFiles(under: corpus) }

    static func short(_ path: String) -> String {
        path.replacingOccurrences(of: corpus.path + "/", with: "corpus/").replacingOccurrences(of: packageRoot.path + "/", with: "")
    }
}

/// What the reader alone says a file holds, to check the export against.
struct ReaderCensus: Equatable {
    var keys = 0
    var byType: [String: Int] = [:]
    var elements: [String: Int] = [:]  // rows expected per element table
    var error: String?
    /// A (db, key) seen twice: Redis refuses such a file, and so does the export.
    var duplicateKey: String?

    init(path: String) {
        do {
            let reader = try RDBReader(path: path)
            var seen = Set<[UInt8]>()
            while let record = try reader.next() {
                guard case .entry(let e) = record else { continue }
                if !seen.insert(Array("\(e.db)|".utf8) + e.key).inserted, duplicateKey == nil {
                    duplicateKey = "db \(e.db) key \(RDBError.quote(e.key))"
                }
                keys += 1
                byType[e.value.typeName, default: 0] += 1
                switch e.value {
                case .string: elements["strings", default: 0] += 1
                case .list(let v): elements["list_items", default: 0] += v.count
                case .set(let v): elements["set_members", default: 0] += v.count
                case .sortedSet(let v): elements["zset_members", default: 0] += v.count
                case .hash(let v): elements["hash_fields", default: 0] += v.count
                case .stream(let s): elements["stream_entries", default: 0] += s.entries.reduce(0) { $0 + $1.fields.count }
                case .module: elements["modules", default: 0] += 1
                case .array(let a): elements["array_elements", default: 0] += a.elements.count
                }
            }
        } catch {
            self.error = "\(error)"
        }
    }
}

@Suite(.serialized) struct CorpusConversionTests {
    @Test("Every file with an expected canonical JSON converts to exactly that content",
          .enabled(if: !TestData.canonicalPairs.isEmpty, "no Fixtures/ or ../shared/rdb-corpus/generated files here"),
          arguments: TestData.canonicalPairs)
    func matchesCanonicalJSON(path: String) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let out = dir.file("out.db")
        _ = try SQLiteExporter.exportFile(inputPath: path, outputPath: out, options: SQLiteExportOptions())
        var cmp = CanonicalComparison(db: out)
        try cmp.check(expectedFile: URL(fileURLWithPath: String(path.dropLast(4)) + ".json"))
        #expect(cmp.problems.isEmpty, "\(TestData.short(path)):\n\(cmp.problems.joined(separator: "\n"))")
        #expect(try SQLite3CLI.text(out, "SELECT value FROM meta WHERE key = 'source_file'") == (path as NSString).lastPathComponent)
    }

    @Test("Every corpus file the reader accepts converts with the same keys and elements; the others fail cleanly",
          .enabled(if: TestData.corpusPresent, "../shared/rdb-corpus is absent"),
          arguments: TestData.corpusFiles)
    func convertsOrFailsLikeTheReader(path: String) throws {
        let census = ReaderCensus(path: path)
        let dir = try TempDir()
        defer { dir.remove() }
        let out = dir.file("out.db")
        if let readerError = census.error {
            let thrown = #expect(throws: (any Error).self, "\(TestData.short(path)) should fail like the reader") {
                _ = try SQLiteExporter.exportFile(inputPath: path, outputPath: out, options: SQLiteExportOptions())
            }
            #expect(thrown.map { "\($0)" } == readerError)
            #expect(dir.contents == [], "a failed export must leave nothing behind")
            return
        }
        if census.duplicateKey != nil {
            let thrown = #expect(throws: SQLiteExportError.self) {
                _ = try SQLiteExporter.exportFile(inputPath: path, outputPath: out, options: SQLiteExportOptions())
            }
            #expect(thrown?.description.contains("duplicate key") == true)
            #expect(dir.contents == [])
            return
        }
        let summary = try SQLiteExporter.exportFile(inputPath: path, outputPath: out, options: SQLiteExportOptions())
        #expect(summary.keysExported == census.keys)
        #expect(try SQLite3CLI.int(out, "SELECT count(*) FROM keys") == census.keys, "\(TestData.short(path))")
        let types = try SQLite3CLI.query(out, "SELECT type, count(*) AS n FROM keys GROUP BY type")
        #expect(Dictionary(uniqueKeysWithValues: types.map { ($0["type"] as! String, Int(CanonicalComparison.int($0["n"]) ?? -1)) }) == census.byType)
        for (table, n) in census.elements {
            #expect(try SQLite3CLI.int(out, "SELECT count(*) FROM \(table)") == n, "\(TestData.short(path)): \(table)")
        }
        #expect(try SQLite3CLI.text(out, "PRAGMA integrity_check") == "ok")
    }
}

@Suite struct BrokenInputTests {
    static var sample: String? {
        TestData.canonicalPairs.first { $0.hasSuffix("redis-7.4.1/all-types-a.rdb") } ?? TestData.canonicalPairs.first
    }

    @Test("Truncated and corrupted input: a clear error naming the file and offset, and no output file",
          .enabled(if: sample != nil, "no sample RDB file"))
    func corruptInput() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: BrokenInputTests.sample!))
        let dir = try TempDir()
        defer { dir.remove() }
        var cases: [(String, Data)] = []
        for cut in [5, 9, 20, original.count / 3, original.count / 2, original.count - 9, original.count - 1] {
            cases.append(("truncated-\(cut).rdb", original.prefix(cut)))
        }
        var flipped = original
        flipped[original.count / 2] ^= 0x5A
        cases.append(("flipped.rdb", flipped))
        for (name, bytes) in cases {
            let input = dir.file(name)
            try bytes.write(to: URL(fileURLWithPath: input))
            let out = dir.file("out.db")
            let error = #expect(throws: (any Error).self, "\(name)") {
                _ = try SQLiteExporter.exportFile(inputPath: input, outputPath: out, options: SQLiteExportOptions())
            }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.hasPrefix(input + ": error at byte "), "\(name): \(text)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(name)")
            #expect(dir.contents.filter { $0.hasPrefix("out.db") } == [], "\(name): \(dir.contents)")
        }
    }

    @Test("gzip input gives the same rows as the plain file", .enabled(if: sample != nil, "no sample RDB file"))
    func gzipInput() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let gz = dir.file("in.rdb.gz")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(BrokenInputTests.sample!)' > '\(gz)'"]
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0)
        _ = try SQLiteExporter.exportFile(inputPath: BrokenInputTests.sample!, outputPath: dir.file("a.db"), options: SQLiteExportOptions())
        _ = try SQLiteExporter.exportFile(inputPath: gz, outputPath: dir.file("b.db"), options: SQLiteExportOptions())
        let q = "SELECT count(*), sum(length(key)), sum(length), total(ifnull(expire_at_ms, 0)) FROM keys"
        #expect(try SQLite3CLI.text(dir.file("a.db"), q) == SQLite3CLI.text(dir.file("b.db"), q))
        let v = "SELECT (SELECT sum(length(value)) FROM strings) + (SELECT sum(length(value)) FROM list_items) + (SELECT total(score) FROM zset_members WHERE abs(score) < 1e300)"
        #expect(try SQLite3CLI.text(dir.file("a.db"), v) == SQLite3CLI.text(dir.file("b.db"), v))
        #expect(try SQLite3CLI.text(dir.file("b.db"), "SELECT value FROM meta WHERE key = 'source_file'") == "in.rdb.gz")
    }

    @Test("The input file cannot be the output", .enabled(if: sample != nil, "no sample RDB file"))
    func inputIsNotOverwritten() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let input = dir.file("in.rdb")
        try FileManager.default.copyItem(atPath: BrokenInputTests.sample!, toPath: input)
        #expect(throws: SQLiteExportError.self) {
            _ = try SQLiteExporter.exportFile(inputPath: input, outputPath: input, options: SQLiteExportOptions(force: true))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == Data(contentsOf: URL(fileURLWithPath: BrokenInputTests.sample!)))
    }

    @Test("Filters on a real file", .enabled(if: sample != nil, "no sample RDB file"))
    func filtersOnRealFile() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let all = dir.file("all.db"), some = dir.file("some.db")
        _ = try SQLiteExporter.exportFile(inputPath: BrokenInputTests.sample!, outputPath: all, options: SQLiteExportOptions())
        let filter = KeyFilter(databases: [0, 1], keyPattern: Array("*:*".utf8), types: ["hash", "zset"])
        let s = try SQLiteExporter.exportFile(inputPath: BrokenInputTests.sample!, outputPath: some, options: SQLiteExportOptions(filter: filter))
        let want = try SQLite3CLI.int(all, "SELECT count(*) FROM keys WHERE db IN (0, 1) AND type IN ('hash', 'zset') AND CAST(key AS TEXT) GLOB '*:*'")
        #expect(want > 0)
        #expect(s.keysExported == want)
        #expect(try SQLite3CLI.int(some, "SELECT count(*) FROM keys") == want)
        #expect(try SQLite3CLI.int(some, "SELECT count(*) FROM strings") == 0)
        #expect(try SQLite3CLI.int(some, "SELECT count(*) FROM hash_fields") == SQLite3CLI.int(all, "SELECT count(*) FROM hash_fields h JOIN keys k USING (db, key) WHERE db IN (0, 1) AND CAST(key AS TEXT) GLOB '*:*'"))
    }
}
