import Base
import Foundation
import Keyspace
import Logging
import RDB
@testable import ReplicaNode
import ReplicaStore
import Testing
import TestSupport

/// The dataset follower rebuilds the master's dataset from a store (snapshot + log), tails appends, marks
/// divergence, and swaps to a new snapshot once it has loaded.
@Suite struct DatasetFollowerTests {
    static let replid = String(repeating: "a1", count: 20)
    static let replid2 = String(repeating: "b2", count: 20)

    static func resp(_ args: [String]) -> [UInt8] {
        var s = "*\(args.count)\r\n"
        for a in args { s += "$\(a.utf8.count)\r\n\(a)\r\n" }
        return Array(s.utf8)
    }

    /// A base dataset of `n` keys across two dbs.
    static func baseKeyspace(_ rng: inout SeededRandom, n: Int) -> Keyspace {
        var ks = Keyspace()
        for i in 0..<n {
            ks[i % 2, Array("k\(i)".utf8)] = KeyEntry(value: .string(Array("v\(rng.next() % 1000)".utf8)))
        }
        return ks
    }

    /// Seeded commands over strings, lists, hashes and sets, with SELECTs and a MULTI/EXEC.
    static func commands(_ rng: inout SeededRandom, count: Int) -> [[String]] {
        var out: [[String]] = []
        for i in 0..<count {
            let k = "k\(rng.next() % 40)"
            switch rng.next() % 7 {
            case 0: out.append(["SELECT", String(rng.next() % 3)])
            case 1: out.append(["SET", k, "x\(i)"])
            case 2: out.append(["RPUSH", "l\(rng.next() % 5)", "e\(i)", "f\(i)"])
            case 3: out.append(["HSET", "h\(rng.next() % 5)", "f\(rng.next() % 9)", "\(i)"])
            case 4: out.append(["SADD", "s\(rng.next() % 5)", "m\(rng.next() % 20)"])
            case 5: out.append(["DEL", k])
            default: out += [["MULTI"], ["INCR", "n\(rng.next() % 4)"], ["PEXPIREAT", "n0", "4102444800000"], ["EXEC"]]
            }
        }
        return out
    }

    func openStore(_ dir: TemporaryDirectory, segmentSize: Int64 = 4096) throws -> ReplicaStore {
        try ReplicaStore.open(directory: dir.url.path, fsync: .no,
                              options: ReplicaStore.Options(segmentSize: segmentSize, backgroundSync: false))
    }

    func publish(_ store: ReplicaStore, _ ks: Keyspace, replid: String, offset: Int64, streamDB: Int) throws {
        let aux = RDBAuxInfo(replication: ReplicationPosition(replid: replid, offset: offset, streamDB: streamDB))
        let w = try store.beginFullSync(replid: replid, offset: offset)
        try w.write(try ks.rdbBytes(aux: aux))
        try store.publish(w)
    }

    /// Appends commands one record per few commands; returns the expected dataset (loading + applying).
    func append(_ store: ReplicaStore, _ cmds: [[String]], onto replay: inout StreamReplay) throws {
        var batch: [UInt8] = []
        var inMulti = false
        for c in cmds {
            let b = Self.resp(c)
            batch += b
            replay.feed(b, nowMs: 0)
            if c[0] == "MULTI" { inMulti = true }
            if c[0] == "EXEC" { inMulti = false }
            if !inMulti && batch.count > 200 {
                try store.append(batch, streamDB: replay.boundary.streamDB)
                batch = []
            }
        }
        if !batch.isEmpty { try store.append(batch, streamDB: replay.boundary.streamDB) }
    }

    func follower(_ store: ReplicaStore) -> DatasetFollower {
        DatasetFollower(store: store, logger: Logger(label: "test"), idleWait: .milliseconds(5))
    }

