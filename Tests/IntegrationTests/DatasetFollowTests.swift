#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Keyspace
import Logging
import RDB
import ReplicaNode
import ReplicaStore
import Testing
import TestSupport

/// `follow` keeps the master's dataset: against a real redis-server 7.0 master with a seeded workload,
/// `status` reports the dataset ready at the master's offset with the master's key count, and the dataset
/// rebuilt by the same follower code from the recorded directory, saved through Keyspace's RDB writer and
/// loaded by a fresh redis-server, has the master's DEBUG DIGEST.
@Suite("follow keeps the dataset", .serialized)
struct DatasetFollowTests {
    /// A seeded mix of writes across types and dbs, with MULTI/EXEC and expiries.
    static func workload(_ c: RedisClient, seed: UInt64, count: Int) throws {
        var rng = SeededRandom(seed: seed)
        for i in 0..<count {
            let k = "k\(rng.next() % 60)"
            switch rng.next() % 10 {
            case 0: try c.call("SELECT", String(rng.next() % 3))
            case 1: try c.call("SET", k, "v\(i)")
            case 2: try c.call("RPUSH", "list\(rng.next() % 4)", "a\(i)", "b\(i)")
            case 3: try c.call("HSET", "hash\(rng.next() % 4)", "f\(rng.next() % 10)", "\(i)")
            case 4: try c.call("ZADD", "zset\(rng.next() % 4)", "\(Double(rng.next() % 1000) / 7)", "m\(rng.next() % 30)")
            case 5: try c.call("SADD", "set\(rng.next() % 4)", "x\(rng.next() % 50)")
            case 6: try c.call("UNLINK", k)
            case 7: try c.call("SET", "ttl\(i % 7)", "t", "PX", "3600000")
            case 8: try c.call("INCRBYFLOAT", "float\(rng.next() % 3)", "1.25")
            default:
                try c.call("MULTI"); try c.call("INCR", "n"); try c.call("LPOP", "list0"); try c.call("EXEC")
            }
        }
    }

    @Test("status says ready at the master's offset; the rebuilt dataset has the master's digest")
    func followsDataset() throws {
        let master = try RedisServerProcess(extraArguments: ["--repl-diskless-sync", "no", "--enable-debug-command", "yes"])
        let c = try master.client()
        defer { c.close() }
        try FollowIntegrationTests.loadSmallDataset(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        defer { tmp.remove() }
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17041)
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        try Self.workload(c, seed: 42, count: 600)
        let offset = try follower.waitCaughtUp()
        var dataset: DatasetState?
        try waitUntil(30, "status to show the dataset ready at \(offset) (log: \(follower.logURL.path))") {
            dataset = try ReplicaStore.inspect(directory: follower.dir).follower?.dataset
            return dataset?.phase == .ready && dataset?.appliedOffset == offset
        }
        var keys = 0
        for (_, value) in try c.info("keyspace") {
            for part in value.split(separator: ",") where part.hasPrefix("keys=") { keys += Int(part.dropFirst(5)) ?? 0 }
        }
        #expect(dataset?.keys == keys)
        #expect(follower.log.contains("Dataset ready"))
        let digest = try master.debugDigest()
        #expect(follower.stop() == 0)

        // The same follower code over the recorded directory, saved as RDB, loaded by redis-server.
        let store = try ReplicaStore.open(directory: follower.dir, fsync: .no)
        defer { try? store.close() }
        let rebuilt = DatasetFollower(store: store, logger: Logger(label: "test"), idleWait: .milliseconds(5))
        rebuilt.start()
        defer { rebuilt.stop() }
        try waitUntil(30, "the rebuilt dataset") { rebuilt.state.phase == .ready && rebuilt.state.appliedOffset == offset }
        let d = try #require(rebuilt.dataset())
        #expect(d.keyspace.keyCount == keys)
        let rdb = tmp.file("dataset.rdb")
        try Data(try d.keyspace.rdbBytes(options: RDBWriterOptions(rdbVersion: 10))).write(to: rdb)
        let loaded = try RedisServerProcess.loadedDigest(of: rdb, binary: master.binaryPath)
        #expect(loaded.digest == digest)
        #expect(loaded.keys == keys)
    }
}
