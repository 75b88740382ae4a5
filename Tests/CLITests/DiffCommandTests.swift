import Foundation
import RDB
import Testing
import TestSupport

@Suite("rdb diff (the built binary)", .serialized)
struct DiffCommandTests {
    static let fixtures = TestPaths.fixturesDirectory

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    @Test("a file equals itself; converted copies (other versions, encodings, no compression) equal the original")
    func convertedFilesCompareEqual() throws {
        let tmp = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        // (source, versions that hold everything it has)
        let cases: [(String, [Int])] = [
            ("redis-6.2/all-types.rdb", [9, 10, 11, 12]),
            ("redis-7.0/all-types.rdb", [10, 11, 12]),
            ("redis-8.2/all-types.rdb", [12]),
            ("redis-8.2/hash-ttl.rdb", [12]),
        ]
        var compared = 0
        for (source, versions) in cases {
            let a = Self.fixture(source)
            let same = try CLIRunner.run(["rdb", "diff", a, a])
            #expect(same.status == 0 && same.stdout.hasPrefix("equal: "), "\(source): \(same.stdout)\(same.stderr)")
            for v in versions {
                for extra in [[], ["--no-compress"]] {
                    let out = tmp.appendingPathComponent("c.rdb").path
                    try? FileManager.default.removeItem(atPath: out)
                    let conv = try CLIRunner.run(["rdb", "convert", a, out, "--rdb-version", String(v), "--quiet"] + extra)
                    #expect(conv.status == 0, "\(conv.stderr)")
                    let r = try CLIRunner.run(["rdb", "diff", a, out])
                    #expect(r.status == 0, "\(source) -> RDB \(v) \(extra): \(r.stdout)")
                    compared += 1
                }
            }
        }
        #expect(compared == 18)
    }

    @Test("edited files differ: value, TTL, type, missing and extra keys, each reported once; --json; exit 1")
    func editedFilesDiffer() throws {
        let tmp = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        var a = TinyRDB()
        a.add("same", .string(Array("v".utf8)))
        a.add("value", .set([Array("a".utf8), Array("b".utf8)]))
        a.add("ttl", .string(Array("x".utf8)), expireAtMs: 4_102_444_800_000)
        a.add("type", .string(Array("1".utf8)))
        a.add("gone", .string(Array("g".utf8)), db: 2)
        a.add("order", .hash([(Array("f1".utf8), Array("1".utf8)), (Array("f2".utf8), Array("2".utf8))]))
        var b = TinyRDB()
        b.add("order", .hash([(Array("f2".utf8), Array("2".utf8)), (Array("f1".utf8), Array("1".utf8))]))  // same content
        b.add("same", .string(Array("v".utf8)))
        b.add("value", .set([Array("a".utf8), Array("c".utf8)]))
        b.add("ttl", .string(Array("x".utf8)), expireAtMs: 4_102_444_800_001)
        b.add("type", .set([Array("1".utf8)]))
        b.add("new", .string(Array("n".utf8)), db: 1)
        let pa = tmp.appendingPathComponent("a.rdb"), pb = tmp.appendingPathComponent("b.rdb")
        try a.write(to: pa)
        try b.write(to: pb)
        let r = try CLIRunner.run(["rdb", "diff", pa.path, pb.path])
        #expect(r.status == 1, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines == [
            "~ db0 \"value\": value differ",
            "~ db0 \"ttl\": ttl differ (ttl 4102444800000 -> 4102444800001)",
            "~ db0 \"type\": type, value differ (type string -> set)",
            "+ db1 \"new\" (string) only in B",
            "- db2 \"gone\" (string) only in A",
            "different: 6 keys in A, 6 keys in B, 5 difference(s)",
        ], "\(lines)")
        let j = try CLIRunner.run(["rdb", "diff", "--json", pa.path, pb.path])
        #expect(j.status == 1)
        let objects = try j.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(objects.count == 6)
        #expect(objects.compactMap { $0["kind"] as? String } == ["changed", "changed", "changed", "only_in_b", "only_in_a"])
        #expect(objects[2]["differ"] as? [String] == ["type", "value"])
        #expect((objects[1]["expire_at_ms_b"] as? NSNumber)?.int64Value == 4_102_444_800_001)
        #expect(objects.last?["equal"] as? Bool == false)
        // Filters apply to both sides.
        let filtered = try CLIRunner.run(["rdb", "diff", "--key-pattern", "s*", pa.path, pb.path])
        #expect(filtered.status == 0, "\(filtered.stdout)")
    }

    @Test("a bad file: rdb check's error on stderr, exit 2")
    func badFileExitsTwo() throws {
        let tmp = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        var bytes = TinyRDB.sample().bytes()
        bytes[bytes.count - 30] ^= 0xff
        let bad = tmp.appendingPathComponent("bad.rdb")
        try Data(bytes).write(to: bad)
        let check = try CLIRunner.run(["rdb", "check", bad.path])
        #expect(check.status == 1)
        for (x, y) in [(bad.path, Self.fixture("redis-7.0/all-types.rdb")), (Self.fixture("redis-7.0/all-types.rdb"), bad.path)] {
            let r = try CLIRunner.run(["rdb", "diff", x, y])
            #expect(r.status == 2)
            #expect(r.stderr == check.stderr, "diff: \(r.stderr) check: \(check.stderr)")
        }
    }
}
