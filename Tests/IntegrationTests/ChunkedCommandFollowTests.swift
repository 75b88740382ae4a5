#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ReplicaStore
import Testing
import TestSupport

/// `follow --max-held-command-bytes` small against a real Redis 7.0 master: a value many times the
/// threshold and a long MULTI/EXEC go to the log as records flagged `continues` while they arrive, the
/// ACKed offset is the master's, and the stored log replays (`snapshot`) to the master's DEBUG DIGEST.
@Suite("follow: commands larger than --max-held-command-bytes", .serialized)
struct ChunkedCommandFollowTests {
    @Test("Redis 7.0: a 3 MB value and a 200-command MULTI stream through a 4 KiB limit; the log replays to DEBUG DIGEST")
    func bigValueThroughSmallLimit() throws {
        let master = try RedisServerProcess(binary: RedisServerProcess.defaultBinaryPath, extraArguments: [
            "--repl-diskless-sync", "no", "--enable-debug-command", "yes", "--repl-backlog-size", "16mb",
        ])
        try FollowIntegrationTests.loadSmallDataset(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17201,
                                extra: ["--max-held-command-bytes", "4096"])
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()

        let c = try master.client(timeout: 60)
        defer { c.close() }
        var rng = SeededRandom(seed: 8)
        let big = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        try c.call([Array("SET".utf8), Array("big".utf8), big])
        try c.call("SELECT", "2")
        try c.call("MULTI")
        for i in 0..<200 { try c.call("RPUSH", "txlist", String(repeating: "e\(i)-", count: 10)) }
        try c.call("EXEC")
        try c.call([Array("APPEND".utf8), Array("big2".utf8), Array(big.prefix(100_000))])
        try c.call("SET", "small", "after")
        let caughtUp = try follower.waitCaughtUp(timeout: 60)
        #expect(follower.stop() == 0)
        let quiet = try QuietDataset.of(master)

        // The log holds continues records, and the position is the master's offset (or past it by PINGs).
        let view = try StoreReadView.open(directory: follower.dir)
        var flagged = 0
        try view.forEachLogRecord { e in
            if e.continues { flagged += 1 }
            return true
        }
        view.close()
        // Each read past the limit is handed out whole (reads are up to 64 KiB), so at least 3 MB / 68 KiB.
        #expect(flagged >= (3 << 20) / (68 << 10), "only \(flagged) records flagged continues")
        let stored = try StoredState.read(follower.dir)
        #expect(stored.isAt(caughtUp: caughtUp), "stored \(String(describing: stored.position)), master \(caughtUp)")

        // The stored log replays to the master's dataset.
        let out = tmp.file("snap.rdb").path
        let (status, _, stderr) = try SnapshotCommandTests.run(["snapshot", "--dir", follower.dir, "--out", out])
        #expect(status == 0, "\(stderr)")
        let loaded = try RedisServerProcess.loadedDigest(of: URL(fileURLWithPath: out), binary: master.binaryPath)
        #expect(loaded.digest == quiet.digest)
        #expect(loaded.keys == quiet.keys)
    }
}
