import Foundation
import RDB
import Testing
import TestSupport

/// `rdb dump --format resp|restore`, proved against real servers: the output piped into an empty server with
/// `redis-cli --pipe` gives the same DEBUG DIGEST as the server loading the file, and the same stream groups,
/// consumers and pending entries (DEBUG DIGEST covers stream entries only: Redis `debug.c` xorObjectDigest).
@Suite("rdb dump --format resp/restore (real servers)", .serialized)
struct DumpRESPCommandTests {
    static let redisCLI = "/usr/bin/redis-cli"

    /// (server binary, its RDB version, fixture folders it loads).
    static var servers: [(String, Int, [String])] {
        var s: [(String, Int, [String])] = []
        if let b = RedisServerProcess.redis62BinaryPath { s.append((b, 9, ["redis-6.2"])) }
        if FileManager.default.isExecutableFile(atPath: RedisServerProcess.defaultBinaryPath) {
            s.append((RedisServerProcess.defaultBinaryPath, 10, ["redis-6.2", "redis-7.0"]))
        }
        if let b = RedisServerProcess.redis82BinaryPath { s.append((b, 12, ["redis-6.2", "redis-7.0", "redis-8.2"])) }
        // Optional versions (tools/install-deps, when it could install them): each loads its own files.
        if let b = RedisServerProcess.redis72BinaryPath { s.append((b, 11, ["redis-7.2", "valkey-8.1"])) }
        if let b = RedisServerProcess.redis74BinaryPath { s.append((b, 12, ["redis-7.4"])) }
        if let b = RedisServerProcess.valkey81BinaryPath { s.append((b, 11, ["valkey-8.1", "redis-7.2"])) }
        if let b = RedisServerProcess.redis810BinaryPath { s.append((b, 15, ["redis-8.10", "redis-8.2"])) }
        return s
    }

    static var canRun: Bool {
        FileManager.default.isExecutableFile(atPath: redisCLI) && !servers.isEmpty && CLIRunner.binary != nil
    }

    static func startServer(_ binary: String, rdb: URL?) throws -> RedisServerProcess {
        let is62 = binary == RedisServerProcess.redis62BinaryPath
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("resp-proof-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if let rdb { try FileManager.default.copyItem(at: rdb, to: dir.appendingPathComponent("dump.rdb")) }
        return try RedisServerProcess(binary: binary, directory: dir,
                                      extraArguments: is62 ? [] : ["--enable-debug-command", "yes"])
    }

    /// `redis-cli -p PORT --pipe < file`; returns its output (which ends with "errors: N, replies: M").
    static func pipe(_ file: URL, port: UInt16) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: redisCLI)
        p.arguments = ["-h", "127.0.0.1", "-p", String(port), "--pipe"]
        p.standardInput = try FileHandle(forReadingFrom: file)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Every stream's XINFO STREAM FULL, per db, without consumer seen/active times (XCLAIM sets them to now).
    static func streamState(_ client: RedisClient) throws -> [String] {
        var out: [String] = []
        for db in 0..<16 {
            _ = try client.command(["SELECT", String(db)])
            let keys = (try client.command(["KEYS", "*"]).array ?? []).compactMap(\.bytes).sorted { $0.lexicographicallyPrecedes($1) }
            for k in keys where try client.command([Array("TYPE".utf8), k]) == .simple("stream") {
                let full = try client.command([Array("XINFO".utf8), Array("STREAM".utf8), k, Array("FULL".utf8)])
                out.append("db\(db) \(String(decoding: k, as: UTF8.self)): \(strip(full))")
            }
        }
        return out
    }

    /// Commands cannot rebuild a pending entry whose message was deleted (XCLAIM drops it, as it does for
    /// Redis's own AOF rewrite): remove those from the loaded server too (XACK) before comparing.
    static func ackDeletedPending(_ client: RedisClient) throws {
        for db in 0..<16 {
            _ = try client.command(["SELECT", String(db)])
            for k in (try client.command(["KEYS", "*"]).array ?? []).compactMap(\.bytes)
            where try client.command([Array("TYPE".utf8), k]) == .simple("stream") {
                let groups = try client.command([Array("XINFO".utf8), Array("GROUPS".utf8), k]).array ?? []
                for g in groups {
                    guard let fields = g.array, let i = fields.firstIndex(where: { $0.string == "name" }),
                          let name = fields[i + 1].bytes else { continue }
                    let pending = try client.command([Array("XPENDING".utf8), k, name, Array("-".utf8), Array("+".utf8),
                                                      Array("1000000".utf8)]).array ?? []
                    for p in pending {
                        guard let id = p.array?.first?.bytes else { continue }
                        if (try client.command([Array("XRANGE".utf8), k, id, id]).array ?? []).isEmpty {
                            _ = try client.command([Array("XACK".utf8), k, name, id])
                        }
                    }
                }
            }
        }
        _ = try client.command(["SELECT", "0"])
    }

