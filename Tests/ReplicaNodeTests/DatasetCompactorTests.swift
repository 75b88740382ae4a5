import Base
import Foundation
import Keyspace
import Logging
import RDB
@testable import ReplicaNode
import ReplicaStore
import Testing
import TestSupport

/// The follower compacts when the log passes the threshold: the new snapshot holds the dataset at its
/// offset (a fresh follower rebuilt from it equals the live one), appends go on meanwhile, and a
/// diverged dataset is never compacted.
@Suite struct DatasetCompactorTests {
    let helper = DatasetFollowerTests()

    @Test(arguments: [4 as UInt64, 5]) func compactsAndRebuildsTheSameDataset(seed: UInt64) throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "compact")
        defer { dir.remove() }
        let store = try helper.openStore(dir)
        var rng = SeededRandom(seed: seed)
        let base = DatasetFollowerTests.baseKeyspace(&rng, n: 50)
        try helper.publish(store, base, replid: DatasetFollowerTests.replid, offset: 1000, streamDB: 1)
        let lineage = store.currentManifest!.lineage
        var expected = StreamReplay(keyspace: base, selectedDB: 1, offset: 1000)
        let f = helper.follower(store)
        let compactor = DatasetCompactor(store: store, logger: Logger(label: "test"), threshold: 6000)
        f.compactor = compactor
        f.start()
        for round in 0..<6 {
            try helper.append(store, DatasetFollowerTests.commands(&rng, count: 150), onto: &expected)
            f.wake()
            let end = store.position!.offset
            try waitFor("ready at \(end) (round \(round))", f) { $0.phase == .ready && $0.appliedOffset == end }
        }
        // Compactions run on their own thread: wait for two to finish (more rounds if the log has not
        // passed the threshold twice yet), then apply one more chunk, which refreshes the state.
        let deadline = Date().addingTimeInterval(20)
        var round = 6
        while (compactor.isRunning || compactor.completedCount < 2) && Date() < deadline {
            if !compactor.isRunning && compactor.completedCount < 2 {
                try helper.append(store, DatasetFollowerTests.commands(&rng, count: 150), onto: &expected)
                f.wake()
                let end = store.position!.offset
                try waitFor("ready at \(end) (round \(round))", f) { $0.phase == .ready && $0.appliedOffset == end }
                round += 1
            }
            usleep(5_000)
        }
        while compactor.isRunning && Date() < deadline { usleep(5_000) }
        try helper.append(store, DatasetFollowerTests.commands(&rng, count: 3), onto: &expected)
        f.wake()
        let last = store.position!.offset
        try waitFor("ready at \(last) after the compactions", f) { $0.phase == .ready && $0.appliedOffset == last }
        while compactor.isRunning && Date() < deadline { usleep(5_000) }
        #expect(compactor.completedCount >= 2)
        let m = try #require(store.currentManifest)
        #expect(m.lineage == lineage && m.compaction != nil)
        #expect(m.snapshot.aux?.offset == m.snapshot.offset && m.snapshot.aux?.replid == DatasetFollowerTests.replid)
        let live = try #require(f.dataset())
        #expect(live.keyspace == expected.keyspace)
        // The state is refreshed as bytes are applied: after two compactions it names a compacted snapshot.
        #expect(f.state.snapshot != lineage, "status names a compacted snapshot")
        f.stop()
        try store.close()

        // A fresh follower from the compacted directory reaches the same dataset.
        let again = try helper.openStore(dir)
        defer { try? again.close() }
        #expect(again.currentManifest?.snapshot.file == m.snapshot.file)
        let g = helper.follower(again)
        g.start()
        defer { g.stop() }
        let end = again.position!.offset
        try waitFor("rebuilt at \(end)", g) { $0.phase == .ready && $0.appliedOffset == end }
        #expect(g.dataset()?.keyspace == expected.keyspace)
    }

    /// A compaction that fails (here: field expiries and a target of RDB 11) is tried again only once the
    /// log has grown by another threshold, not on every applied chunk (it used to retry in a tight loop).
    @Test func aFailedCompactionWaitsForAnotherThreshold() throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "compact")
        defer { dir.remove() }
        let store = try helper.openStore(dir)
        defer { try? store.close() }
        var rng = SeededRandom(seed: 9)
        let base = DatasetFollowerTests.baseKeyspace(&rng, n: 10)
        try helper.publish(store, base, replid: DatasetFollowerTests.replid, offset: 0, streamDB: 0)
        var replay = StreamReplay(keyspace: base, selectedDB: 0, offset: 0)
        func append(_ commands: [[String]]) throws { try helper.append(store, commands, onto: &replay) }
        try append([["HSET", "h", "f", "v"], ["HPEXPIREAT", "h", "4102444800000", "FIELDS", "1", "f"]]
                   + (0..<40).map { ["SET", "k\($0)", String(repeating: "v", count: 50)] })
        let compactor = DatasetCompactor(store: store, logger: Logger(label: "test"), threshold: 1000)
        let lineage = try #require(store.currentManifest?.lineage)
        func consider() {
            let d = DatasetFollower.Dataset(keyspace: replay.keyspace, offset: store.position!.offset, streamDB: 0,
                                            snapshotFile: "", divergence: nil)
            compactor.consider(d, lineage: lineage, rdbVersion: 11)
            let deadline = Date().addingTimeInterval(20)
            while compactor.isRunning && Date() < deadline { usleep(2_000) }
        }
        consider()
        #expect(compactor.failedCount == 1 && compactor.completedCount == 0)
        for _ in 0..<5 { consider() }
        #expect(compactor.failedCount == 1, "retried before the log grew by another threshold")
        try append((0..<40).map { ["SET", "more\($0)", String(repeating: "w", count: 50)] })
        consider()
        #expect(compactor.failedCount == 2)
        #expect(store.currentManifest?.compaction == nil)
    }

    @Test func aDivergedDatasetIsNeverCompacted() throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "compact")
        defer { dir.remove() }
        let store = try helper.openStore(dir)
        defer { try? store.close() }
        var rng = SeededRandom(seed: 8)
        try helper.publish(store, DatasetFollowerTests.baseKeyspace(&rng, n: 10), replid: DatasetFollowerTests.replid, offset: 0, streamDB: 0)
        try store.append(DatasetFollowerTests.resp(["SET", "a", "1"]), streamDB: 0)
        try store.append(DatasetFollowerTests.resp(["LPUSH", "a", "x"]), streamDB: 0)  // WRONGTYPE
        for i in 0..<200 { try store.append(DatasetFollowerTests.resp(["SET", "k\(i)", String(repeating: "v", count: 50)]), streamDB: 0) }
        let f = helper.follower(store)
        let compactor = DatasetCompactor(store: store, logger: Logger(label: "test"), threshold: 100)
        f.compactor = compactor
        f.start()
        defer { f.stop() }
        try waitFor("diverged", f) { $0.phase == .diverged }
        usleep(100_000)
        #expect(compactor.completedCount == 0 && !compactor.isRunning)
        #expect(store.currentManifest?.compaction == nil)
    }
}

