import Base
import Foundation
import Keyspace
import Logging
import RDB
@testable import ReplicaNode
import ReplicaStore
import Testing
import TestSupport

/// A full sync's dataset is loaded while its bytes arrive (`IncomingRDBVerifier` with an `IncomingLoad`)
/// and handed to the dataset follower at the publish; the old dataset serves until the swap, and a cut
/// transfer leaves it (and its position) as it was.
@Suite struct IncomingLoadTests {
    typealias T = DatasetFollowerTests

    /// Writes `bytes` into `w` in seeded random pieces (1 byte to 4 KiB), with short pauses, so the loading
    /// thread keeps catching up with the writer.
    static func dripWrite(_ w: FullSyncWriter, _ bytes: [UInt8], seed: UInt64, upTo end: Int? = nil) throws {
        var rng = SeededRandom(seed: seed)
        var at = 0
        let stop = end ?? bytes.count
        while at < stop {
            let n = min(stop - at, 1 + Int(rng.next() % (rng.next() % 4 == 0 ? 4096 : 64)))
            try w.write(Array(bytes[at..<at + n]))
            at += n
            if rng.next() % 16 == 0 { usleep(200) }
        }
    }

    static func rdb(_ ks: Keyspace, replid: String, offset: Int64, streamDB: Int) throws -> [UInt8] {
        try ks.rdbBytes(aux: RDBAuxInfo(replication: ReplicationPosition(replid: replid, offset: offset, streamDB: streamDB)))
    }

