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
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17061,
                                extra: ["--compact-after-bytes", "20000", "--fsync", "everysec"])
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        let firstSnapshot = try #require(try ReplicaStore.inspect(directory: follower.dir).snapshot?.file)

        var compactions: Int64 = 0
        for round in 0..<4 {
            try DatasetFollowTests.workload(c, seed: 100 + UInt64(round), count: 700)
            try follower.waitCaughtUp()
            try waitUntil(30, "compaction #\(round + 1) (log: \(follower.logURL.path))") {
                let s = try ReplicaStore.inspect(directory: follower.dir)
                compactions = s.lastCompaction?.count ?? 0
                return compactions >= Int64(round + 1)
            }
        }
        #expect(compactions >= 3)
        let status = try ReplicaStore.inspect(directory: follower.dir)
        #expect(status.snapshot?.file != firstSnapshot)
        #expect(status.lastCompaction?.fullSyncSnapshot == firstSnapshot)
        #expect(status.snapshot?.aux?.offset == status.lastCompaction?.offset)
        #expect(!Self.files(follower.dir, prefix: "snapshot-").contains(firstSnapshot), "the full sync's snapshot was deleted")
        #expect(follower.log.contains("Compaction done"))

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
