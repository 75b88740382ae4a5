import Base
import Foundation
import Keyspace
import Logging
import NIOCore
@testable import ReplicaNode
import ReplicaStore
import Replication
import Testing
import TestSupport

@Suite("LinkDriver: full sync verified while it arrives, received snapshots, FACK")
struct LinkDriverFullSyncTests {
    @Test("the RDB is verified while it arrives (full and checksum, sized and EOF-mark), then published",
          arguments: [SnapshotVerifyDepth.full, .checksum], [false, true])
    func verifiedWhileArriving(depth: SnapshotVerifyDepth, diskless: Bool) throws {
        let rig = try DriverRig(verifyDepth: depth)
        _ = try rig.startAndHandshake()
        let rdb = tinyRDB(replid: masterID, offset: 700)
        let mark = String(repeating: "m", count: 40)
        let preamble = diskless ? "$EOF:\(mark)\r\n" : "$\(rdb.count)\r\n"
        try rig.master("+FULLRESYNC \(masterID) 700\r\n" + preamble)
        // Drip the payload: the verifier thread follows the file as it grows.
        for b in rdb { try rig.master([b]) }
        if diskless { try rig.master(mark) }
        #expect(rig.store.position == ReplicationPosition(replid: masterID, offset: 700, streamDB: 0))
        #expect(try rig.sent() == command("REPLCONF", "ACK", "700", "FACK", "700"))
        try rig.shutdown()
    }

    @Test("a corrupt RDB is rejected by the verification that ran while it arrived, and never marked received",
          arguments: [SnapshotVerifyDepth.full, .checksum])
    func corruptWhileArriving(depth: SnapshotVerifyDepth) throws {
        let rig = try DriverRig(verifyDepth: depth)
        _ = try rig.startAndHandshake()
        var rdb = tinyRDB(replid: masterID, offset: 9)
        rdb[rdb.count - 3] ^= 0x01  // a stored CRC-64 that does not match
        try rig.master(Array("+FULLRESYNC \(masterID) 9\r\n$\(rdb.count)\r\n".utf8) + rdb)
        #expect(rig.store.position == nil)
        #expect(!rig.channel.isActive)
        #expect(try rig.fs.list(rig.directory).filter { $0.hasPrefix("snapshot-") || $0.hasPrefix("fullsync-") } == [])
        try rig.shutdown()
    }

    @Test("with a dataset, the transfer loads as it arrives: status shows it; a cut drops it; a complete one is swapped in")
    func datasetLoadsWhileArriving() throws {
        let rig = try DriverRig(verifyDepth: .full)
        let follower = DatasetFollower(store: rig.store, logger: Logger(label: "test"), fileSystem: rig.fs,
                                       idleWait: .milliseconds(5))
        rig.driver.dataset = follower
        _ = try rig.startAndHandshake()
        let rdb = tinyRDB(replid: masterID, offset: 700)
        try rig.master("+FULLRESYNC \(masterID) 700\r\n$\(rdb.count)\r\n")
        try rig.master(Array(rdb[0..<20]))
        #expect(follower.state.receiving == true && follower.state.totalBytes == Int64(rdb.count))
        // Cut in the middle: the load is dropped, nothing is published.
        rig.channel.pipeline.fireChannelInactive()
        rig.loop.run()
        #expect(follower.state.receiving == nil)
        #expect(rig.store.position == nil)
        // The next transfer completes: published, and the dataset follower swaps in its dataset.
        rig.advance(seconds: 1)
        _ = try rig.handshake()
        try rig.master("+FULLRESYNC \(masterID) 700\r\n$\(rdb.count)\r\n")
        for b in rdb { try rig.master([b]) }
        #expect(rig.store.position == ReplicationPosition(replid: masterID, offset: 700, streamDB: 0))
        follower.start()
        defer { follower.stop() }
        let deadline = Date().addingTimeInterval(20)
        while follower.state.phase != .ready && Date() < deadline { usleep(2_000) }
        #expect(follower.state.phase == .ready && follower.state.appliedOffset == 700)
        #expect(follower.dataset()?.keyspace[0, Array("k".utf8)] != nil)
        try rig.shutdown()
    }

    @Test("FACK carries the fsynced offset, never more: under --fsync no it stays at the last fsync")
    func fackNeverClaimsMoreThanFsynced() throws {
        let rig = try DriverRig(fsync: .no)
        _ = try rig.startAndHandshake()
        let rdb = tinyRDB(replid: masterID, offset: 100)
        let stream = command("SET", "a", "1")
        try rig.master(Array("+FULLRESYNC \(masterID) 100\r\n$\(rdb.count)\r\n".utf8) + rdb + stream)
        #expect(try rig.sent() == command("REPLCONF", "ACK", "100", "FACK", "100"))
        #expect(rig.store.position?.offset == 100 + Int64(stream.count))
        rig.advance(seconds: 1)
        let end = String(100 + stream.count)
        #expect(try rig.sent() == command("REPLCONF", "ACK", end, "FACK", "100"))
        try rig.store.sync()
        rig.advance(seconds: 1)
        #expect(try rig.sent() == command("REPLCONF", "ACK", end, "FACK", end))
        try rig.shutdown()
    }

    /// A store that was stopped (as by kill -9) after the transfer was marked received, before publishing.
    static func receivedStore(fs: SimulatedFileSystem, directory: String, verified: String?) throws -> ReplicaStore {
        let store = try ReplicaStore.open(directory: directory, fsync: .always, fileSystem: fs, options: .init(backgroundSync: false))
        let w = try store.beginFullSync(replid: masterID, offset: 321)
        try w.write(tinyRDB(replid: masterID, offset: 321, streamDB: 2))
        try store.markReceived(w, verified: verified)
        fs.crash(seed: 3)
        return try ReplicaStore.open(directory: directory, fsync: .always, fileSystem: fs, options: .init(backgroundSync: false))
    }

    @Test("at start-up a received snapshot is verified (unless already) and published: PSYNC continues from it")
    func receivedSnapshotIsPublishedAtStart() throws {
        for (verified, expectVerifierCall) in [(nil as String?, true), ("full", false)] {
            let fs = SimulatedFileSystem()
            let store = try Self.receivedStore(fs: fs, directory: "/d", verified: verified)
            #expect(store.receivedSnapshot != nil)
            let calls = Counter()
            let snap = try LinkDriver.publishReceived(store: store, verifyDepth: .full, verifier: { path, depth in
                calls.add()
                return try SnapshotVerifier.verify(path: path, depth: depth, fileSystem: fs)
            }, logger: Logger(label: "test"))
            #expect(snap != nil)
            #expect(calls.value == (expectVerifierCall ? 1 : 0))
            #expect(store.position == ReplicationPosition(replid: masterID, offset: 321, streamDB: 2))
            #expect(store.receivedSnapshot == nil)
            try store.close()
        }
    }

    @Test("at start-up a received snapshot that fails verification is discarded and the old state kept")
    func receivedSnapshotFailingVerificationIsDiscarded() throws {
        struct Corrupt: Error {}
        let fs = SimulatedFileSystem()
        let store = try Self.receivedStore(fs: fs, directory: "/d", verified: nil)
        let snap = try LinkDriver.publishReceived(store: store, verifyDepth: .checksum, verifier: { _, _ in throw Corrupt() },
                                                  logger: Logger(label: "test"))
        #expect(snap == nil)
        #expect(store.position == nil)
        #expect(try fs.list("/d").filter { $0 != "LOCK" } == [])
        try store.close()
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
