#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

/// Real redis-servers replicating from `follow --port` (the built binary): full sync from our snapshot and
/// log, then +CONTINUE from our log after the master's own backlog has moved far past them.
@Suite("downstream replicas of follow --port", .serialized)
struct ServeDownstreamTests {
    /// DEBUG DIGEST needs `enable-debug-command` from 7.0 on; 6.2 has no such option.
    static func debug(_ binary: String?) -> [String] {
        binary == RedisServerProcess.redis62BinaryPath && binary != nil ? [] : ["--enable-debug-command", "yes"]
    }

    /// A master (7.0, 1 MB backlog) with data, and a follower serving on a free port.
    final class Chain {
        let master: RedisServerProcess
        let tmp: TemporaryDirectory
        let servePort: UInt16
        let follower: Follower

        init(masterBinary: String? = nil, masterArguments: [String] = [], followerArguments: [String] = []) throws {
            master = try RedisServerProcess(binary: masterBinary,
                                            extraArguments: ServeDownstreamTests.debug(masterBinary) + ["--repl-backlog-size", "1mb"]
                                                + masterArguments)
            try FollowIntegrationTests.loadSmallDataset(master)
            (follower, servePort, tmp) = try Follower.startServing(master, extra: followerArguments)
            try follower.waitCaughtUp()
        }

        /// A redis-server replicating from us (or from `port`), with its own data directory.
        func downstream(binary: String? = nil, of port: UInt16? = nil) throws -> RedisServerProcess {
            try RedisServerProcess(binary: binary, extraArguments: ServeDownstreamTests.debug(binary) + [
                "--replicaof", "127.0.0.1", String(port ?? servePort), "--repl-timeout", "10",
            ])
        }

        func digest(_ s: RedisServerProcess) throws -> String {
            let c = try s.client()
            defer { c.close() }
            return try c.call("DEBUG", "DIGEST").string ?? ""
        }

        /// Waits until `replica` is linked and at the master's current offset.
        func waitInSync(_ replica: RedisServerProcess, timeout: Double = 30) throws {
            try waitUntil(timeout, "\(replica.port) to reach the master's offset (log: \(replica.logPath.path))") {
                let r = try replica.replicationInfo()
                let m = try master.replicationInfo()
                return r["master_link_status"] == "up" && r["slave_repl_offset"] == m["master_repl_offset"]
            }
        }

        func write(megabytes: Int, prefix: String) throws {
            let c = try master.client()
            defer { c.close() }
            let value = String(repeating: "v", count: 10_000)
            for i in 0..<(megabytes * 100) {
                try c.call("SET", "\(prefix):\(i)", value)
                if i % 7 == 0 { try c.call("SELECT", String(i % 3)) }
            }
            try c.call("SELECT", "0")
        }

        func servedInfo(_ section: String) throws -> [String: String] {
            let c = try RedisClient(port: servePort)
            defer { c.close() }
            return try c.info(section)
        }

        func stop() {
            follower.stop()
        }
    }

    /// Since its last (re)start (the log file starts over), `s` synced only with +CONTINUE.
    static func continuedOnly(_ s: RedisServerProcess) -> Bool {
        let log = s.log()
        return log.contains("Master accepted a Partial Resynchronization") && !log.contains("Full resync from master")
    }