/// The compaction's sink keeps the snapshot's dirty pages few without committing the file system's
/// journal: every `chunk` bytes it starts that chunk's writeback and waits for the one before (as Redis's
/// `rioFileWrite` does), never fsyncs (the compaction fsyncs once at the end), and writes every byte.
@Suite struct DurableFileSinkTests {
    final class RecordingFile: DurableFile {
        let path = "/recording"
        var data: [UInt8] = []
        var calls: [String] = []
        func write(_ bytes: UnsafeRawBufferPointer) throws { data += bytes }
        func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int { 0 }
        func sync() throws { calls.append("sync") }
        func truncate(to size: Int64) throws {}
        func size() throws -> Int64 { Int64(data.count) }
        func close() {}
        func startWriteback(offset: Int64, count: Int64) throws { calls.append("start \(offset)+\(count)") }
        func waitForWriteback(offset: Int64, count: Int64) throws { calls.append("wait \(offset)+\(count)") }
    }

    @Test func startsEachChunksWritebackAndWaitsForThePreviousOne() throws {
        let file = RecordingFile()
        var sink = DurableFileSink(file: file)
        sink.chunk = 10
        var rng = SeededRandom(seed: 12)
        var all: [UInt8] = []
        while all.count < 47 {
            let piece = (0..<Int(rng.next() % 9 + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            all += piece
            try piece.withUnsafeBytes { try sink.write($0) }
        }
        #expect(file.data == all)
        #expect(file.calls == ["start 0+10", "start 10+10", "wait 0+10", "start 20+10", "wait 10+10",
                               "start 30+10", "wait 20+10"] + (all.count >= 50 ? ["start 40+10", "wait 30+10"] : []))
        #expect(!file.calls.contains("sync"))
    }
}
