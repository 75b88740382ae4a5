#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ReplicaStore
import Testing
import TestSupport

/// A Redis 6.2 master propagates relative TTLs (`SET … EX`, `SETEX`, `EXPIRE`) verbatim; a real replica
/// makes them absolute when they arrive. Ours replays them from the log after a restart with the time
/// recorded with them (the log's clock records), so the downtime does not lengthen them.
@Suite("6.2 relative TTLs across a restart, against redis-server 6.2", .serialized)
struct RelativeTTLRestartTests {
    static func pttl(_ c: RedisClient, _ key: String) throws -> Int64 {
        try #require(try c.call("PTTL", key).integer)
    }

    static func dataset(_ dir: String) -> DatasetState? {
        (try? ReplicaStore.inspect(directory: dir))?.follower?.dataset
    }

    /// Waits until the dataset is ready at the store's position, caught up with the master.
    static func waitReady(_ follower: Follower) throws {
        let offset = try follower.waitCaughtUp(timeout: 60)
        try waitUntil(60, "the dataset ready at \(offset) (log: \(follower.logURL.path))") {
            let d = dataset(follower.dir)
            return d?.phase == .ready && (d?.appliedOffset ?? 0) >= offset
        }
    }

    @Test("SET EX / SETEX / EXPIRE from 6.2: after a 3 s stop, our TTLs still match the master's",
          .enabled(if: RedisServerProcess.redis62BinaryPath != nil, "Redis 6.2 not installed (tools/install-deps)"))
    func ttlsAreNotLengthenedByTheDowntime() throws {
        let master = try RedisServerProcess(binary: try #require(RedisServerProcess.redis62BinaryPath))
        defer { master.stop() }
        let c = try master.client()
        defer { c.close() }
        try c.call("SET", "before", "x")
        let (follower, port, tmp) = try Follower.startServing(master)
        defer { follower.stop(); tmp.remove() }
        try Self.waitReady(follower)
        // After the full sync: these go to the log as the master sent them (relative).
        try c.call("SET", "k", "v", "EX", "100")
        try c.call("SETEX", "k2", "200", "v")
        try c.call("SET", "k3", "v")
        try c.call("PEXPIRE", "k3", "300000")
        try Self.waitReady(follower)
        #expect(follower.stop() == 0)
        sleep(3)
        try follower.start()
        try Self.waitReady(follower)
        #expect(try master.stat("sync_full") == 1, "the restart must continue, not full-sync")
        let ours = try RedisClient(port: port)
        defer { ours.close() }
        for key in ["k", "k2", "k3"] {
            let m = try Self.pttl(c, key)
            let o = try Self.pttl(ours, key)
            // Within the replication lag and the two reads' gap; 3 s of downtime would show as o - m ≈ 3000.
            #expect(m > 0 && abs(o - m) < 1000, "\(key): our PTTL \(o) ms, the master's \(m) ms")
            Swift.print("[6.2 restart] \(key): master PTTL \(m) ms, ours \(o) ms")
        }
    }
}
