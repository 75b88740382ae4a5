import Base
import TestSupport
import Testing
@testable import ReplicaStore

/// Records flagged `continues` (a command streamed into the log in chunks before it is complete):
/// readers stop at the boundary, recovery cuts an unfinished run at the tail, and a crash at every file
/// operation recovers to a boundary with nothing acknowledged lost.
@Suite struct UnfinishedCommandTests {
    static let dir = "/data"

    /// A command split into `pieces` chunks: all but the last go to `appendUnfinished`.
    static func chunks(_ c: [UInt8], pieces: Int) -> [[UInt8]] {
        let size = max(1, c.count / pieces)
        return stride(from: 0, to: c.count, by: size).map { Array(c[$0..<min(c.count, $0 + size)]) }
    }

    final class Model {
        /// Every committed byte (closed by an append), and the offsets that are boundaries.
        var committed: [UInt8] = []
        var boundaries: Set<Int64> = [1000]
        var dbAt: [Int64: Int] = [1000: 0]
        var durable: Int64?
    }

    static func script(fs: SimulatedFileSystem, policy: FsyncPolicy, model: Model) throws {
        let store = try ReplicaStore.open(directory: dir, fsync: policy, fileSystem: fs, options: noBackground(segmentSize: 400))
        try fullSync(store, replid: replid("a"), offset: 1000, rdb: TestRDB.make(replid: replid("a"), offset: 1000, streamDB: 0))
        model.durable = 1000
        func commit(_ c: [UInt8], db: Int, pieces: Int) throws {
            let parts = chunks(c, pieces: pieces)
            for p in parts.dropLast() {
                try store.appendUnfinished(p)
                #expect(store.position?.offset == 1000 + Int64(model.committed.count))
                if policy == .no { model.durable = try store.sync() }
            }
            model.committed += c
            let end = 1000 + Int64(model.committed.count)
            model.boundaries.insert(end)
            model.dbAt[end] = db
            #expect(try store.append(parts.last!, streamDB: db) == end)
            if policy == .always { model.durable = store.durableOffset }
        }
        try commit(resp("SET", "a", "1"), db: 0, pieces: 1)
        try commit(resp("SET", "big", String(repeating: "x", count: 700)), db: 0, pieces: 5)
        try commit(resp("SELECT", "3") + resp("MULTI") + resp("INCR", "n") + resp("EXEC"), db: 3, pieces: 3)
        // A command whose connection is lost halfway: discarded, then resent whole.
        let lost = resp("SET", "lost", String(repeating: "y", count: 300))
        for p in chunks(lost, pieces: 4).prefix(2) { try store.appendUnfinished(p) }
        try store.discardUnfinished()
        #expect(store.unfinishedCommandBytes == 0)
        try commit(lost, db: 3, pieces: 4)
        try commit(resp("SET", "b", "2"), db: 3, pieces: 1)
        // The tail: a command still arriving when the process stops.
        for p in chunks(resp("SET", "tail", String(repeating: "z", count: 200)), pieces: 3).prefix(2) { try store.appendUnfinished(p) }
        model.durable = try store.sync()
    }

