#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

/// `redis-replica follow` (the built binary) against real redis-server 7.0 processes on free loopback ports.
@Suite("follow against redis-server", .serialized)
struct FollowIntegrationTests {
    static func loadSmallDataset(_ server: RedisServerProcess) throws {
        let c = try server.client()
        defer { c.close() }
        for db in 0..<3 {
            try c.call("SELECT", String(db))
            for i in 0..<200 { try c.call("SET", "k\(i)", "v\(i)-\(db)") }
            try c.call("RPUSH", "list", "a", "b", "c")
            try c.call("HSET", "hash", "f1", "1", "f2", "2")
            try c.call("ZADD", "zset", "1.5", "m1", "2", "m2")
            try c.call("SADD", "set", "x", "y", "z")
            try c.call("SET", "bin", String(decoding: [0, 1, 2, 13, 10, 255], as: UTF8.self))
        }
    }

    @Test("full sync from a disk-based and a diskless master, then streaming; offsets match the master", arguments: ["no", "yes"])
    func fullSync(diskless: String) throws {
        let master = try RedisServerProcess(extraArguments: ["--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0",
                                                             "--enable-debug-command", "yes"])
        try Self.loadSmallDataset(master)
        let quiet = try QuietDataset.of(master)
        #expect(quiet.keys == 3 * 205)
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17001)
        try follower.start()
        defer { follower.stop() }
        let c = try master.client()
        try follower.waitCaughtUp()
        try c.call("SELECT", "2")
        try c.call("SET", "after", "sync")
        try c.call("MULTI"); try c.call("INCR", "n"); try c.call("SELECT", "1"); try c.call("EXEC")
        let offset = try follower.waitCaughtUp()
        #expect(follower.stop() == 0)
        let state = try StoredState.read(follower.dir)
        let replid = try master.replicationInfo()["master_replid"]
        #expect(state.position?.replid == replid)
        #expect(state.isAt(caughtUp: offset), "stored \(String(describing: state.position)), caught up at \(offset)")
        #expect(state.position?.streamDB == 2)
        #expect((state.snapshotSize ?? 0) > 1000)
        #expect(try master.stat("sync_full") == 1)
        #expect(follower.log.contains(diskless == "yes" ? "diskless, EOF mark" : "disk-based"))
        #expect(follower.log.contains("REPL_STATE TRANSFER -> CONNECTED"))
        #expect(follower.log.contains("RDB verified"))
        // No write ran between loading the dataset and the full sync.
        let problems = try quiet.expectStored(in: follower.dir)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("a >= 100 MB dataset syncs (diskless, uncompressed RDB)")
    func bigDataset() throws {
        let master = try RedisServerProcess(extraArguments: [
            "--enable-debug-command", "yes", "--rdbcompression", "no",
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
        ])
        let c = try master.client(timeout: 120)
        try c.call("DEBUG", "POPULATE", "1000000", "key", "100")
        let quiet = try QuietDataset.of(master)
        #expect(quiet.keys == 1_000_000)
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17002)
        try follower.start()
        defer { follower.stop() }
        let offset = try follower.waitCaughtUp(timeout: 180)
        #expect(follower.stop() == 0)
        let state = try StoredState.read(follower.dir)
        #expect((state.snapshotSize ?? 0) >= 100_000_000)
        #expect(state.isAt(caughtUp: offset), "stored \(String(describing: state.position)), caught up at \(offset)")
        #expect(follower.log.contains("1000000 keys"))
        let problems = try quiet.expectStored(in: follower.dir)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("graceful restart under write load resumes with +CONTINUE (sync_partial_ok +1, sync_full unchanged)")
    func gracefulRestart() throws {
        let master = try RedisServerProcess(extraArguments: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"])
        try Self.loadSmallDataset(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17003)
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        let writer = try BackgroundWriter(port: master.port, seed: 42)
        try writer.waitForMore(500)
        let fullBefore = try master.stat("sync_full")
        let partialBefore = try master.stat("sync_partial_ok")
        #expect(follower.stop() == 0)
        #expect(follower.log.contains("Log synced at offset"))
        try writer.waitForMore(200)   // written while the replica is down
        try follower.start()
        try waitUntil(20, "sync_partial_ok to increase") { try master.stat("sync_partial_ok") == partialBefore + 1 }
        try writer.waitForMore(500)   // streamed after the resume
        try writer.stop()
        let offset = try follower.waitCaughtUp()
        #expect(try master.stat("sync_full") == fullBefore)
        #expect(follower.stop() == 0)
        #expect(try StoredState.read(follower.dir).isAt(caughtUp: offset))
    }

    @Test("kill -9 at seeded random moments during a write stream: every restart is partial; the log equals the master's stream")
    func killNineLoop() throws {
        let master = try RedisServerProcess(extraArguments: [
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--repl-backlog-size", "64mb",
        ])
        try Self.loadSmallDataset(master)
        let recorder = try StreamRecorder(port: master.port)
        defer { recorder.stop() }
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17004, extra: ["--fsync", "everysec"])
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        let writer = try BackgroundWriter(port: master.port, seed: 7)
        var rng = SeededRandom(seed: 2024)
        let full = try master.stat("sync_full")
        var partial = try master.stat("sync_partial_ok")
        for round in 0..<10 {
            usleep(UInt32(50_000 + rng.next() % 400_000))
            follower.kill9()
            usleep(UInt32(rng.next() % 100_000))
            try follower.start()
            try waitUntil(20, "partial resync #\(round + 1)") { try master.stat("sync_partial_ok") == partial + 1 }
            partial += 1
        }
        try writer.waitForMore(200)
        try writer.stop()
        let offset = try follower.waitCaughtUp()
        #expect(try master.stat("sync_full") == full)
        #expect(follower.stop() == 0)
        let state = try StoredState.read(follower.dir)
        #expect(state.isAt(caughtUp: offset), "stored \(String(describing: state.position)), caught up at \(offset)")
        let start = try #require(state.logStart)
        let expected = try recorder.range(from: start, to: offset)
        #expect(state.log(upTo: offset).count == expected.count)
        #expect(state.log(upTo: offset) == expected, "log bytes differ from the master's stream")
        #expect(writer.commands > 100)
    }

