import Foundation
import ReplicaStore
import Testing
import TestSupport

/// `follow --compact-after-bytes` against a real redis-server 7.0 master: under a seeded write load
/// several compactions replace the snapshot and delete the log before it; after a kill -9 the restart
/// resumes with +CONTINUE (the master's sync_full unchanged); and `redis-replica snapshot` of the
/// directory, loaded by a fresh redis-server, has the master's DEBUG DIGEST.
@Suite("follow compacts its log", .serialized)
struct CompactionFollowTests {
    static func files(_ dir: String, prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
    }

    @Test("several compactions under load, kill -9, +CONTINUE, and the snapshot has the master's digest")
    func compactsUnderLoad() throws {
        let master = try RedisServerProcess(extraArguments: ["--repl-diskless-sync", "no", "--enable-debug-command", "yes",
                                                             "--repl-backlog-size", "16mb"])
        let c = try master.client()
        defer { c.close() }
        try FollowIntegrationTests.loadSmallDataset(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        defer { tmp.remove() }
        let servePort = try FreePort.allocate()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: Int(servePort),
                                extra: ["--compact-after-bytes", "20000", "--fsync", "everysec", "--port", String(servePort)])
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        // A downstream replica of ours from before the compactions: it keeps streaming through them.
        func downstream() throws -> RedisServerProcess {
            try RedisServerProcess(extraArguments: ["--enable-debug-command", "yes", "--replicaof", "127.0.0.1", String(servePort)])
        }
        func inSync(_ r: RedisServerProcess) throws -> Bool {
            let i = try r.replicationInfo()
            return try i["master_link_status"] == "up" && i["slave_repl_offset"] == master.replicationInfo()["master_repl_offset"]
        }
        let early = try downstream()
        try waitUntil(30, "the early downstream in sync") { try inSync(early) }
        let firstSnapshot = try #require(try ReplicaStore.inspect(directory: follower.dir).snapshot?.file)

        var compactions: Int64 = 0
        var snapshotsWhileRunning = 0
        for round in 0..<4 {
            try DatasetFollowTests.workload(c, seed: 100 + UInt64(round), count: 700)
            // `snapshot` while follow runs and compacts: a look that races a manifest switch looks again.
            let (st, so, se) = try SnapshotCommandTests.run(["snapshot", "--dir", follower.dir, "--out", tmp.file("live-\(round).rdb").path])
            #expect(st == 0, "snapshot while follow compacts: \(so) \(se)")
            if st == 0 { snapshotsWhileRunning += 1 }
            try follower.waitCaughtUp()
            try waitUntil(30, "compaction #\(round + 1) (log: \(follower.logURL.path))") {
                let s = try ReplicaStore.inspect(directory: follower.dir)
                compactions = s.lastCompaction?.count ?? 0
                return compactions >= Int64(round + 1)
            }
        }
        #expect(compactions >= 3)
        #expect(snapshotsWhileRunning == 4)
        let status = try ReplicaStore.inspect(directory: follower.dir)
        #expect(status.snapshot?.file != firstSnapshot)
        #expect(status.lastCompaction?.fullSyncSnapshot == firstSnapshot)
        #expect(status.snapshot?.aux?.offset == status.lastCompaction?.offset)
        #expect(!Self.files(follower.dir, prefix: "snapshot-").contains(firstSnapshot), "the full sync's snapshot was deleted")
        #expect(follower.log.contains("Compaction done"))
        // Both downstreams have the master's dataset: the early one streamed through the compactions, a
        // late one full-syncs from a compacted snapshot.
        let late = try downstream()
        try waitUntil(30, "both downstreams in sync") { try inSync(early) && inSync(late) }
        let masterDigest = try master.debugDigest()
        #expect(try early.debugDigest() == masterDigest)
        #expect(try late.debugDigest() == masterDigest)
        #expect(follower.count("after a new full sync from our master") == 0, "a compaction disconnected a downstream replica")
        #expect(follower.count("full resync from snapshot") == 2, "the early downstream full-synced once, the late one once")
        early.stop()
        late.stop()

        // kill -9 under load, restart: +CONTINUE from the compacted state.
        let full = try master.stat("sync_full")
        let partial = try master.stat("sync_partial_ok")
        try DatasetFollowTests.workload(c, seed: 200, count: 300)
        follower.kill9()
        try DatasetFollowTests.workload(c, seed: 201, count: 300)
        try follower.start()
        try waitUntil(30, "+CONTINUE after kill -9") { try master.stat("sync_partial_ok") == partial + 1 }
        try DatasetFollowTests.workload(c, seed: 202, count: 700)
        let offset = try follower.waitCaughtUp()
        #expect(try master.stat("sync_full") == full)
        try waitUntil(30, "the dataset ready at \(offset)") {
            let d = try ReplicaStore.inspect(directory: follower.dir).follower?.dataset
            return d?.phase == .ready && d?.appliedOffset == offset
        }
        let digest = try master.debugDigest()
        #expect(follower.stop() == 0)
        #expect(Self.files(follower.dir, prefix: "snapshot-").count == 1)

        // Our snapshot of the directory, loaded by a fresh server, is the master's dataset.
        let out = tmp.file("snap.rdb").path
        let (status2, stdout, stderr) = try SnapshotCommandTests.run(["snapshot", "--dir", follower.dir, "--out", out])
        #expect(status2 == 0, "\(stdout) \(stderr)")
        let loaded = try RedisServerProcess.loadedDigest(of: URL(fileURLWithPath: out), binary: master.binaryPath)
        #expect(loaded.digest == digest)
    }
}