    static func check(fs: SimulatedFileSystem, policy: FsyncPolicy, model: Model, context: String) throws {
        let store = try ReplicaStore.open(directory: dir, fsync: policy, fileSystem: fs, options: noBackground(segmentSize: 400))
        guard let pos = store.position else {
            #expect(model.durable == nil, "lost the acknowledged full sync: \(context)")
            return
        }
        #expect(model.boundaries.contains(pos.offset), "position \(pos.offset) is not a command boundary: \(context)")
        if let d = model.durable { #expect(pos.offset >= d, "lost acknowledged bytes (\(pos.offset) < \(d)): \(context)") }
        #expect(pos.streamDB == model.dbAt[pos.offset], "stream db: \(context)")
        let log = try logBytes(store)
        #expect(Int64(log.count) == pos.offset - 1000, "\(context)")
        #expect(log[...] == model.committed.prefix(log.count), "\(context)")
        // Keeps working: an unfinished run and its closing record after recovery.
        try store.appendUnfinished(resp("SET", "after"))
        let end = try store.append(resp("X"), streamDB: 1)
        try store.close()
        let again = try ReplicaStore.open(directory: dir, fsync: policy, fileSystem: fs, options: noBackground(segmentSize: 400))
        #expect(again.position?.offset == end, "\(context)")
        #expect(try logBytes(again) == log + resp("SET", "after") + resp("X"), "\(context)")
        try again.close()
    }

    @Test("a crash at every file operation of a run with chunked commands recovers to a boundary, nothing acknowledged lost",
          arguments: [FsyncPolicy.always, .no])
    func crashEverywhere(policy: FsyncPolicy) throws {
        let probe = SimulatedFileSystem()
        let model = Model()
        try Self.script(fs: probe, policy: policy, model: model)
        let total = probe.mutatingOperations
        #expect(total > 40)
        // Without a crash: the unfinished tail is cut at reopen, and only there.
        probe.crash(seed: 1)
        let reopened = try ReplicaStore.open(directory: Self.dir, fsync: policy, fileSystem: probe, options: noBackground(segmentSize: 400))
        #expect(reopened.recoveredTornTail?.reason.contains("unfinished command") == true)
        #expect(reopened.position?.offset == 1000 + Int64(model.committed.count))
        try reopened.close()
        for n in 1...total {
            for seed: UInt64 in [1, 2] {
                let fs = SimulatedFileSystem()
                let m = Model()
                var rng = SeededRandom(seed: seed &* 7919 &+ UInt64(n))
                fs.failAfter(operations: n)
                if rng.next() % 2 == 0 { fs.tearFailingWriteAt = Int(rng.next() % 40) }
                do {
                    try Self.script(fs: fs, policy: policy, model: m)
                    Issue.record("script did not crash at operation \(n)")
                } catch {
                    #expect(fs.hasFailed, "failed for another reason at operation \(n): \(error)")
                }
                fs.crash(seed: rng.next())
                try Self.check(fs: fs, policy: policy, model: m, context: "\(policy) crash at op \(n)/\(total) seed \(seed)")
            }
        }
    }

    @Test("readers stop at the boundary: an unfinished run is invisible until its closing record")
    func readersStopAtBoundary() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground())
        try fullSync(store, replid: replid("a"), offset: 0, rdb: TestRDB.make(replid: replid("a"), offset: 0, streamDB: 0))
        let first = resp("SET", "a", "1")
        try store.append(first, streamDB: 0)
        let big = resp("SET", "big", String(repeating: "v", count: 100))
        try store.appendUnfinished(Array(big[0..<40]))
        try store.appendUnfinished(Array(big[40..<90]))
        #expect(store.position?.offset == Int64(first.count))
        #expect(try logBytes(store) == first)
        let view = try StoreReadView.open(directory: Self.dir, fileSystem: fs)
        #expect(view.position.offset == Int64(first.count))
        var viewBytes: [UInt8] = []
        try view.forEachLogRecord { viewBytes += $0.payload; return true }
        #expect(viewBytes == first)
        view.close()
        let status = try ReplicaStore.inspect(directory: Self.dir, fileSystem: fs)
        #expect(status.tornTail?.reason.contains("unfinished command") == true)
        let tail = try LogTail(store: store, after: 0)
        #expect(try tail.read(upTo: store.position!.offset, maxChunk: 1 << 20, manifest: { store.currentManifest }) == first)
        try store.append(Array(big[90...]), streamDB: 0)
        #expect(store.position?.offset == Int64(first.count + big.count))
        var entries: [LogEntry] = []
        try store.forEachLogRecord { entries.append($0); return true }
        #expect(entries.map(\.continues) == [false, true, true, false])
        #expect(entries.flatMap(\.payload) == first + big)
        var tailed: [UInt8] = []
        while true {
            let b = try tail.read(upTo: store.position!.offset, maxChunk: 7, manifest: { store.currentManifest })
            if b.isEmpty { break }
            tailed += b
        }
        #expect(tailed == big)
        try store.close()
    }

    @Test("segments do not roll inside a run; a segment before the last that ends on a continues record is refused")
    func noRollInsideRun() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 64))
        try fullSync(store, replid: replid("a"), offset: 0, rdb: TestRDB.make(replid: replid("a"), offset: 0, streamDB: 0))
        let big = resp("SET", "big", String(repeating: "v", count: 400))
        for p in Self.chunks(big, pieces: 8).dropLast() { try store.appendUnfinished(p) }
        #expect(store.currentManifest?.segments.count == 1)
        try store.append(Self.chunks(big, pieces: 8).last!, streamDB: 0)
        try store.append(resp("SET", "a", "1"), streamDB: 0)
        let m = try #require(store.currentManifest)
        #expect(m.segments.count == 2 && m.segments[1].start == Int64(big.count))
        try store.close()
        // Damage: make the first segment end on its last-but-one (continues) record.
        let path = joinPath(Self.dir, m.segments[0].file)
        let bytes = try #require(fs.contents(path))
        var cut = 0
        var records: [Int] = []
        while cut < bytes.count {
            records.append(cut)
            cut += LogRecord.headerSize + Int(LittleEndian.load(bytes, at: cut + 8, as: UInt32.self))
        }
        fs.setContents(path, Array(bytes[..<records.last!]))
        // A read-only look scans every segment; a writable open takes sealed segments on trust and the
        // background verification finds it.
        #expect {
            try ReplicaStore.inspect(directory: Self.dir, fileSystem: fs)
        } throws: { e in
            guard let e = e as? StoreError else { return false }
            return e.code == .logDamage && e.message.contains("ends inside a command")
        }
        let reopened = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 64))
        guard case .damaged(_, _, let reason) = reopened.verifySealedSegments() else {
            Issue.record("the background verification did not find it")
            return
        }
        #expect(reason.contains("ends inside a command"))
    }
}
