#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RDB
import ReplicaStore
import Testing
import TestSupport

/// `redis-replica snapshot` on the data directory of a `follow` of a real master: the file is the master's
/// dataset at the directory's position, and its AUX fields make a real Redis replica resume with +CONTINUE.
@Suite("snapshot against redis-server", .serialized)
struct SnapshotCommandTests {
    /// Runs the built binary; returns (status, stdout, stderr).
    static func run(_ args: [String]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try ReplicaBinary.path())
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// The replication AUX fields of an RDB file, read with the project's reader.
    static func replicationAux(_ path: String) throws -> [String: String] {
        let reader = try RDBReader(path: path)
        var aux: [String: String] = [:]
        while let r = try reader.next() {
            switch r {
            case .aux(let k, let v): aux[String(decoding: k, as: UTF8.self)] = String(decoding: v, as: UTF8.self)
            case .header, .moduleAux, .function: continue
            default: return aux
            }
        }
        return aux
    }

    /// A master with every basic type in several dbs, a follower caught up on it after a seeded workload
    /// (SELECT, MULTI/EXEC, EXPIRE, LPUSH, SET), then `snapshot` while the follower keeps running (or after
    /// it stopped): redis-check-rdb accepts the file, a fresh server loading it has the master's DEBUG
    /// DIGEST, and a server started on it with `--replicaof` gets +CONTINUE (sync_full unchanged).
    func followSnapshotResume(binary: String, listeningPort: Int, stopFollower: Bool, seed: UInt64) throws {
        let master = try RedisServerProcess(binary: binary, extraArguments: [
            "--repl-diskless-sync", "no", "--enable-debug-command", "yes", "--repl-backlog-size", "16mb",
        ])
        try FollowIntegrationTests.loadSmallDataset(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: listeningPort)
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        let writer = try BackgroundWriter(port: master.port, seed: seed)
        try writer.waitForMore(3000)
        try writer.stop()
        let caughtUp = try follower.waitCaughtUp()
        if stopFollower { #expect(follower.stop() == 0) }
        let quiet = try QuietDataset.of(master)
        let replid = try #require(try master.replicationInfo()["master_replid"])

        let out = tmp.file("snap.rdb").path
        let (status, stdout, stderr) = try Self.run(["snapshot", "--dir", follower.dir, "--out", out])
        #expect(status == 0, "\(stderr)")
        #expect(stdout.contains("offset"), "\(stdout)")

        // The position in the AUX fields: the master's id, at least the offset the master saw ACKed
        // (a running follower may have logged a PING since), and a stream db.
        let aux = try Self.replicationAux(out)
        #expect(aux["repl-id"] == replid)
        let auxOffset = try #require(aux["repl-offset"].flatMap { Int64($0) })
        #expect(auxOffset >= caughtUp)
        #expect(aux["repl-stream-db"].flatMap { Int($0) } != nil)

        // (1) and (2): the real tools accept it and it holds the master's dataset.
        let url = URL(fileURLWithPath: out)
        let (checkStatus, checkOutput) = try RedisServerProcess.checkRDB(url, binary: RedisServerProcess.checkRDBBinary(for: binary))
        #expect(checkStatus == 0 && checkOutput.contains("RDB looks OK"), "\(checkOutput)")
        let loaded = try RedisServerProcess.loadedDigest(of: url, binary: binary)
        #expect(loaded.digest == quiet.digest)
        #expect(loaded.keys == quiet.keys)

        // (3): a replica started on the file with replicaof in its configuration resumes with +CONTINUE.
        let fullBefore = try master.stat("sync_full")
        let partialBefore = try master.stat("sync_partial_ok")
        let replicaDir = try TestPaths.makeTemporaryDirectory()
        try FileManager.default.copyItem(at: url, to: replicaDir.file("snap.rdb"))
        let replica = try RedisServerProcess(binary: binary, directory: replicaDir.url, dbFilename: "snap.rdb", extraArguments: [
            "--replicaof", "127.0.0.1", String(master.port), "--enable-debug-command", "yes",
        ])
        defer { replica.stop() }
        try waitUntil(30, "the replica's link to be up") {
            try replica.replicationInfo()["master_link_status"] == "up"
        }
        #expect(try master.stat("sync_full") == fullBefore)
        #expect(try master.stat("sync_partial_ok") == partialBefore + 1)
        #expect(replica.log().contains("Successful partial resynchronization"), "\(replica.log().suffix(2000))")
        // The resumed replica follows new writes too.
        let c = try master.client()
        defer { c.close() }
        try c.call("SET", "after-snapshot", "1")
        try waitUntil(20, "the replica to reach the master's offset") {
            try replica.replicationInfo()["slave_repl_offset"] == master.replicationInfo()["master_repl_offset"]
        }
        #expect(try replica.debugDigest() == master.debugDigest())
    }

    /// Taken while the master is being written to: the file is the dataset at some command boundary of the
    /// stream, and its AUX position is that boundary's, so a replica started on it resumes with +CONTINUE and,
    /// once caught up, has exactly the master's dataset (a dataset off by one command would not).
    @Test("Redis 7.0: snapshot during writes; a replica started on it resumes with +CONTINUE and ends equal to the master")
    func redis70DuringWrites() throws {
        let binary = RedisServerProcess.defaultBinaryPath
        let master = try RedisServerProcess(binary: binary, extraArguments: [
            "--enable-debug-command", "yes", "--repl-backlog-size", "64mb",
        ])
        try FollowIntegrationTests.loadSmallDataset(master)
        let tmp = try TestPaths.makeTemporaryDirectory()
        let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: 17104)
        try follower.start()
        defer { follower.stop() }
        try follower.waitCaughtUp()
        let writer = try BackgroundWriter(port: master.port, seed: 94)
        try writer.waitForMore(2000)
        let out = tmp.file("live.rdb").path
        let (status, stdout, stderr) = try Self.run(["snapshot", "--dir", follower.dir, "--out", out])
        try writer.waitForMore(2000)
        try writer.stop()
        #expect(status == 0, "\(stderr)")
        let aux = try Self.replicationAux(out)
        let auxOffset = try #require(aux["repl-offset"].flatMap { Int64($0) }, "\(stdout)")
        let masterOffset = try #require(try master.replicationInfo()["master_repl_offset"].flatMap { Int64($0) })
        #expect(auxOffset < masterOffset, "the snapshot should be taken before the last writes")

        let fullBefore = try master.stat("sync_full")
        let partialBefore = try master.stat("sync_partial_ok")
        let replicaDir = try TestPaths.makeTemporaryDirectory()
        try FileManager.default.copyItem(at: URL(fileURLWithPath: out), to: replicaDir.file("snap.rdb"))
        let replica = try RedisServerProcess(binary: binary, directory: replicaDir.url, dbFilename: "snap.rdb", extraArguments: [
            "--replicaof", "127.0.0.1", String(master.port), "--enable-debug-command", "yes",
        ])
        defer { replica.stop() }
        try waitUntil(30, "the replica to reach the master's offset") {
            try replica.replicationInfo()["slave_repl_offset"] == master.replicationInfo()["master_repl_offset"]
        }
        #expect(try master.stat("sync_full") == fullBefore)
        #expect(try master.stat("sync_partial_ok") == partialBefore + 1)
        #expect(try replica.debugDigest() == master.debugDigest())
    }

    @Test("Redis 7.0: snapshot while follow runs; check-rdb, DEBUG DIGEST, and +CONTINUE for a replica started on it")
    func redis70WhileRunning() throws {
        try followSnapshotResume(binary: RedisServerProcess.defaultBinaryPath, listeningPort: 17101, stopFollower: false, seed: 91)
    }

    @Test("Redis 7.0: snapshot after follow stopped")
    func redis70Stopped() throws {
        try followSnapshotResume(binary: RedisServerProcess.defaultBinaryPath, listeningPort: 17102, stopFollower: true, seed: 92)
    }

    @Test("Redis 8.2: snapshot while follow runs; check-rdb, DEBUG DIGEST, +CONTINUE",
          .enabled(if: RedisServerProcess.redis82BinaryPath != nil, Comment(rawValue: RedisServerProcess.redis82MissingReason)))
    func redis82WhileRunning() throws {
        try followSnapshotResume(binary: try #require(RedisServerProcess.redis82BinaryPath), listeningPort: 17103,
                                 stopFollower: false, seed: 93)
    }
}