    @Test("7.0 downstream: full sync, same digest; resumes with +CONTINUE from our log after stop and after kill -9 of follow")
    func resumeFromOurLog() throws {
        let chain = try Chain()
        defer { chain.stop() }
        let replica = try chain.downstream()
        try chain.waitInSync(replica)
        #expect(try chain.digest(replica) == chain.digest(chain.master))
        var served = try chain.servedInfo("replication")
        #expect(served["connected_slaves"] == "1")
        #expect(served["slave0"]?.contains("port=\(replica.port),state=online") == true)
        #expect(try chain.servedInfo("stats")["sync_full"] == "1")

        // Stop it with its RDB saved (a replica's RDB keeps replid/offset), move the master's 1 MB backlog far on.
        let syncFull = try chain.master.stat("sync_full")
        _ = try? replica.client().command("SHUTDOWN", "SAVE")
        replica.stop()
        try chain.write(megabytes: 3, prefix: "gap1")
        try chain.follower.waitCaughtUp()
        try replica.restart()
        try chain.waitInSync(replica)
        #expect(Self.continuedOnly(replica))
        #expect(try chain.servedInfo("stats")["sync_partial_ok"] == "1")
        #expect(try chain.master.stat("sync_full") == syncFull)
        #expect(try chain.digest(replica) == chain.digest(chain.master))

        // kill -9 of follow while the replica is down: the restarted follow recovers its log and still
        // continues the replica after the master's backlog moved on again.
        _ = try? replica.client().command("SHUTDOWN", "SAVE")
        replica.stop()
        chain.follower.kill9()
        try chain.follower.start()
        try chain.follower.waitCaughtUp()
        try chain.write(megabytes: 3, prefix: "gap2")
        try chain.follower.waitCaughtUp()
        try replica.restart()
        try chain.waitInSync(replica)
        #expect(Self.continuedOnly(replica), "follow log:\n\(chain.follower.log.suffix(3000))\nreplica log:\n\(replica.log().suffix(3000))")
        #expect(try chain.servedInfo("stats")["sync_full"] == "0")
        #expect(try chain.servedInfo("stats")["sync_partial_ok"] == "1")
        #expect(try chain.master.stat("sync_full") == syncFull)
        #expect(try chain.digest(replica) == chain.digest(chain.master))
        try waitUntil(5, "the replica's ACK in our INFO") {
            let masterOffset = try chain.master.replicationInfo()["master_repl_offset"] ?? "?"
            served = try chain.servedInfo("replication")
            return served["slave0"]?.contains("offset=\(masterOffset),") == true
        }
        replica.stop()
    }

    @Test("8.2 and 7.0 downstreams of a 7.0 master, and a downstream of a downstream",
          .enabled(if: RedisServerProcess.redis82BinaryPath != nil, "needs Redis 8.2 (tools/install-deps)"))
    func newerVersionAndTwoLevels() throws {
        let chain = try Chain()
        defer { chain.stop() }
        let r82 = try chain.downstream(binary: RedisServerProcess.redis82BinaryPath)
        let r70 = try chain.downstream()
        let second = try chain.downstream(of: r70.port)
        try chain.write(megabytes: 1, prefix: "more")
        try checkInSync(chain, [r82, r70, second])
        // Restart the 8.2 replica after the master's backlog moved on: it continues from us.
        _ = try? r82.client().command("SHUTDOWN", "SAVE")
        r82.stop()
        try chain.write(megabytes: 2, prefix: "gap")
        try chain.follower.waitCaughtUp()
        try r82.restart()
        try checkInSync(chain, [r82, r70, second])
        #expect(Self.continuedOnly(r82), "log of \(r82.port):\n\(r82.log().suffix(2000))")
        #expect(try chain.master.stat("sync_full") == 1)
        for r in [second, r70, r82] { r.stop() }
    }

    @Test("a 6.2 master, follow, and a 6.2 downstream: full sync, then +CONTINUE from our log",
          .enabled(if: RedisServerProcess.redis62BinaryPath != nil, "needs Redis 6.2 (tools/install-deps)"))
    func redis62() throws {
        let chain = try Chain(masterBinary: RedisServerProcess.redis62BinaryPath)
        defer { chain.stop() }
        let r62 = try chain.downstream(binary: RedisServerProcess.redis62BinaryPath)
        try checkInSync(chain, [r62])
        _ = try? r62.client().command("SHUTDOWN", "SAVE")
        r62.stop()
        try chain.write(megabytes: 2, prefix: "gap")
        try chain.follower.waitCaughtUp()
        try r62.restart()
        try checkInSync(chain, [r62])
        #expect(Self.continuedOnly(r62), "log of \(r62.port):\n\(r62.log().suffix(2000))")
        #expect(try chain.master.stat("sync_full") == 1)
        r62.stop()
    }

