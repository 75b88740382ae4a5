#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

/// Reads on `follow --port` (the built binary) against real masters: a seeded workload of every type runs on
/// the master through redis-py (tools/reads-diff.py), then the same seeded read commands run against the
/// master and against our port, in RESP2 and RESP3, and the replies must be equal (random replies checked
/// for shape and membership, SCAN iterations compared as sets). Also redis-cli against the port.
@Suite("reads on follow --port", .serialized)
struct ServeReadsTests {
    static let pythonRedis: Bool = (try? runTool("/usr/bin/env", ["python3", "-c", "import redis"]).status) == 0
    static let script = TestPaths.packageRoot.appendingPathComponent("tools/reads-diff.py").path

    /// Runs a tool to completion; returns its exit status and combined output.
    static func runTool(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let tmp = try TestPaths.makeTemporaryDirectory(prefix: "reads-tool")
        defer { tmp.remove() }
        let out = tmp.file("out.txt")
        let p = try ChildProcess.start(executable, arguments, outputPath: out)
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }

    /// A master, a follower serving reads on a free port, the seeded workload, and the comparison.
    func differential(masterBinary: String?, version: Int, seed: Int, arrays: Bool = false) throws {
        let master = try RedisServerProcess(binary: masterBinary)
        defer { master.stop() }
        let (follower, servePort, tmp) = try Follower.startServing(master)
        defer { follower.stop(); tmp.remove() }
        try follower.waitCaughtUp()
        let work = try Self.runTool("/usr/bin/env", ["python3", Self.script, "workload", "--master", String(master.port), "--seed", String(seed)]
                                    + (arrays ? ["--arrays"] : []))
        try #require(work.status == 0, "workload seed \(seed): \(work.output)")
        try follower.waitCaughtUp()
        let ours = try RedisClient(port: servePort)
        defer { ours.close() }
        try waitUntil(60, "our dataset to hold the workload's last write (log: \(follower.logURL.path))") {
            try ours.call("GET", "reads:done").string == String(seed)
        }
        for resp in [2, 3] {
            let r = try Self.runTool("/usr/bin/env", ["python3", Self.script, "compare", "--master", String(master.port),
                                                      "--replica", String(servePort), "--seed", String(seed),
                                                      "--resp", String(resp), "--master-version", String(version)]
                                        + (arrays ? ["--arrays"] : []))
            #expect(r.status == 0, "reads differ from the \(version).x master, seed \(seed), RESP\(resp) (rerun: tools/reads-diff.py compare --seed \(seed)):\n\(r.output.suffix(6000))\nfollow's log ends:\n\(((try? String(contentsOf: follower.logURL, encoding: .utf8)) ?? "(unreadable)").suffix(4000))")
        }
    }

    @Test(.enabled(if: pythonRedis, "skipping: python3 with redis-py is not installed"))
    func differentialAgainstRedis70() throws {
        try differential(masterBinary: nil, version: 7, seed: 31)
    }

    @Test(.enabled(if: pythonRedis && RedisServerProcess.redis82BinaryPath != nil,
                   "skipping: needs python3 with redis-py and a Redis 8.2 binary"))
    func differentialAgainstRedis82() throws {
        try differential(masterBinary: RedisServerProcess.redis82BinaryPath, version: 8, seed: 41)
    }

