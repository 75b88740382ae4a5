import Foundation
import RDB
import Testing

/// The one set of key filters (`--db`, `--key-pattern`, `--type`, `--expired/--not-expired`, `--now`,
/// `--min-size`) on every `rdb` command that reads keys, run through the built binary.
@Suite("rdb key filters on every command (the built binary)", .serialized)
struct FilterCommandTests {
    let dir: URL
    let path: String
    /// The file's ctime AUX field: 2023-11-14T22:13:20Z.
    static let ctimeSeconds: Int64 = 1_700_000_000

    init() throws {
        dir = try CLIRunner.temporaryDirectory()
        path = dir.appendingPathComponent("filters.rdb").path
        try Self.sample().write(to: URL(fileURLWithPath: path))
    }

    /// db 0: user:1 (no TTL), user:2 (300-byte value, expired at ctime), session:1 (hash, TTL in 2100);
    /// db 1: user:3 (set), temp (expired at ctime, live at 1.62e12 ms).
    static func sample() -> TinyRDB {
        var t = TinyRDB()
        t.aux.append(("ctime", "\(ctimeSeconds)"))
        t.add("user:1", .string(Array("a".utf8)))
        t.add("user:2", .string(Array(repeating: UInt8(ascii: "x"), count: 300)), expireAtMs: 1_600_000_000_000)
        t.add("session:1", .hash([(Array("f".utf8), Array("v".utf8))]), expireAtMs: 4_102_444_800_000)
        t.add("user:3", .set([Array("m".utf8)]), db: 1)
        t.add("temp", .string(Array("t".utf8)), db: 1, expireAtMs: 1_650_000_000_000)
        return t
    }

    static let all: Set<String> = ["0/user:1", "0/user:2", "0/session:1", "1/user:3", "1/temp"]

    /// (filter arguments, the db/key pairs they keep)
    static let cases: [([String], Set<String>)] = [
        ([], all),
        (["--db", "1"], ["1/user:3", "1/temp"]),
        (["--db", "0,1"], all),
        (["--db", "0", "--db", "7"], ["0/user:1", "0/user:2", "0/session:1"]),
        (["--key-pattern", "user:*"], ["0/user:1", "0/user:2", "1/user:3"]),
        (["--key-pattern", "user:[^1]"], ["0/user:2", "1/user:3"]),
        (["--type", "string"], ["0/user:1", "0/user:2", "1/temp"]),
        (["--type", "hash,set"], ["0/session:1", "1/user:3"]),
        (["--expired"], ["0/user:2", "1/temp"]),
        (["--not-expired"], ["0/user:1", "0/session:1", "1/user:3"]),
        (["--expired", "--now", "1620000000000"], ["0/user:2"]),
        (["--not-expired", "--now", "1620000000000"], ["0/user:1", "0/session:1", "1/user:3", "1/temp"]),
        (["--min-size", "200"], ["0/user:2"]),
        (["--min-size", "1k"], []),
        (["--db", "0", "--key-pattern", "user:*", "--not-expired"], ["0/user:1"]),
    ]

    /// db/key pairs of a `rdb dump --format jsonl` output.
    static func keys(ofJSONL text: String) throws -> Set<String> {
        var out: Set<String> = []
        for line in text.split(separator: "\n") {
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let key = obj["key"] as? String, let db = (obj["db"] as? NSNumber)?.intValue else { continue }
            out.insert("\(db)/\(key)")
        }
        return out
    }