    @Test("a master restarted with a new replid gets a clean full resync")
    func masterRestartNewReplid() throws {
        // Diskless, and no dump.rdb left behind: a Redis 7 master restarted from an RDB holding its replication
        // info would keep the old id as replid2 and accept a partial resync instead.
        let master = try RedisServerProcess(extraArguments: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"])
        try Self.loadSmallDataset(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17005)
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        let oldReplid = try master.replicationInfo()["master_replid"]
        master.stop()
        try? FileManager.default.removeItem(at: master.rdbPath)
        try master.restart()
        let c = try master.client()
        try c.call("SET", "fresh", "1")
        try waitUntil(30, "a full resync with the restarted master") { try master.stat("sync_full") == 1 }
        let offset = try follower.waitCaughtUp()
        let newReplid = try master.replicationInfo()["master_replid"]
        #expect(newReplid != oldReplid)
        #expect(follower.stop() == 0)
        let state = try StoredState.read(follower.dir)
        #expect(state.position?.replid == newReplid)
        #expect(state.isAt(caughtUp: offset), "stored \(String(describing: state.position)), caught up at \(offset)")
        #expect(follower.count("Full resync from master") == 2)
    }

    @Test("following a replica that is promoted: +CONTINUE <new id>, new id persisted")
    func promotion() throws {
        let master = try RedisServerProcess()
        try Self.loadSmallDataset(master)
        let middle = try RedisServerProcess(extraArguments: ["--replicaof", "127.0.0.1", String(master.port)])
        let mc = try middle.client()
        try waitUntil(30, "the middle replica to sync") { try mc.info("replication")["master_link_status"] == "up" }
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: middle, dir: tmp.file("data").path, listeningPort: 17006)
        try follower.start()
        defer { follower.stop() }
        try waitUntil(30, "the follower to stream from the middle replica") { follower.log.contains("TRANSFER -> CONNECTED") }
        let oldID = try mc.info("replication")["master_replid"]
        let partialBefore = try middle.stat("sync_partial_ok")
        try mc.call("REPLICAOF", "NO", "ONE")
        try waitUntil(30, "+CONTINUE with the new id") { follower.log.contains("+CONTINUE with a new replication id") }
        try waitUntil(10, "the promoted server to count the partial sync") { try middle.stat("sync_partial_ok") == partialBefore + 1 }
        try mc.call("SET", "after-promotion", "1")
        let offset = try follower.waitCaughtUp()
        let info = try mc.info("replication")
        #expect(info["master_replid2"] == oldID)
        #expect(follower.stop() == 0)
        let state = try StoredState.read(follower.dir)
        #expect(state.position?.replid == info["master_replid"])
        #expect(state.replid2 == oldID)
        #expect(state.isAt(caughtUp: offset), "stored \(String(describing: state.position)), caught up at \(offset)")
    }

