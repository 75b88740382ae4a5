#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ReplicaStore
import Testing
import TestSupport

/// A full sync's dataset loads while the bytes arrive (issue 9 item 3), against real masters: a full
/// resync while `follow --port` serves keeps answering reads from the old dataset until the swap, `status`
/// shows the load with its percent during the transfer, the new dataset is ready right after it and is the
/// master's (DEBUG DIGEST of a server loading our `snapshot`); a transfer cut in the middle (the master
/// killed) leaves the old dataset, its position and no partial file.
@Suite("full sync loaded while it arrives, against redis-server", .serialized)
struct LoadWhileArrivingTests {
    typealias Master = FullSyncDurabilityTests.Master

    /// What our port answers for `probe` (an error reply as "ERR…").
    static func probe(_ c: RedisClient) throws -> String {
        switch try c.command(["GET", "probe"]) {
        case .error(let m): return "ERR \(m)"
        case let r: return r.string ?? "nil"
        }
    }

    static func dataset(_ dir: String) -> DatasetState? {
        (try? ReplicaStore.inspect(directory: dir))?.follower?.dataset
    }

    /// Polls our port and `status` until the dataset is ready on a snapshot other than `oldSnapshot` with
    /// `probe` = `newValue`: every reply before is `oldValue` (the old dataset, whole), never an error or
    /// a missing key, and the new value, once seen, stays. Returns whether a read saw the old dataset while
    /// `status` showed the load as the bytes arrived, and the highest percent seen then.
    static func watchSwap(port: UInt16, dir: String, oldSnapshot: String?, oldValue: String, newValue: String,
                          master: RedisServerProcess) throws -> (sawReceiving: Bool, percent: Double?) {
        let ours = try RedisClient(port: port)
        defer { ours.close() }
        var sawReceiving = false
        var percent: Double?
        var sawNew = false
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let before = dataset(dir)
            let value = try probe(ours)
            let d = dataset(dir)
            // state.json is written after the fact (from the link's loop, off its thread), so a read just
            // after the swap may still find it saying `receiving`: what counts is an old read while it does.
            if before?.receiving == true && d?.receiving == true && value == oldValue {
                sawReceiving = true
                if let p = d?.percent { percent = max(percent ?? 0, p) }
            }
            if sawNew {
                #expect(value == newValue, "after the swap the old value came back")
            } else if value == newValue {
                sawNew = true
            } else {
                #expect(value == oldValue, "a read during the full resync saw neither dataset: \(value)")
            }
            if sawNew, let d, d.phase == .ready, d.snapshot != oldSnapshot { return (sawReceiving, percent) }
            usleep(10_000)
        }
        throw HarnessError("timed out waiting for the swap; state \(String(describing: dataset(dir)))")
    }

    /// `DEBUG CHANGE-REPL-ID` (a new replid, replid2 cleared) and the replica links closed.
    static func forceFullResync(_ c: RedisClient) throws {
        try c.call("DEBUG", "CHANGE-REPL-ID")
        try c.call("CLIENT", "KILL", "TYPE", "slave")
    }

    @Test("a full resync while serving: old reads until the swap, status shows the load, the new dataset is the master's; a cut transfer leaves the old one",
          .enabled(if: FullSyncDurabilityTests.allInstalled, "Redis 6.2 or 8.2 not installed (tools/install-deps)"),
          arguments: [(Master.redis70, "no"), (.redis70, "yes"), (.redis62, "yes"), (.redis82, "yes")])
    func resyncWhileServing(master kind: Master, diskless: String) throws {
        let binary = try #require(kind.binary)
        let debug = kind == .redis62 ? [] : ["--enable-debug-command", "yes"]
        // rdb-key-save-delay (µs a key) stretches each full sync to about 2 s, so it can be watched.
        let master = try RedisServerProcess(binary: binary, extraArguments: [
            "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0", "--rdb-key-save-delay", "20",
        ] + debug)
        defer { master.stop() }
        try FollowIntegrationTests.loadSmallDataset(master)
        let c = try master.client(timeout: 120)
        try c.call("DEBUG", "POPULATE", "60000", "pop", "100")
        try c.call("SET", "probe", "first")
        let (follower, port, tmp) = try Follower.startServing(master)
        defer { follower.stop(); tmp.remove() }
        try follower.waitCaughtUp(timeout: 120)
        defer { c.close() }
        try waitUntil(60, "the first dataset ready (log: \(follower.logURL.path))") { Self.dataset(follower.dir)?.phase == .ready }
        #expect(follower.log.contains("loaded from the full sync while it arrived"), "\(follower.log.suffix(3000))")

        // A new replication id on the master and the link cut: the follower's PSYNC gets a full resync.
        let oldSnapshot = Self.dataset(follower.dir)?.snapshot
        try Self.forceFullResync(c)
        // Written once the new transfer began, so it reaches us on the new lineage only (a master may send
        // writes made right after CLIENT KILL down the closing link: 8.2 frees the client asynchronously).
        try waitUntil(60, "the full resync to begin") { Self.dataset(follower.dir)?.receiving == true }
        try c.call("SET", "probe", "second")
        let (sawReceiving, percent) = try Self.watchSwap(port: port, dir: follower.dir, oldSnapshot: oldSnapshot,
                                                         oldValue: "first", newValue: "second", master: master)
        #expect(sawReceiving, "status never showed the load while the bytes arrived")
        Swift.print("[\(kind.rawValue) diskless=\(diskless)] receiving seen: \(sawReceiving), highest percent \(percent.map { String($0) } ?? "-")")
        #expect(try master.stat("sync_full") == 2)
        try follower.waitCaughtUp(timeout: 60)
        let quiet = try QuietDataset.of(master)
        try waitUntil(30, "the dataset ready at the master's offset") {
            let d = Self.dataset(follower.dir)
            let pos = try ReplicaStore.inspect(directory: follower.dir).offset
            return d?.phase == .ready && d?.appliedOffset == pos
        }
        let out = tmp.file("snap.rdb").path
        let (status, _, stderr) = try SnapshotCommandTests.run(["snapshot", "--dir", follower.dir, "--out", out])
        #expect(status == 0, "\(stderr)")
        let loaded = try RedisServerProcess.loadedDigest(of: URL(fileURLWithPath: out), binary: binary)
        #expect(loaded.digest == quiet.digest)
        #expect(loaded.keys == quiet.keys)

        // A cut: the master dies in the middle of a diskless transfer (a disk-based one arrives too fast to
        // be caught in the middle here). The old dataset, its position and its snapshot stay.
        guard diskless == "yes" else { return }
        try c.call("SET", "probe", "third")
        let ours = try RedisClient(port: port)
        defer { ours.close() }
        try waitUntil(30, "our dataset at the last write") { try Self.probe(ours) == "third" }
        let before = try ReplicaStore.inspect(directory: follower.dir)
        try Self.forceFullResync(c)
        try waitUntil(60, "the transfer under way") {
            let d = Self.dataset(follower.dir)
            return d?.receiving == true && (d?.receivedBytes ?? 0) > 1 << 20
        }
        master.kill9()
        #expect(try Self.probe(ours) == "third")
        try waitUntil(30, "the state back on the old dataset") {
            let d = Self.dataset(follower.dir)
            return d?.receiving == nil && d?.phase == .ready
        }
        let after = try ReplicaStore.inspect(directory: follower.dir)
        #expect(after.offset == before.offset && after.replid == before.replid)
        #expect(after.snapshot?.file == before.snapshot?.file)
        #expect(Self.dataset(follower.dir)?.appliedOffset == after.offset, "the old dataset stays at the recorded position")
        #expect(try Self.probe(ours) == "third")
        let names = try FileManager.default.contentsOfDirectory(atPath: follower.dir)
        #expect(!names.contains { $0.hasPrefix("fullsync-") }, "\(names)")
        #expect(follower.log.contains("Full sync interrupted"), "\(follower.log.suffix(3000))")
        #expect(follower.stop() == 0)
    }
}