    static func strip(_ r: RedisReply) -> String {
        guard case .array(let items?) = r else { return r.description }
        var parts: [String] = []
        var i = 0
        while i < items.count {
            // Redis 7 loading an empty type-15 stream records its first ID as the edge ID max-max; a replayed
            // empty stream says 0-0. Both mean "no first entry".
            if items[i].string == "recorded-first-entry-id", i + 1 < items.count,
               items[i + 1].string == "18446744073709551615-18446744073709551615" {
                parts.append("\"recorded-first-entry-id\"")
                parts.append("\"0-0\"")
                i += 2
                continue
            }
            if let s = items[i].string, ["seen-time", "active-time", "radix-tree-keys", "radix-tree-nodes"].contains(s), i + 1 < items.count {
                i += 2
                continue
            }
            parts.append(strip(items[i]))
            i += 1
        }
        return "[" + parts.joined(separator: ",") + "]"
    }

    @Test(.enabled(if: canRun, "needs redis-cli, a redis-server and the built binary"), arguments: ["resp", "restore"])
    func fixturesRebuildTheSameDataset(format: String) throws {
        let tmp = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        var checked = 0
        var streamsCompared = 0
        for (binary, version, folders) in Self.servers {
            for folder in folders {
                for (rdb, _) in TestPaths.fixturePairs(server: folder) {
                    let name = "\(folder)/\(rdb.lastPathComponent) on RDB \(version) (\(format))"
                    let commands = tmp.appendingPathComponent("out.resp")
                    try? FileManager.default.removeItem(at: commands)
                    let r = try CLIRunner.run(["rdb", "dump", rdb.path, "--format", format, "--rdb-version", String(version),
                                               "-o", commands.path])
                    #expect(r.status == 0, "\(name): \(r.stderr)")
                    let loaded = try Self.startServer(binary, rdb: rdb)
                    defer { loaded.stop() }
                    let replayed = try Self.startServer(binary, rdb: nil)
                    defer { replayed.stop() }
                    let piped = try Self.pipe(commands, port: replayed.port)
                    #expect(piped.contains("errors: 0,"), "\(name): \(piped)")
                    let a = try loaded.client(), b = try replayed.client()
                    let da = try a.command(["DEBUG", "DIGEST"]), db = try b.command(["DEBUG", "DIGEST"])
                    #expect(da == db, "\(name): digest \(da) loaded vs \(db) replayed")
                    #expect(try a.command(["DBSIZE"]) == b.command(["DBSIZE"]), "\(name)")
                    if format == "resp" { try Self.ackDeletedPending(a) }
                    let sa = try Self.streamState(a), sb = try Self.streamState(b)
                    #expect(sa == sb, "\(name): streams differ\n loaded:   \(sa)\n replayed: \(sb)")
                    streamsCompared += sa.count
                    if version >= 10 {
                        // Libraries by name and code (the order of functions inside a library is a dict's order).
                        func libraries(_ c: RedisClient) throws -> [String] {
                            (try c.command(["FUNCTION", "LIST", "WITHCODE"]).array ?? []).map { lib -> String in
                                let f = lib.array ?? []
                                func value(_ name: String) -> String {
                                    f.firstIndex { $0.string == name }.map { f[$0 + 1].description } ?? "-"
                                }
                                return value("library_name") + ":" + value("library_code")
                            }.sorted()
                        }
                        let fa = try libraries(a), fb = try libraries(b)
                        if folder == "redis-7.0" && rdb.lastPathComponent == "all-types.rdb" { #expect(!fa.isEmpty, "\(name): no functions") }
                        #expect(fa == fb, "\(name): functions \(fa ?? []) vs \(fb ?? [])")
                    }
                    checked += 1
                }
            }
        }
        #expect(checked > 0)
        #expect(streamsCompared > 0, "no fixture has a stream: the group/PEL comparison checked nothing")
    }

    @Test("a corrupt file: the rdb check error, exit 1, nothing under the output name")
    func corruptInputLeavesNoOutput() throws {
        let tmp = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        var bytes = TinyRDB.sample().bytes()
        bytes.removeLast(20)
        let bad = tmp.appendingPathComponent("bad.rdb")
        try Data(bytes).write(to: bad)
        let check = try CLIRunner.run(["rdb", "check", bad.path])
        #expect(check.status != 0)
        for format in ["resp", "restore", "jsonl"] {
            let out = tmp.appendingPathComponent("out.\(format)")
            let r = try CLIRunner.run(["rdb", "dump", bad.path, "--format", format, "-o", out.path])
            #expect(r.status == 1)
            let firstLine = check.stderr.split(separator: "\n").first.map(String.init) ?? "?"
            #expect(r.stderr.contains(firstLine), "dump said \(r.stderr), check said \(check.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.path))
            #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.contains(".tmp-") }.isEmpty)
        }
    }

    @Test("an existing output is refused without --force, replaced with it")
    func existingOutputNeedsForce() throws {
        let tmp = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let input = tmp.appendingPathComponent("in.rdb")
        try TinyRDB.sample().write(to: input)
        let out = tmp.appendingPathComponent("out.resp")
        try Data("keep".utf8).write(to: out)
        let refused = try CLIRunner.run(["rdb", "dump", input.path, "--format", "resp", "-o", out.path])
        #expect(refused.status != 0 && refused.stderr.contains("--force"))
        #expect(try Data(contentsOf: out) == Data("keep".utf8))
        let forced = try CLIRunner.run(["rdb", "dump", input.path, "--format", "resp", "-o", out.path, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try Data(contentsOf: out).starts(with: Data("*2\r\n$6\r\nSELECT\r\n".utf8)))
    }
}