    /// Redis 8.10 (RDB 15): XINFO STREAM adds 8.6's idempotent-producer fields, which we answer from the
    /// dataset when the master's full sync is RDB 13 or later; and arrays (ARGET, ARMGET, ARLEN, ARCOUNT, ARNEXT,
    /// ARGETRANGE, ARSCAN, TYPE, DUMP).
    @Test(.enabled(if: pythonRedis && RedisServerProcess.redis810BinaryPath != nil,
                   "skipping: needs python3 with redis-py and a Redis 8.10 binary (REDIS_810_SERVER_BIN)"))
    func differentialAgainstRedis810() throws {
        try differential(masterBinary: RedisServerProcess.redis810BinaryPath, version: 8, seed: 81, arrays: true)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-cli"), "skipping: no /usr/bin/redis-cli"))
    func redisCLIWorksAgainstThePort() throws {
        let master = try RedisServerProcess()
        defer { master.stop() }
        let c = try master.client()
        try c.call("SET", "k", "hello from the master")
        try c.call("RPUSH", "l", "a", "b")
        try c.call("HSET", "h", "f", "v")
        c.close()
        let (follower, servePort, tmp) = try Follower.startServing(master)
        defer { follower.stop(); tmp.remove() }
        try follower.waitCaughtUp()
        var got = ""
        try waitUntil(30, "redis-cli to read k from our port") {
            got = try Self.runTool("/usr/bin/redis-cli", ["-p", String(servePort), "get", "k"]).output
            return got == "hello from the master\n"
        }
        #expect(try Self.runTool("/usr/bin/redis-cli", ["-p", String(servePort), "lrange", "l", "0", "-1"]).output == "a\nb\n")
        #expect(try Self.runTool("/usr/bin/redis-cli", ["-p", String(servePort), "set", "k", "v"]).output
                .contains("READONLY You can't write against a read only replica."))
        #expect(try Self.runTool("/usr/bin/redis-cli", ["-3", "-p", String(servePort), "hgetall", "h"]).output == "f v\n")
    }

    /// XREAD BLOCK on our port, as on a Redis replica: a blocked reader is answered when the master's XADD
    /// reaches our dataset (only that stream, as Redis 7.0 answers a blocked XREAD), a timeout answers a null
    /// array, and a command pipelined behind a blocked XREAD waits for it.
    @Test func xreadBlockWakesOnTheMastersWrites() throws {
        let master = try RedisServerProcess()
        defer { master.stop() }
        let m = try master.client()
        defer { m.close() }
        try m.call("XADD", "s", "1-1", "f", "old")
        let (follower, servePort, tmp) = try Follower.startServing(master)
        defer { follower.stop(); tmp.remove() }
        try follower.waitCaughtUp()
        let ours = try RedisClient(port: servePort, timeout: 20)
        defer { ours.close() }
        try waitUntil(30, "our dataset to hold the stream") { try ours.command("XLEN", "s") == .integer(1) }

        // Data already there: answered at once, BLOCK or not.
        #expect(try ours.call("XREAD", "BLOCK", "0", "STREAMS", "s", "0").description.contains("old"))
        // Errors as Redis words them.
        #expect(try ours.command("XREAD", "BLOCK", "x", "STREAMS", "s", "$") == .error("ERR timeout is not an integer or out of range"))
        #expect(try ours.command("XREAD", "BLOCK", "-1", "STREAMS", "s", "$") == .error("ERR timeout is negative"))

        // Blocked on `$` of two streams: the master's XADD to the second wakes it with that stream only.
        try ours.send(["XREAD", "BLOCK", "0", "STREAMS", "other", "s", "$", "$"].map { Array($0.utf8) })
        Thread.sleep(forTimeInterval: 0.3)
        let watcher = try RedisClient(port: servePort)
        defer { watcher.close() }
        #expect(try watcher.info("clients")["blocked_clients"] == "1")
        try m.call("XADD", "s", "2-1", "f", "new")
        let woke = try ours.readReply()
        #expect(woke == .array([.array([.bulk(Array("s".utf8)), .array([.array([.bulk(Array("2-1".utf8)),
                                                                              .array([.bulk(Array("f".utf8)), .bulk(Array("new".utf8))])])])])]))
        #expect(try watcher.info("clients")["blocked_clients"] == "0")

        // A timeout answers a null array; the PING sent behind it waits, then is answered.
        let start = Date()
        try ours.sendRaw(RedisClient.encode(["XREAD", "BLOCK", "200", "STREAMS", "s", "$"].map { Array($0.utf8) })
                         + RedisClient.encode([Array("PING".utf8)]))
        #expect(try ours.readReply() == .array(nil))
        #expect(Date().timeIntervalSince(start) >= 0.2)
        #expect(try ours.readReply() == .simple("PONG"))
    }
}

