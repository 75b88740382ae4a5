import Foundation
import RDB
import RDBTools
import Testing
import TestSupport

@Suite("rdb dump / rdb info (the built binary)", .serialized)
struct DumpInfoCommandTests {
    let dir: URL
    let path: String
    init() throws {
        dir = try CLIRunner.temporaryDirectory()
        path = dir.appendingPathComponent("sample.rdb").path
        try TinyRDB.sample().write(to: URL(fileURLWithPath: path))
    }

    func key(_ doc: [String: Any], db: Int, _ name: String) -> [String: Any]? {
        for d in doc["databases"] as? [[String: Any]] ?? [] where (d["db"] as? NSNumber)?.intValue == db {
            for k in d["keys"] as? [[String: Any]] ?? [] where k["key"] as? String == name { return k }
        }
        return nil
    }

    @Test("dump --format json: canonical values, sorted collections, file fields")
    func dumpJSON() throws {
        let r = try CLIRunner.run(["rdb", "dump", path])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        #expect(doc["format"] as? String == "rdb-corpus-expected/1")
        let file = try #require(doc["rdb_file"] as? [String: Any])
        #expect(file["magic"] as? String == "REDIS0011")
        #expect((file["rdb_version"] as? NSNumber)?.intValue == 11)
        let crc = TinyRDB.crc64(Array(TinyRDB.sample().bytes().dropLast(8)))
        #expect(file["checksum"] as? String == CanonicalJSONEncoder.hex16(crc))
        #expect((file["aux"] as? [[String]])?.first == ["redis-ver", "7.2.0"])

        #expect(key(doc, db: 0, "greeting")?["value"] as? String == "hello \"world\"\n")
        #expect((key(doc, db: 0, "ttl")?["expire_at_ms"] as? NSNumber)?.int64Value == 4102444800000)
        #expect(key(doc, db: 0, "greeting")?["expire_at_ms"] is NSNull)
        #expect(key(doc, db: 0, "set")?["value"] as? [String] == ["a", "b", "c"])
        let z = try #require(key(doc, db: 0, "zset")?["value"] as? [[Any]])
        #expect(z.map { $0[0] as? String } == ["m", "a", "z"])
        #expect(z[0][1] as? String == "-inf")
        #expect((z[1][1] as? NSNumber)?.doubleValue == .leastNonzeroMagnitude)
        let h = try #require(key(doc, db: 0, "hash")?["value"] as? [[Any]])
        #expect(h[0][0] as? String == "f1")
        #expect((h[0][1] as? [String: String])?["b64"] == "//4=")
        #expect(key(doc, db: 3, "other-db")?["value"] as? String == "one")
        // The binary key (invalid UTF-8) is {"b64": ...}.
        let keys0 = ((doc["databases"] as? [[String: Any]])?.first?["keys"] as? [[String: Any]]) ?? []
        #expect(keys0.contains { ($0["key"] as? [String: String])?["b64"] == "wyg=" })
        #expect(keys0.map { ($0["rdb"] as? [String: Any])?["file_order"] as? Int } == Array(0..<6))
    }

    @Test("dump --format jsonl: one key per line, then the file line")
    func dumpJSONL() throws {
        let r = try CLIRunner.run(["rdb", "dump", "--format", "jsonl", path])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 8)
        let objs = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        #expect(objs.prefix(7).allSatisfy { $0["db"] != nil && $0["key"] != nil && $0["value"] != nil })
        #expect(objs[0]["key"] as? String == "greeting")
        #expect((objs[6]["db"] as? NSNumber)?.intValue == 3)
        #expect((objs[7]["rdb_file"] as? [String: Any])?["magic"] as? String == "REDIS0011")
    }

    @Test("dump of a corrupt file: exit 1 with the error line")
    func dumpCorrupt() throws {
        let bytes = TinyRDB.sample().bytes()
        let bad = dir.appendingPathComponent("bad.rdb")
        try Data(bytes.prefix(bytes.count - 12)).write(to: bad)
        let r = try CLIRunner.run(["rdb", "dump", bad.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(bad.path): error at byte "), "\(r.stderr)")
    }

    @Test("dump rejects an unknown format")
    func dumpBadFormat() throws {
        let r = try CLIRunner.run(["rdb", "dump", "--format", "xml", path])
        #expect(r.status == 64)
        #expect(r.stderr.contains("'xml' is invalid for '--format"), "\(r.stderr)")
        #expect(r.stderr.contains("'json', 'jsonl', 'resp'"), "\(r.stderr)")
        #expect(r.stderr.contains("Usage: redis-replica rdb dump"), "\(r.stderr)")
    }

    @Test("info: header, aux, databases, types, encodings, largest keys")
    func infoText() throws {
        let r = try CLIRunner.run(["rdb", "info", "--top", "2", path])
        #expect(r.status == 0, "\(r.stderr)")
        let s = r.stdout
        #expect(s.contains("REDIS0011 (RDB version 11)"))
        #expect(s.contains("redis-ver = \"7.2.0\""))
        #expect(s.contains("db 0: 6 keys, 1 with expiry"))
        #expect(s.contains("db 3: 1 keys, 0 with expiry"))
        #expect(s.contains("ZSET_2"))
        #expect(s.contains("largest keys"))
        #expect(s.contains("   1.") && s.contains("   2.") && !s.contains("   3."))
    }

    @Test("info --json")
    func infoJSON() throws {
        let r = try CLIRunner.run(["rdb", "info", "--json", path])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        #expect((doc["keys"] as? NSNumber)?.intValue == 7)
        let types = try #require(doc["types"] as? [String: Int])
        #expect(types == ["string": 4, "set": 1, "zset": 1, "hash": 1])
        let enc = try #require(doc["encodings"] as? [[String: Any]])
        #expect(enc.map { $0["name"] as? String } == ["STRING", "SET", "HASH", "ZSET_2"])
        let largest = try #require(doc["largest_keys"] as? [[String: Any]])
        #expect(largest.count == 7)
        let sizes = largest.compactMap { ($0["bytes"] as? NSNumber)?.intValue }
        #expect(sizes == sizes.sorted(by: >))
        #expect(sizes.allSatisfy { $0 > 0 })
    }

    @Test("corpus: dump of every generated file parses and has the expected key count",
          .enabled(if: CLIRunner.corpusAvailable, "shared corpus absent: skipped"))
    func corpusDumps() throws {
        let generated = CLIRunner.corpusDirectory.appendingPathComponent("generated")
        var checked = 0
        defer { #expect(checked >= 4, "generated all-types-a.rdb files checked: \(checked)") }
        for rel in try FileManager.default.subpathsOfDirectory(atPath: generated.path) where rel.hasSuffix("all-types-a.rdb") {
            let rdb = generated.appendingPathComponent(rel)
            let expected = try JSONSerialization.jsonObject(
                with: Data(contentsOf: rdb.deletingPathExtension().appendingPathExtension("json"))) as? [String: Any]
            let want = (expected?["databases"] as? [[String: Any]] ?? []).reduce(0) { $0 + (($1["keys"] as? [Any])?.count ?? 0) }
            let r = try CLIRunner.run(["rdb", "dump", "--format", "jsonl", rdb.path])
            #expect(r.status == 0, "\(rel): \(r.stderr)")
            #expect(r.stdout.split(separator: "\n").count == want + 1, "\(rel)")
            let info = try CLIRunner.run(["rdb", "info", rdb.path])
            #expect(info.status == 0)
            #expect(info.stdout.contains("keys:       \(want)"), "\(rel): \(info.stdout)")
            checked += 1
        }
    }
}
