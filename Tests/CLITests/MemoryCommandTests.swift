import Foundation
import RDB
import Testing
import TestSupport

/// `rdb memory` against a real Redis 7.0's `MEMORY USAGE key SAMPLES 0` on the fixtures it loads.
@Suite("rdb memory (the built binary)", .serialized)
struct MemoryCommandTests {
    static var canRunServer: Bool {
        FileManager.default.isExecutableFile(atPath: RedisServerProcess.defaultBinaryPath) && CLIRunner.binary != nil
    }

    struct Row { var db: Int; var key: Bytes; var type: String; var bytes: Int }

    /// Parses `--format csv` rows (`db,"key",type,bytes`, quotes doubled inside the key).
    static func rows(_ data: Data) -> [Row] {
        var out: [Row] = []
        let bytes = Array(data)
        var i = bytes.firstIndex(of: 10).map { $0 + 1 } ?? bytes.count  // skip the header
        while i < bytes.count {
            var j = i
            while bytes[j] != UInt8(ascii: ",") { j += 1 }
            let db = Int(String(decoding: bytes[i..<j], as: UTF8.self))!
            j += 2  // ,"
            var key: Bytes = []
            while true {
                if bytes[j] == UInt8(ascii: "\"") {
                    if j + 1 < bytes.count && bytes[j + 1] == UInt8(ascii: "\"") { key.append(34); j += 2; continue }
                    j += 1
                    break
                }
                key.append(bytes[j]); j += 1
            }
            j += 1  // ,
            let end = bytes[j...].firstIndex(of: 10)!
            let rest = String(decoding: bytes[j..<end], as: UTF8.self).split(separator: ",")
            out.append(Row(db: db, key: key, type: String(rest[0]), bytes: Int(rest[1])!))
            i = end + 1
        }
        return out
    }

    @Test(.enabled(if: canRunServer, "needs Redis 7.0 (/usr/bin/redis-server) and the built binary"))
    func estimatesMatchMemoryUsage() throws {
        var errors: [Double] = []
        for folder in ["redis-6.2", "redis-7.0"] {
            for (rdb, _) in TestPaths.fixturePairs(server: folder) {
                let r = try CLIRunner.run(["rdb", "memory", rdb.path, "--by", "key", "--top", "0", "--format", "csv"])
                #expect(r.status == 0, "\(r.stderr)")
                let rows = Self.rows(r.stdoutData)
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mem-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: dir) }
                try FileManager.default.copyItem(at: rdb, to: dir.appendingPathComponent("dump.rdb"))
                let server = try RedisServerProcess(directory: dir)
                defer { server.stop() }
                let c = try server.client()
                for row in rows {
                    _ = try c.command(["SELECT", String(row.db)])
                    guard let actual = try c.command([Array("MEMORY".utf8), Array("USAGE".utf8), row.key, Array("SAMPLES".utf8), Array("0".utf8)]).integer,
                          actual > 0 else { continue }  // expired on load
                    let rel = abs(Double(row.bytes) - Double(actual)) / Double(actual)
                    errors.append(rel)
                    // Streams: Redis itself estimates its radix trees. Zsets: a skiplist's node levels are
                    // random (zslRandomLevel) while the estimate takes the expected level, so a large zset
                    // differs by a few percent from run to run (1122 against 1160 seen). The rest follows the
                    // allocator exactly.
                    let tolerance = row.type == "stream" ? 0.25 : row.type == "zset" ? 0.10 : 0.02
                    #expect(rel <= tolerance, "\(folder)/\(rdb.lastPathComponent) \(String(decoding: row.key, as: UTF8.self)) (\(row.type)): estimate \(row.bytes), MEMORY USAGE \(actual)")
                }
            }
        }
        #expect(errors.count > 500)
        let sorted = errors.sorted()
        #expect(sorted[sorted.count / 2] <= 0.01, "median relative error \(sorted[sorted.count / 2])")
    }

    @Test("--by type/db/prefix sums, json and csv; the sqlite keys table carries the same estimates")
    func groupingsAndSQLite() throws {
        let tmp = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let file = TestPaths.fixturesDirectory.appendingPathComponent("redis-7.0/all-types.rdb").path
        let all = Self.rows(try CLIRunner.run(["rdb", "memory", file, "--top", "0", "--format", "csv"]).stdoutData)
        #expect(all.count == 95)
        let total = all.reduce(0) { $0 + $1.bytes }
        for by in ["type", "db", "prefix"] {
            let r = try CLIRunner.run(["rdb", "memory", file, "--by", by, "--top", "0", "--format", "json"])
            #expect(r.status == 0, "\(r.stderr)")
            let doc = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
            let groups = try #require(doc["groups"] as? [[String: Any]])
            #expect(groups.reduce(0) { $0 + (($1["bytes"] as? NSNumber)?.intValue ?? 0) } == total, "\(by)")
            #expect(groups.reduce(0) { $0 + (($1["keys"] as? NSNumber)?.intValue ?? 0) } == 95, "\(by)")
            #expect((doc["bytes_total"] as? NSNumber)?.intValue == total)
        }
        let byType = try JSONSerialization.jsonObject(with: try CLIRunner.run(["rdb", "memory", file, "--by", "type", "--top", "0", "--format", "json"]).stdoutData) as? [String: Any]
        let hash = (byType?["groups"] as? [[String: Any]])?.first { $0["name"] as? String == "hash" }
        #expect((hash?["bytes"] as? NSNumber)?.intValue == all.filter { $0.type == "hash" }.reduce(0) { $0 + $1.bytes })
        // Top 3 are the three largest, largest first.
        let top = Self.rows(try CLIRunner.run(["rdb", "memory", file, "--top", "3", "--format", "csv"]).stdoutData)
        #expect(top.map(\.bytes) == Array(all.map(\.bytes).sorted(by: >).prefix(3)))
        // Filters apply.
        let strings = Self.rows(try CLIRunner.run(["rdb", "memory", file, "--top", "0", "--format", "csv", "--type", "string"]).stdoutData)
        #expect(!strings.isEmpty && strings.allSatisfy { $0.type == "string" })
        // rdb sqlite: keys.memory_bytes.
        let db = tmp.appendingPathComponent("x.sqlite").path
        let s = try CLIRunner.run(["rdb", "sqlite", file, db])
        #expect(s.status == 0, "\(s.stderr)")
        let q = Process()
        q.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") {
            q.arguments = [db, "SELECT sum(memory_bytes), count(*) FROM keys"]
            let pipe = Pipe()
            q.standardOutput = pipe
            try q.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            q.waitUntilExit()
            #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == "\(total)|95")
        }
    }

    @Test("a corrupt file: rdb check's error, exit 1")
    func corruptFile() throws {
        let tmp = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        var bytes = TinyRDB.sample().bytes()
        bytes.removeLast(25)
        let bad = tmp.appendingPathComponent("bad.rdb")
        try Data(bytes).write(to: bad)
        let check = try CLIRunner.run(["rdb", "check", bad.path])
        let r = try CLIRunner.run(["rdb", "memory", bad.path])
        #expect(r.status == 1)
        #expect(r.stderr == check.stderr)
    }
}
