#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ReplicaStore
import Testing
import TestSupport

/// A full sync's RDB that was received completely and fsynced is never thrown away: `follow` killed with
/// -9 right after the master lists it online restarts with +CONTINUE (the master's `sync_full` does not
/// move), and its dataset is the master's. And the ACK's FACK: `WAITAOF 0 1` on an 8.2 master counts us.
@Suite("full sync durability and FACK against redis-server", .serialized)
struct FullSyncDurabilityTests {
    enum Master: String, CaseIterable, CustomTestStringConvertible {
        case redis70, redis62, redis82
        var binary: String? {
            switch self {
            case .redis70: return "/usr/bin/redis-server"
            case .redis62: return RedisServerProcess.redis62BinaryPath
            case .redis82: return RedisServerProcess.redis82BinaryPath
            }
        }
        var testDescription: String { rawValue }
    }

    static var allInstalled: Bool { Master.allCases.allSatisfy { $0.binary != nil } }

    /// Our replica's line in the master's INFO replication is `state=online`.
    static func listedOnline(_ info: [String: String], port: Int) -> Bool {
        info.contains { $0.key.hasPrefix("slave") && $0.value.contains("port=\(port),") && $0.value.contains("state=online") }
    }

    /// The received RDB is durable from here: its marker, or already a manifest.
    static func durablyReceived(_ dir: String) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.contains { ReceivedSnapshot.isMarkerName($0) } || names.contains(Manifest.fileName)
    }

    @Test("kill -9 right after the master lists us online: the restart publishes the received RDB and gets +CONTINUE; sync_full unchanged; DEBUG DIGEST equal",
          .enabled(if: allInstalled, "Redis 6.2 or 8.2 not installed (tools/install-deps)"),
          arguments: [(Master.redis70, "no"), (.redis70, "yes"), (.redis62, "no"), (.redis82, "yes")])
    func killNineRightAfterOnline(master kind: Master, diskless: String) throws {
        let binary = try #require(kind.binary)
        // 6.2 has no enable-debug-command (DEBUG is always allowed there).
        let debug = kind == .redis62 ? [] : ["--enable-debug-command", "yes"]
        let master = try RedisServerProcess(binary: binary, extraArguments: [
            "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0",
            "--rdbcompression", "no", "--repl-backlog-size", "16mb",
        ] + debug)
        try FollowIntegrationTests.loadSmallDataset(master)
        let c = try master.client(timeout: 120)
        // About 40 MB of RDB: the transfer, fsync and verification take long enough to be caught in the act.
        try c.call("DEBUG", "POPULATE", "300000", "big", "100")
        let quiet = try QuietDataset.of(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        let port = 17041 + (kind == .redis62 ? 1 : kind == .redis82 ? 2 : diskless == "yes" ? 3 : 0)
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: port)
        try follower.start()
        defer { follower.stop() }

        let watcher = try master.client()
        defer { watcher.close() }
        try waitUntil(120, "the master to list the replica online") {
            Self.listedOnline(try watcher.info("replication"), port: port)
        }
        let onlineAt = Date()
        // "Right after": as soon as the transfer is durable on our side (a kill before that point loses
        // bytes that were never fsynced, which no rule can keep).
        while !Self.durablyReceived(follower.dir) && Date().timeIntervalSince(onlineAt) < 60 { usleep(500) }
        let gap = Date().timeIntervalSince(onlineAt)
        let markerAtKill = (try FileManager.default.contentsOfDirectory(atPath: follower.dir)).contains { ReceivedSnapshot.isMarkerName($0) }
        follower.kill9()
        #expect(gap < 10, "the received RDB became durable \(gap) s after the master listed us online")
        let fullBefore = try master.stat("sync_full")
        let partialBefore = try master.stat("sync_partial_ok")
        #expect(fullBefore == 1)

        try follower.start()
        try waitUntil(60, "+CONTINUE after the restart (log: \(follower.logURL.path))") {
            try master.stat("sync_partial_ok") == partialBefore + 1
        }
        try follower.waitCaughtUp(timeout: 60)
        #expect(try master.stat("sync_full") == fullBefore)
        if markerAtKill {
            #expect(follower.log.contains("Found a full sync received before the last stop"), "\(follower.log.suffix(3000))")
        }
        #expect(follower.stop() == 0)

        let out = tmp.file("snap.rdb").path
        let (status, _, stderr) = try SnapshotCommandTests.run(["snapshot", "--dir", follower.dir, "--out", out])
        #expect(status == 0, "\(stderr)")
        let loaded = try RedisServerProcess.loadedDigest(of: URL(fileURLWithPath: out), binary: binary)
        #expect(loaded.digest == quiet.digest)
        #expect(loaded.keys == quiet.keys)
        Swift.print("[\(kind.rawValue) diskless=\(diskless)] durable \(Int(gap * 1000)) ms after online; killed with the marker: \(markerAtKill)")
    }

    @Test("FACK: with --fsync always, WAITAOF 0 1 on a Redis 8.2 master counts our replica",
          .enabled(if: RedisServerProcess.redis82BinaryPath != nil, "Redis 8.2 not installed (tools/install-deps)"))
    func waitAOFCountsUs() throws {
        let binary = try #require(RedisServerProcess.redis82BinaryPath)
        let master = try RedisServerProcess(binary: binary, extraArguments: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"])
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17051, extra: ["--fsync", "always"])
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        let c = try master.client(timeout: 30)
        defer { c.close() }
        for round in 0..<5 {
            for i in 0..<100 { try c.call("SET", "k\(round):\(i)", String(i)) }
            let reply = try c.call("WAITAOF", "0", "1", "5000").array
            #expect(reply?.map(\.integer) == [0, 1], "round \(round): \(String(describing: reply))")
        }
        // WAIT (the ACK) still counts us too.
        #expect(try c.call("WAIT", "1", "5000").integer == 1)
        #expect(follower.stop() == 0)
    }

    /// The same on the other masters that know FACK (7.2+), when installed: Redis 7.2 and 7.4, Valkey 8.1 and 9.1.
    @Test("FACK: WAITAOF 0 1 counts our replica on Redis 7.2/7.4 and Valkey 8.1/9.1 masters",
          .enabled(if: [RedisServerProcess.redis72BinaryPath, RedisServerProcess.redis74BinaryPath, RedisServerProcess.valkey81BinaryPath,
                        RedisServerProcess.valkey91BinaryPath].contains { $0 != nil }, "none of these servers is installed (tools/install-deps)"),
          arguments: [("redis 7.2", RedisServerProcess.redis72BinaryPath), ("redis 7.4", RedisServerProcess.redis74BinaryPath),
                      ("valkey 8.1", RedisServerProcess.valkey81BinaryPath), ("valkey 9.1", RedisServerProcess.valkey91BinaryPath)]
              .compactMap { name, path in path.map { (name, $0) } })
    func waitAOFCountsUsOnOtherMasters(name: String, binary: String) throws {
        let master = try RedisServerProcess(binary: binary, extraArguments: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"])
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: Int(try FreePort.allocate()),
                                extra: ["--fsync", "always"])
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        let c = try master.client(timeout: 30)
        defer { c.close() }
        for round in 0..<3 {
            for i in 0..<100 { try c.call("SET", "k\(round):\(i)", String(i)) }
            let reply = try c.call("WAITAOF", "0", "1", "5000").array
            #expect(reply?.map(\.integer) == [0, 1], "\(name) round \(round): \(String(describing: reply))")
        }
        #expect(try c.call("WAIT", "1", "5000").integer == 1, "\(name)")
        #expect(follower.stop() == 0)
    }

    @Test("FACK to masters before 7.2 (7.0, 6.2): ignored; the link keeps streaming and offsets advance",
          .enabled(if: RedisServerProcess.redis62BinaryPath != nil, "Redis 6.2 not installed (tools/install-deps)"),
          arguments: [Master.redis70, .redis62])
    func olderMastersIgnoreFack(master kind: Master) throws {
        let binary = try #require(kind.binary)
        let master = try RedisServerProcess(binary: binary, extraArguments: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"])
        let tmp = try TestPaths.makeTemporaryDirectory()
        let port = kind == .redis70 ? 17052 : 17053
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: port, extra: ["--fsync", "always"])
        try follower.start()
        defer { follower.stop() }
        let first = try follower.waitCaughtUp()
        let c = try master.client(timeout: 30)
        defer { c.close() }
        for i in 0..<300 { try c.call("SET", "k\(i)", String(i)) }
        #expect(try c.call("WAIT", "1", "5000").integer == 1)
        let second = try follower.waitCaughtUp()
        #expect(second > first)
        #expect(try master.stat("sync_full") == 1)
        #expect(try master.replicationInfo()["connected_slaves"] == "1")
        #expect(!master.log().contains("Protocol error"), "\(master.log().suffix(2000))")
        #expect(follower.stop() == 0)
    }
}