    /// Redis 8.10 all along: a master with hash templates on and arrays, our follower (compacted once), an 8.10
    /// downstream. The downstream's full sync is our own snapshot (templates written as ordinary hashes, arrays as
    /// type 28), then array commands and LMOVEM come through our log; after a restart it resumes with +CONTINUE.
    @Test("an 8.10 master with hash templates and arrays, and an 8.10 downstream",
          .enabled(if: RedisServerProcess.redis810BinaryPath != nil, "needs Redis 8.10 (tools/install-deps)"))
    func redis810() throws {
        let bin = RedisServerProcess.redis810BinaryPath
        let chain = try Chain(masterBinary: bin, masterArguments: ["--hash-min-template-entries", "2"],
                              followerArguments: ["--compact-after-bytes", "65536"])
        defer { chain.stop() }
        let c = try chain.master.client()
        defer { c.close() }
        for i in 0..<50 { try c.call("HSET", "user:\(i)", "name", "n\(i)", "age", String(i), "email", "e\(i)") }
        try c.call("ARSET", "ar:a", "0", "1", "1.5", "1.0", "-0.0", "a longer value", "x")
        try c.call("ARRING", "ar:ring", "3", "r1", "r2", "r3", "r4")
        try c.call("ARMSET", "ar:sparse", "5", "five", "70000", "far")
        try c.call("ARSEEK", "ar:sparse", "18446744073709551615")
        // Past the compaction threshold: the downstream's full sync is then our own snapshot, not the master's RDB.
        try chain.write(megabytes: 1, prefix: "fill")
        try chain.follower.waitCaughtUp()
        try waitUntil(60, "a compaction (log: \(chain.follower.logURL.path))") { chain.follower.count("Compaction done") > 0 }
        let r810 = try chain.downstream(binary: bin)
        try checkInSync(chain, [r810])
        // Through our log: array writes, LMOVEM, a templated hash changed.
        try c.call("ARINSERT", "ar:a", "y", "z")
        try c.call("ARDEL", "ar:a", "1")
        try c.call("ARRING", "ar:ring", "2", "r5")
        try c.call("RPUSH", "l", "a", "b", "c", "d")
        try c.call("LMOVEM", "l", "l2", "LEFT", "RIGHT", "COUNT", "3", "OBO")
        try c.call("HSET", "user:1", "zip", "75001")
        try checkInSync(chain, [r810])
        // DEBUG DIGEST leaves out an array's insert cursor: compare ARNEXT too.
        let d = try r810.client()
        for k in ["ar:a", "ar:ring", "ar:sparse"] {
            #expect(try d.call("ARNEXT", k) == (try c.call("ARNEXT", k)), "ARNEXT \(k)")
        }
        d.close()
        _ = try? r810.client().command("SHUTDOWN", "SAVE")
        r810.stop()
        try c.call("ARSET", "ar:a", "100", "after the restart")
        try chain.follower.waitCaughtUp()
        try r810.restart()
        try checkInSync(chain, [r810])
        #expect(Self.continuedOnly(r810), "log of \(r810.port):\n\(r810.log().suffix(2000))")
        #expect(try chain.master.stat("sync_full") == 1)
        r810.stop()
    }