    @Test("the dataset is built from the bytes as they arrive, for every verify depth; the verdict is unchanged",
          arguments: [SnapshotVerifyDepth.full, .checksum, nil])
    func loadsWhileArriving(depth: SnapshotVerifyDepth?) throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "incoming")
        defer { dir.remove() }
        let store = try DatasetFollowerTests().openStore(dir)
        defer { try? store.close() }
        var rng = SeededRandom(seed: 21)
        let ks = T.baseKeyspace(&rng, n: 2000)
        let bytes = try Self.rdb(ks, replid: T.replid, offset: 77, streamDB: 1)
        let w = try store.beginFullSync(replid: T.replid, offset: 77)
        let load = IncomingLoad(writer: w, transferSize: Int64(bytes.count))
        let v = IncomingRDBVerifier(writer: w, depth: depth, load: load)
        v.start()
        try Self.dripWrite(w, bytes, seed: 5)
        w.endOfInput()
        let summary = try v.result()
        #expect(summary.contains(depth == nil ? "not verified" : depth == .full ? "2000 keys" : "CRC-64 ok"), "\(summary)")
        let s = load.state
        #expect(s.phase == .loading && s.receiving == true && s.percent == 100 && s.keys == 2000)
        guard case .success(let loaded)? = load.take(timeout: .now()) else {
            Issue.record("no dataset")
            return
        }
        #expect(loaded.keyspace == ks)
        #expect(loaded.header?.version == RDBWriterOptions.newestVersion)
        // Handed over once: a second take gets nothing.
        guard case .failure? = load.take(timeout: .now()) else {
            Issue.record("the dataset was handed over twice")
            return
        }
        w.abort()
    }

    @Test("a transfer cut in the middle fails the load (the partial keyspace is dropped) and the verdict")
    func cutTransfer() throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "incoming")
        defer { dir.remove() }
        let store = try DatasetFollowerTests().openStore(dir)
        defer { try? store.close() }
        var rng = SeededRandom(seed: 22)
        let bytes = try Self.rdb(T.baseKeyspace(&rng, n: 3000), replid: T.replid, offset: 5, streamDB: 0)
        for depth in [SnapshotVerifyDepth.full, nil] {
            let w = try store.beginFullSync(replid: T.replid, offset: 5)
            let load = IncomingLoad(writer: w, transferSize: nil)
            let v = IncomingRDBVerifier(writer: w, depth: depth, load: load)
            v.start()
            try Self.dripWrite(w, bytes, seed: 6, upTo: bytes.count / 2)
            #expect(load.state.totalBytes == nil, "a diskless transfer's size is known only at its end")
            w.abort()
            if depth == .full { #expect(throws: (any Error).self) { try v.result() } } else { _ = try? v.result() }
            guard case .failure? = load.take(timeout: .now() + 5) else {
                Issue.record("a cut transfer produced a dataset")
                return
            }
        }
    }

    @Test("the old dataset serves while the full sync loads as it arrives, then the preloaded one is swapped in")
    func swapFromIncoming() throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "incoming")
        defer { dir.remove() }
        let rig = DatasetFollowerTests()
        let store = try rig.openStore(dir)
        defer { try? store.close() }
        var rng = SeededRandom(seed: 23)
        let first = T.baseKeyspace(&rng, n: 20)
        try rig.publish(store, first, replid: T.replid, offset: 100, streamDB: 0)
        var old = StreamReplay(keyspace: first, selectedDB: 0, offset: 100)
        try rig.append(store, T.commands(&rng, count: 40), onto: &old)
        let oldEnd = store.position!.offset
        let f = rig.follower(store)
        f.start()
        defer { f.stop() }
        try waitFor("ready", f) { $0.phase == .ready && $0.appliedOffset == oldEnd }

        let second = T.baseKeyspace(&rng, n: 3000)
        let bytes = try Self.rdb(second, replid: T.replid2, offset: 9000, streamDB: 1)
        let w = try store.beginFullSync(replid: T.replid2, offset: 9000)
        let load = IncomingLoad(writer: w, transferSize: Int64(bytes.count))
        f.expectIncoming(load)
        let v = IncomingRDBVerifier(writer: w, depth: .full, load: load)
        v.start()
        try Self.dripWrite(w, bytes, seed: 7, upTo: bytes.count / 2)
        // Mid-transfer: status shows the load, reads still see the old dataset whole.
        try waitFor("receiving", f) { $0.receiving == true && ($0.processedBytes ?? 0) > 0 }
        #expect(f.state.phase == .loading && (f.state.percent ?? 100) < 100)
        #expect(f.dataset()?.keyspace == old.keyspace && f.dataset()?.offset == oldEnd)
        try Self.dripWrite(w, Array(bytes[(bytes.count / 2)...]), seed: 8)
        w.endOfInput()
        _ = try v.result()
        try w.finish()
        try store.markReceived(w, verified: "full")
        #expect(f.dataset()?.keyspace == old.keyspace, "nothing swaps before the publish")
        try store.publish(w)
        var expected = StreamReplay(keyspace: second, selectedDB: 1, offset: 9000)
        try rig.append(store, T.commands(&rng, count: 40), onto: &expected)
        let end = store.position!.offset
        f.wake()
        try waitFor("ready on the new snapshot", f) { $0.phase == .ready && $0.appliedOffset == end }
        #expect(f.dataset()?.keyspace == expected.keyspace)
        #expect(f.state.receiving == nil)
    }

    @Test("the follower takes the dataset handed over, not the published file; a cut transfer leaves the old one")
    func handoffAndCut() throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "incoming")
        defer { dir.remove() }
        let rig = DatasetFollowerTests()
        let store = try rig.openStore(dir)
        defer { try? store.close() }
        var rng = SeededRandom(seed: 24)
        let first = T.baseKeyspace(&rng, n: 10)
        try rig.publish(store, first, replid: T.replid, offset: 100, streamDB: 0)
        let f = rig.follower(store)
        f.start()
        defer { f.stop() }
        try waitFor("ready", f) { $0.phase == .ready && $0.appliedOffset == 100 }

        // A cut transfer: the load is dropped, the state returns to the old dataset at its position.
        let cut = try store.beginFullSync(replid: T.replid2, offset: 500)
        let cutLoad = IncomingLoad(writer: cut, transferSize: 1000)
        f.expectIncoming(cutLoad)
        #expect(f.state.receiving == true)
        cut.abort()
        f.dropIncoming(cutLoad)
        #expect(f.state.phase == .ready && f.state.appliedOffset == 100 && f.state.receiving == nil)
        #expect(f.dataset()?.keyspace == first)
        #expect(store.position?.offset == 100)

        // A published transfer: the follower uses the keyspace handed over (marked so it can tell).
        let second = T.baseKeyspace(&rng, n: 30)
        var marked = second
        marked[0, Array("loaded-while-arriving".utf8)] = KeyEntry(value: .string(Array("yes".utf8)))
        let w = try store.beginFullSync(replid: T.replid2, offset: 700)
        try w.write(try Self.rdb(second, replid: T.replid2, offset: 700, streamDB: 0))
        let load = IncomingLoad(writer: w, transferSize: nil)
        f.expectIncoming(load)
        try store.markReceived(w, verified: nil)
        load.finish(.success(IncomingLoad.Loaded(keyspace: marked, header: nil)))
        try store.publish(w)
        f.wake()
        try waitFor("ready at 700", f) { $0.phase == .ready && $0.appliedOffset == 700 }
        #expect(f.dataset()?.keyspace == marked)
    }
}
