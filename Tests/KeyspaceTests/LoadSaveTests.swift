import Foundation
import Testing
import RDB
import RDBTools
@testable import Keyspace
import TestSupport

/// Load -> save -> load is lossless on every fixture and every corpus file the reader reads.
@Suite struct LoadSaveTests {
    struct RDBFile: CustomStringConvertible {
        var path: String
        var description: String { path }
    }

    /// Fixtures/**.rdb, the corpus files its MANIFEST lists as RDB, and the generated corpus.
    static func files() -> [RDBFile] {
        var out: [RDBFile] = []
        let fm = FileManager.default
        if let e = fm.enumerator(atPath: TestPaths.fixturesDirectory.path) {
            for case let rel as String in e where rel.hasSuffix(".rdb") {
                out.append(RDBFile(path: TestPaths.fixturesDirectory.appendingPathComponent(rel).path))
            }
        }
        if let root = TestPaths.sharedCorpusDirectory?.path,
           let manifest = try? String(contentsOfFile: root + "/MANIFEST.tsv", encoding: .utf8) {
            for line in manifest.split(separator: "\n").dropFirst() {
                let cols = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                if cols.count > 6, cols[5] != "-" { out.append(RDBFile(path: root + "/" + cols[0])) }
            }
            if let e = fm.enumerator(atPath: root + "/generated") {
                for case let rel as String in e where rel.hasSuffix(".rdb") { out.append(RDBFile(path: root + "/generated/" + rel)) }
            }
        }
        return out.sorted { $0.path < $1.path }
    }

    static func records(_ path: String) -> [RDBRecord]? {
        guard let src = try? openRDBSource(path: path) else { return nil }
        let reader = RDBReader(source: AnyByteSource(src), fileName: path)
        var out: [RDBRecord] = []
        do {
            while let r = try reader.next() {
                out.append(r)
                if case .eof = r { break }
            }
        } catch { return nil }
        return out
    }

    /// The file's own keys as canonical lines (streams given the metadata the loader fills in).
    static func fileLines(_ records: [RDBRecord]) throws -> [String] {
        var entries: [RDBEntry] = []
        for case .entry(var e) in records {
            if case .stream = e.value { e.value = Value(loading: e.value).rdbValue }
            entries.append(e)
        }
        entries.sort { $0.db != $1.db ? $0.db < $1.db : $0.key.lexicographicallyPrecedes($1.key) }
        return try entries.map(Keyspace.canonicalLine)
    }

    @Test func everyReadableFileRoundTrips() throws {
        let files = Self.files()
        #expect(files.count > 20, "expected the fixtures at least")
        var checked = 0
        for f in files {
            guard let recs = Self.records(f.path) else { continue }  // files the reader refuses
            var loader = KeyspaceLoader()
            do {
                for r in recs { try loader.consume(r) }
            } catch let e as KeyspaceLoadError {
                // Redis refuses a file holding one key twice; so does the loader, naming it.
                #expect(e.message == "duplicate key", "\(f.path): \(e)")
                print("refused as Redis would: \(f.path): \(e)")
                continue
            }
            let k1 = loader.keyspace
            // Everything the file holds, no more, no less.
            let lines = try k1.canonicalJSONLines()
            #expect(Array(lines.dropLast()) == (try Self.fileLines(recs)), "\(f.path)")
            // Saved at the newest version written (15: IDMP state and NACK zones included) and loaded back: the
            // same dataset, whatever the file's version.
            let bytes = try k1.rdbBytes(options: RDBWriterOptions(rdbVersion: RDBWriterOptions.newestWritable))
            let k2 = try Keyspace.load(rdb: bytes)
            #expect(k2 == k1, "\(f.path)")
            #expect(try k2.canonicalJSONLines() == lines, "\(f.path)")
            checked += 1
        }
        #expect(checked > 20)
    }

    @Test func packedFormsGrowIntoHashedForms() throws {
        var s = SetValue()
        for i in 0..<300 { s.insert(Array("m\(i)".utf8)) }
        #expect(s.count == 300)
        guard case .table = s.storage else { Issue.record("set stayed packed"); return }
        var z = ZSetValue()
        for i in 0..<200 { z.set(Array("m\(i)".utf8), Double(200 - i)) }
        #expect(z.sorted.first?.member == Array("m199".utf8))
        var h = HashValue()
        h.set([1], Array(repeating: 7, count: 100))
        guard case .table = h.storage else { Issue.record("hash with a long value stayed packed"); return }
        #expect(h[[1]]?.count == 100)
    }
}