    @Test(arguments: [1 as UInt64, 2, 3]) func snapshotPlusLogThenTail(seed: UInt64) throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "dataset")
        defer { dir.remove() }
        let store = try openStore(dir)
        defer { try? store.close() }
        var rng = SeededRandom(seed: seed)
        let base = Self.baseKeyspace(&rng, n: 50)
        try publish(store, base, replid: Self.replid, offset: 1000, streamDB: 1)
        var expected = StreamReplay(keyspace: base, selectedDB: 1, offset: 1000)
        try append(store, Self.commands(&rng, count: 300), onto: &expected)
        #expect(expected.divergence == nil)
        let f = follower(store)
        f.start()
        defer { f.stop() }
        let end1 = store.position!.offset
        try waitFor("ready at \(end1)", f) { $0.phase == .ready && $0.appliedOffset == end1 }
        #expect(f.dataset()?.keyspace == expected.keyspace)
        #expect(f.state.keys == expected.keyspace.keyCount)
        // Appends made after it was ready (across segment rolls) are applied too.
        try append(store, Self.commands(&rng, count: 300), onto: &expected)
        let end2 = store.position!.offset
        f.wake()
        try waitFor("ready at \(end2)", f) { $0.phase == .ready && $0.appliedOffset == end2 }
        let d = try #require(f.dataset())
        #expect(d.keyspace == expected.keyspace)
        #expect(d.offset == end2 && d.streamDB == expected.boundary.streamDB)
        #expect(store.currentManifest!.segments.count > 2)
    }

    @Test func divergingCommandIsReported() throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "dataset")
        defer { dir.remove() }
        let store = try openStore(dir)
        defer { try? store.close() }
        var rng = SeededRandom(seed: 9)
        try publish(store, Self.baseKeyspace(&rng, n: 10), replid: Self.replid, offset: 0, streamDB: 0)
        try store.append(Self.resp(["SET", "a", "1"]), streamDB: 0)
        let good = store.position!.offset
        try store.append(Self.resp(["LPUSH", "a", "x"]), streamDB: 0)  // WRONGTYPE: not the master's dataset
        let bad = store.position!.offset
        try store.append(Self.resp(["SET", "b", "2"]), streamDB: 0)
        let f = follower(store)
        f.start()
        defer { f.stop() }
        try waitFor("diverged", f) { $0.phase == .diverged }
        let s = f.state
        #expect(s.divergedOffset == bad && s.command == "LPUSH")
        #expect(s.reason?.contains("WRONGTYPE") == true)
        let d = try #require(f.dataset())
        #expect(d.offset == good)
        #expect(d.divergence?.offset == bad)
        #expect(d.keyspace[0, Array("b".utf8)] == nil)
        // Recording goes on: the store still appends.
        try store.append(Self.resp(["SET", "c", "3"]), streamDB: 0)
    }

    @Test func badLogBytesDivergeWithoutCrashing() throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "dataset")
        defer { dir.remove() }
        let store = try openStore(dir)
        defer { try? store.close() }
        try publish(store, Keyspace(), replid: Self.replid, offset: 0, streamDB: 0)
        try store.append(Self.resp(["SET", "a", "1"]) + Array("*2\r\n$3\r\nGET\r\n:1\r\n".utf8), streamDB: 0)
        let f = follower(store)
        f.start()
        defer { f.stop() }
        try waitFor("diverged", f) { $0.phase == .diverged }
        #expect(f.state.divergedOffset == Int64(Self.resp(["SET", "a", "1"]).count))
    }

    @Test func newSnapshotIsSwappedInWhenLoaded() throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "dataset")
        defer { dir.remove() }
        let store = try openStore(dir)
        defer { try? store.close() }
        var rng = SeededRandom(seed: 4)
        let first = Self.baseKeyspace(&rng, n: 20)
        try publish(store, first, replid: Self.replid, offset: 100, streamDB: 0)
        var expected = StreamReplay(keyspace: first, selectedDB: 0, offset: 100)
        try append(store, Self.commands(&rng, count: 50), onto: &expected)
        let f = follower(store)
        f.start()
        defer { f.stop() }
        let end1 = store.position!.offset
        try waitFor("ready", f) { $0.phase == .ready && $0.appliedOffset == end1 }
        #expect(f.dataset()?.keyspace == expected.keyspace)
        // The master's full sync replaces the dataset.
        let second = Self.baseKeyspace(&rng, n: 3000)
        try publish(store, second, replid: Self.replid2, offset: 5_000_000, streamDB: 2)
        var expected2 = StreamReplay(keyspace: second, selectedDB: 2, offset: 5_000_000)
        try append(store, Self.commands(&rng, count: 50), onto: &expected2)
        let end2 = store.position!.offset
        f.wake()
        // Until the new one is ready, the old dataset is still whole.
        var sawOld = false
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let s = f.state
            if s.phase == .ready && s.appliedOffset == end2 { break }
            if let d = f.dataset(), d.snapshotFile != store.currentManifest!.snapshot.file {
                #expect(d.keyspace == expected.keyspace)
                sawOld = true
            }
            usleep(1_000)
        }
        _ = sawOld
        let d = try #require(f.dataset())
        #expect(d.offset == end2)
        #expect(d.keyspace == expected2.keyspace)
        #expect(d.snapshotFile == store.currentManifest!.snapshot.file)
    }
}