    @Test("dump --format jsonl and json keep exactly the filtered keys")
    func dump() throws {
        for (args, expected) in Self.cases {
            let r = try CLIRunner.run(["rdb", "dump", "--format", "jsonl", path] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(try Self.keys(ofJSONL: r.stdout) == expected, "\(args)")

            let j = try CLIRunner.run(["rdb", "dump", path] + args)
            #expect(j.status == 0, "\(args): \(j.stderr)")
            let doc = try #require(try JSONSerialization.jsonObject(with: j.stdoutData) as? [String: Any])
            var got: Set<String> = []
            for d in doc["databases"] as? [[String: Any]] ?? [] {
                let db = (d["db"] as? NSNumber)?.intValue ?? -1
                for k in d["keys"] as? [[String: Any]] ?? [] { got.insert("\(db)/\(k["key"] as? String ?? "?")") }
            }
            #expect(got == expected, "json \(args)")
        }
    }

    @Test("convert writes exactly the filtered keys (read back with dump)")
    func convert() throws {
        for (i, (args, expected)) in Self.cases.enumerated() {
            let out = dir.appendingPathComponent("convert-\(i).rdb").path
            let r = try CLIRunner.run(["rdb", "convert", path, out, "--quiet"] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            let d = try CLIRunner.run(["rdb", "dump", "--format", "jsonl", out])
            #expect(d.status == 0, "\(args): \(d.stderr)")
            #expect(try Self.keys(ofJSONL: d.stdout) == expected, "\(args)")
        }
    }

    @Test("info counts only the filtered keys")
    func info() throws {
        for (args, expected) in Self.cases {
            let r = try CLIRunner.run(["rdb", "info", "--json", path] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            let doc = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
            let dbs = doc["databases"] as? [[String: Any]] ?? []
            let total = dbs.reduce(0) { $0 + (($1["keys"] as? NSNumber)?.intValue ?? 0) }
            #expect(total == expected.count, "\(args)")
        }
    }

    static let sqlite3 = "/usr/bin/sqlite3"

    @Test("sqlite exports exactly the filtered keys", .enabled(if: FileManager.default.isExecutableFile(atPath: sqlite3),
                                                               "needs \(sqlite3) to read the output back"))
    func sqlite() throws {
        for (i, (args, expected)) in Self.cases.enumerated() {
            let out = dir.appendingPathComponent("export-\(i).db").path
            let r = try CLIRunner.run(["rdb", "sqlite", path, out, "--summary", "--no-progress"] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(r.stdout.contains(": \(expected.count) of 5 keys"), "\(args): \(r.stdout)")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.sqlite3)
            p.arguments = [out, "SELECT db || '/' || CAST(key AS TEXT) FROM keys"]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let got = Set(String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init))
            #expect(got == expected, "\(args)")
        }
    }

    @Test("one validation: bad filter values are usage errors (status 64) that print the subcommand's usage")
    func usageErrors() throws {
        let bad: [[String]] = [
            ["--db", "-1"], ["--db", "x"], ["--type", "strin"], ["--now", "1700000000", "--expired"],
            ["--now", "1700000000000"], ["--expired", "--not-expired"], ["--min-size", "12q"],
        ]
        for command in ["dump", "info", "sqlite", "convert"] {
            let extra = command == "sqlite" || command == "convert" ? [dir.appendingPathComponent("never-\(command)").path] : []
            for args in bad {
                let r = try CLIRunner.run(["rdb", command, path] + extra + args)
                #expect(r.status == 64, "\(command) \(args): \(r.status) \(r.stderr)")
                #expect(r.stderr.contains("Usage: redis-replica rdb \(command)"), "\(command) \(args): \(r.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: extra.first ?? "/nonexistent"))
        }
        let seconds = try CLIRunner.run(["rdb", "dump", path, "--expired", "--now", "1700000000"])
        #expect(seconds.stderr.contains("looks like seconds"))
    }

    @Test("--allow-pre-release-functions on every command that reads")
    func preReleaseFunctions() throws {
        var t = TinyRDB()
        t.version = 10
        // Opcode 246 (RDB_OPCODE_FUNCTION_PRE_GA): library name, engine, no description, code.
        t.recordsBeforeKeys = [246] + TinyRDB.string("mylib") + TinyRDB.string("LUA") + TinyRDB.length(0)
            + TinyRDB.string("#!lua name=mylib\nredis.register_function('f', function() return 1 end)")
        t.add("k", .string(Array("v".utf8)))
        let file = dir.appendingPathComponent("prerelease.rdb").path
        try t.write(to: URL(fileURLWithPath: file))
        let commands: [[String]] = [
            ["check", file], ["info", file], ["dump", file],
            ["convert", file, dir.appendingPathComponent("pre-out.rdb").path],
            ["sqlite", file, dir.appendingPathComponent("pre-out.db").path, "--no-progress"],
        ]
        for c in commands {
            let refused = try CLIRunner.run(["rdb"] + c)
            #expect(refused.status == 1, "\(c): \(refused.stderr)")
            #expect(refused.stderr.contains("--allow-pre-release-functions"), "\(c): \(refused.stderr)")
            let allowed = try CLIRunner.run(["rdb"] + c + ["--allow-pre-release-functions"])
            #expect(allowed.status == 0, "\(c): \(allowed.stderr)")
        }
        let dump = try CLIRunner.run(["rdb", "dump", file, "--allow-pre-release-functions"])
        #expect(dump.stdout.contains("register_function"))
    }
}