    @Test("AUTH: the right password (file or env) works; a wrong one exits with status 2 without retrying")
    func authentication() throws {
        // An ACL user for replication; the default user stays open so the test's own clients need no AUTH.
        let master = try RedisServerProcess()
        try master.client().call("ACL", "SETUSER", "repl", "on", ">correct horse", "+@all", "~*", "&*")
        let tmp = try TestPaths.makeTemporaryDirectory()
        let good = tmp.file("good.pass"), bad = tmp.file("bad.pass")
        try "correct horse\n".write(to: good, atomically: true, encoding: .utf8)
        try "battery staple\n".write(to: bad, atomically: true, encoding: .utf8)

        let wrong = Follower(master: master, dir: tmp.file("wrong").path, listeningPort: 17007, extra: ["--masteruser", "repl", "--masterauth-file", bad.path])
        try wrong.start()
        #expect(try wrong.waitForExit(timeout: 20) == 2)
        #expect(wrong.log.contains("Unable to AUTH to MASTER"))
        #expect(!wrong.log.contains("battery staple"))
        #expect(wrong.count("Connecting to MASTER") == 1)

        let viaFile = Follower(master: master, dir: tmp.file("file").path, listeningPort: 17008, extra: ["--masteruser", "repl", "--masterauth-file", good.path])
        try viaFile.start()
        defer { viaFile.stop() }
        try viaFile.waitCaughtUp()
        #expect(viaFile.stop() == 0)
        #expect(!viaFile.log.contains("correct horse"))

        let viaEnv = Follower(master: master, dir: tmp.file("env").path, listeningPort: 17009,
                              extra: ["--masteruser", "repl"], environment: ["REDIS_REPLICA_MASTERAUTH": "correct horse"])
        try viaEnv.start()
        defer { viaEnv.stop() }
        try viaEnv.waitCaughtUp()
        #expect(viaEnv.stop() == 0)
    }

    @Test("a Redis 6.2 master (RDB 9): full sync, then kill -9 and +CONTINUE",
          .enabled(if: RedisServerProcess.redis62BinaryPath != nil, "Redis 6.2 not installed (tools/install-deps)"))
    func redis62Master() throws {
        let binary = try #require(RedisServerProcess.redis62BinaryPath)
        let master = try RedisServerProcess(binary: binary, extraArguments: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"])
        try Self.loadSmallDataset(master)
        let c = try master.client()
        try c.call("EVAL", "return redis.call('SET', KEYS[1], ARGV[1])", "1", "scripted", "1")
        let quiet = try QuietDataset.of(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17011)
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        #expect(follower.log.contains("REDIS0009"))
        // The snapshot is the file as published (read-only here; follow keeps appending to the log).
        let problems = try quiet.expectStored(in: follower.dir)
        #expect(problems.isEmpty, "\(problems)")
        try c.call("SET", "more", "1")
        follower.kill9()
        try c.call("SET", "while-down", "1")
        try follower.start()
        try waitUntil(20, "+CONTINUE from 6.2") { try master.stat("sync_partial_ok") == 1 }
        let offset = try follower.waitCaughtUp()
        #expect(try master.stat("sync_full") == 1)
        #expect(follower.stop() == 0)
        #expect(try StoredState.read(follower.dir).isAt(caughtUp: offset))
    }

    @Test("an unreachable master: capped, jittered exponential backoff; SIGTERM still exits 0")
    func unreachableMaster() throws {
        let master = try RedisServerProcess()
        let deadPort = try FreePort.allocate()
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17010)
        try follower.start(masterPort: deadPort)
        try waitUntil(30, "seven retries") { follower.count("Retrying connection to MASTER") >= 7 }
        #expect(follower.stop() == 0)
        let delays = follower.log.split(separator: "\n").compactMap { line -> Int? in
            guard let r = line.range(of: "Retrying connection to MASTER 127.0.0.1:\(deadPort) in ") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        #expect(delays.count >= 7)
        // attempt n waits min(5000, 100 * 2^n) * [0.5, 1.0]
        for (n, d) in delays.enumerated() {
            let base = min(5000, 100 << min(n, 20))
            #expect(d >= base / 2 && d <= base, "attempt \(n + 1) waited \(d) ms")
        }
        #expect(delays.max()! <= 5000)
    }
}
