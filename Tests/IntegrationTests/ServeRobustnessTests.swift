#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

/// follow --port under a slow downstream replica, a hostile client, and a FAILOVER on the master it follows.
@Suite("follow --port robustness", .serialized)
struct ServeRobustnessTests {
    /// A replica that never reads is dropped once it is the hard limit behind our log; garbage on the port is
    /// answered and closed; the link to the master keeps streaming throughout.
    @Test func slowReplicaAndBadClientNeverTouchTheLink() throws {
        let master = try RedisServerProcess()
        try FollowIntegrationTests.loadSmallDataset(master)
        let (follower, port, tmp) = try Follower.startServing(master, extra: ["--replica-buffer-limit", "2000000"])
        defer { follower.stop(); tmp.remove() }
        try follower.waitCaughtUp()

        let slow = try RedisClient(port: port, timeout: 10)
        defer { slow.close() }
        try slow.send(["REPLCONF", "capa", "psync2"].map { Array($0.utf8) })
        #expect(try slow.readReply() == .simple("OK"))
        try slow.send(["PSYNC", "?", "-1"].map { Array($0.utf8) })   // then never read
        let garbage = try RedisClient(port: port, timeout: 10)
        try garbage.sendRaw(Array("*1\r\n$-5\r\n".utf8))
        #expect(try garbage.readReply() == .error("ERR Protocol error: invalid bulk length"))
        garbage.close()

        let c = try master.client()
        let value = String(repeating: "x", count: 50_000)
        for i in 0..<200 { try c.call("SET", "big:\(i)", value) }   // 10 MB
        try follower.waitCaughtUp()
        try waitUntil(10, "the slow replica to be dropped") {
            follower.log.contains("closed for overcoming of output buffer limits")
        }
        let info = try RedisClient(port: port).info("replication")
        #expect(info["connected_slaves"] == "0")
        #expect(info["master_link_status"] == "up")
        // What the slow replica can still read is bounded by the socket buffers plus our high-water mark,
        // then the connection ends.
        var drained = 0
        try slow.setTimeout(5)
        while let chunk = try? slow.readSome(), !chunk.isEmpty { drained += chunk.count }
        #expect(drained < 9_000_000)
    }

    /// FAILOVER on the master picks us (our ACK equals its offset) and connects to our --port with
    /// PSYNC ... FAILOVER; we refuse, so the master aborts the failover and stays a writable master.
    @Test func failoverOnTheMasterLeavesItWritable() throws {
        let master = try RedisServerProcess()
        try FollowIntegrationTests.loadSmallDataset(master)
        let (follower, _, tmp) = try Follower.startServing(master)
        defer { follower.stop(); tmp.remove() }
        try follower.waitCaughtUp()
        let c = try master.client()
        #expect(try c.command("FAILOVER", "TIMEOUT", "5000") == .simple("OK"))
        try waitUntil(10, "the master to abort the failover") {
            master.log().contains("Failover target rejected psync request")
        }
        try waitUntil(10, "the master to be a master again") {
            let r = try master.replicationInfo()
            return r["role"] == "master" && r["master_failover_state"] == "no-failover"
        }
        #expect(try c.command("SET", "after-failover", "1") == .simple("OK"))
        try follower.waitCaughtUp()
        #expect(follower.log.contains("Refused PSYNC FAILOVER"))
    }

    /// Without --port, follow announces its failover guard's port: the master's FAILOVER reaches it, is
    /// refused at PSYNC ... FAILOVER, and the master stays a writable master.
    @Test func failoverWithoutPortLeavesTheMasterWritable() throws {
        let master = try RedisServerProcess()
        try FollowIntegrationTests.loadSmallDataset(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: -1)
        try follower.start()
        defer { follower.stop() }
        try waitUntil(30, "the follower to be online and caught up") {
            let r = try master.replicationInfo()
            guard let slave = r["slave0"], let offset = r["master_repl_offset"] else { return false }
            return slave.contains("state=online") && slave.hasSuffix("offset=\(offset),lag=0") || slave.contains("offset=\(offset),")
        }
        let slave = try #require(try master.replicationInfo()["slave0"])
        #expect(!slave.contains("port=0,"), "the master sees port 0: \(slave)")
        let c = try master.client()
        #expect(try c.command("FAILOVER", "TIMEOUT", "5000") == .simple("OK"))
        try waitUntil(10, "the master to abort the failover (log: \(master.logPath.path))") {
            master.log().contains("Failover target rejected psync request")
        }
        try waitUntil(10, "the master to be a master again") {
            let r = try master.replicationInfo()
            return r["role"] == "master" && r["master_failover_state"] == "no-failover"
        }
        #expect(try c.command("SET", "after-failover", "1") == .simple("OK"))
        #expect(follower.log.contains("Refused PSYNC FAILOVER"))
        // The guard serves nothing else.
        let port = try #require(slave.split(separator: ",").first { $0.hasPrefix("port=") }.flatMap { UInt16($0.dropFirst(5)) })
        let other = try RedisClient(port: port)
        defer { other.close() }
        #expect(try other.command("INFO").description.contains("only refuses FAILOVER handovers"))
    }
}