    /// An upstream failover: FAILOVER TO a real replica R of our master M. M becomes R's replica with R's new
    /// replid; our link's PSYNC to M is answered +CONTINUE <new id>, so we keep the old id as replid2 and
    /// disconnect our downstream, whose PSYNC <old id> <offset> we then answer +CONTINUE from our log.
    @Test("an upstream failover keeps the downstream on +CONTINUE")
    func upstreamFailover() throws {
        let chain = try Chain()
        defer { chain.stop() }
        let r = try RedisServerProcess(extraArguments: ServeDownstreamTests.debug(nil) + ["--replicaof", "127.0.0.1", String(chain.master.port)])
        let d = try chain.downstream()
        try checkInSync(chain, [r, d])
        let oldID = try chain.master.replicationInfo()["master_replid"]
        func count(_ needle: String) -> Int { d.log().components(separatedBy: needle).count - 1 }
        let (fullBefore, partialBefore) = (count("Full resync from master"), count("Master accepted a Partial Resynchronization"))
        let c = try chain.master.client()
        // R's link is up on R's side before the master has R's first ACK (sent once a second); until then the
        // master lists R as not online and refuses FAILOVER TO R ("target replica is not online").
        try waitUntil(20, "the master to list R online") {
            try chain.master.replicationInfo().contains { $0.key.hasPrefix("slave") && $0.value.contains("port=\(r.port),state=online") }
        }
        #expect(try c.command("FAILOVER", "TO", "127.0.0.1", String(r.port), "TIMEOUT", "10000") == .simple("OK"))
        try waitUntil(20, "R to be the master") {
            try r.replicationInfo()["role"] == "master" && chain.master.replicationInfo()["master_link_status"] == "up"
        }
        let newID = try r.replicationInfo()["master_replid"]
        #expect(newID != oldID)
        let rc = try r.client()
        for i in 0..<100 { try rc.call("SET", "after-failover:\(i)", String(i)) }
        try waitUntil(30, "the downstream to follow R's history through M and us") {
            let di = try d.replicationInfo()
            let ri = try r.replicationInfo()
            return di["master_link_status"] == "up" && di["master_replid"] == newID && di["slave_repl_offset"] == ri["master_repl_offset"]
        }
        #expect(try chain.digest(d) == chain.digest(r))
        #expect(count("Full resync from master") == fullBefore, "log of the downstream:\n\(d.log().suffix(3000))")
        #expect(count("Master accepted a Partial Resynchronization") > partialBefore)
        let served = try chain.servedInfo("replication")
        #expect(served["master_replid"] == newID && served["master_replid2"] == oldID)
        #expect(chain.follower.log.contains("Disconnecting replica"))
        for s in [d, r] { s.stop() }
    }

    /// Our own full resync (follow was down while the master's 1 MB backlog moved on) disconnects the
    /// downstream; its PSYNC then falls outside our new log and it full-syncs from the new snapshot.
    @Test("an upstream full resync disconnects the downstream, which full-syncs from the new snapshot")
    func upstreamFullResync() throws {
        let chain = try Chain()
        defer { chain.stop() }
        let d = try chain.downstream()
        try checkInSync(chain, [d])
        func count(_ needle: String) -> Int { d.log().components(separatedBy: needle).count - 1 }
        let fullBefore = count("Full resync from master")
        chain.follower.kill9()
        try chain.write(megabytes: 3, prefix: "while-down")
        try chain.follower.start()
        try chain.follower.waitCaughtUp()
        try checkInSync(chain, [d])
        #expect(chain.follower.log.contains("after a new full sync from our master"))
        #expect(count("Full resync from master") == fullBefore + 1, "log of the downstream:\n\(d.log().suffix(3000))")
        #expect(try chain.master.stat("sync_full") == 2)
        d.stop()
    }

    /// Waits until every replica is at the master's offset, then compares digests with the master's.
    func checkInSync(_ chain: Chain, _ replicas: [RedisServerProcess]) throws {
        for r in replicas {
            do {
                try chain.waitInSync(r, timeout: 60)
            } catch {
                Issue.record("\(error)\nlog of \(r.port):\n\(r.log().suffix(3000))\nfollow log:\n\(chain.follower.log.suffix(3000))")
                throw error
            }
        }
        let want = try chain.digest(chain.master)
        for r in replicas { #expect(try chain.digest(r) == want, "digest of \(r.port)") }
    }
}
