import Base
import Foundation
import Keyspace
import Logging
import RDB
@testable import ReplicaNode
import ReplicaStore
import Testing
import TestSupport

/// Relative TTLs from a Redis 6.2 master (`SETEX`, `SET … EX`, `EXPIRE`, `PEXPIRE`) are made absolute at
/// the time they arrived, recorded in the log's clock records: replayed after a restart much later, and
/// applied live, they give the same expiry as a replica that applied them as they came.
@Suite struct DatasetArrivalTimeTests {
    static let replid = String(repeating: "c3", count: 20)
    static let t0: Int64 = 1_700_000_000_000

    /// The store's wall clock, set by the test.
    final class Clock: @unchecked Sendable {
        private let lock = Lock()
        private var ms: Int64 = 0
        func set(_ v: Int64) { lock.withLock { ms = v } }
        func read() -> Int64 { lock.withLock { ms } }
    }

    func openStore(_ dir: TemporaryDirectory, _ clock: Clock) throws -> ReplicaStore {
        var o = ReplicaStore.Options(segmentSize: 4096, backgroundSync: false)
        o.clock = { clock.read() }
        o.recordArrivalTime = true
        return try ReplicaStore.open(directory: dir.url.path, fsync: .no, options: o)
    }

    static func expiry(_ d: DatasetFollower.Dataset?, _ key: String) -> Int64? {
        d?.keyspace[0, Array(key.utf8)]?.expireAtMs
    }

    @Test func relativeTTLsReplayWithTheirArrivalTimeAfterARestart() throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "arrival")
        defer { dir.remove() }
        let clock = Clock()
        clock.set(Self.t0 - 60_000)
        var store = try openStore(dir, clock)
        let w = try store.beginFullSync(replid: Self.replid, offset: 100)
        try w.write(try Keyspace().rdbBytes(aux: RDBAuxInfo(replication: ReplicationPosition(replid: Self.replid, offset: 100, streamDB: 0))))
        try store.publish(w)
        clock.set(Self.t0)
        try store.append(DatasetFollowerTests.resp(["SETEX", "a", "100", "v"]) + DatasetFollowerTests.resp(["SET", "b", "v", "EX", "50"]), streamDB: 0)
        clock.set(Self.t0 + 1500)
        try store.append(DatasetFollowerTests.resp(["SET", "c", "v"]) + DatasetFollowerTests.resp(["PEXPIRE", "c", "2500"]), streamDB: 0)
        try store.close()

        // An hour later: the replay keeps the arrival times.
        clock.set(Self.t0 + 3_600_000)
        store = try openStore(dir, clock)
        defer { try? store.close() }
        let f = DatasetFollower(store: store, logger: Logger(label: "test"), idleWait: .milliseconds(5))
        f.start()
        defer { f.stop() }
        let end1 = store.position!.offset
        try waitFor("ready at \(end1)", f) { $0.phase == .ready && $0.appliedOffset == end1 }
        #expect(Self.expiry(f.dataset(), "a") == Self.t0 + 100_000)
        #expect(Self.expiry(f.dataset(), "b") == Self.t0 + 50_000)
        #expect(Self.expiry(f.dataset(), "c") == Self.t0 + 4000)

        // Live: the time recorded with the bytes (the store's clock), not the follower's.
        clock.set(Self.t0 + 3_700_000)
        try store.append(DatasetFollowerTests.resp(["EXPIRE", "a", "10"]), streamDB: 0)
        let end2 = store.position!.offset
        f.wake()
        try waitFor("ready at \(end2)", f) { $0.phase == .ready && $0.appliedOffset == end2 }
        #expect(Self.expiry(f.dataset(), "a") == Self.t0 + 3_710_000)
    }
}
