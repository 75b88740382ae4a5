import Base
import TestSupport
import RDB
import Testing
@testable import ReplicaStore

/// Crash at every mutating file operation of a scripted run (full-sync publish, appends, segment rolls
/// and their later seals and manifest writes, segments created ahead of the roll, manifest replacements, +CONTINUE with a new id, a second full sync), power-loss the simulated disk,
/// reopen, and check: open succeeds; the position is within what was written and at least what was
/// acknowledged durable; the log reads back as a prefix of what was appended; the store keeps working.
/// The store writes clock records (`LogRecord`) with a clock that moves at every read, so every append
/// frames one in front of its stream record: every entry read back carries its time.
@Suite struct CrashRecoveryTests {
    static let dir = "/data"

    /// Expectations the script leaves behind as it runs.
    final class Model {
        struct Generation {
            var replid: String
            var base: Int64
            var streamDB: Int
            /// Every byte handed to append (written or not).
            var stream: [UInt8] = []
            /// The db after each prefix length handed to append.
            var dbAfter: [Int64: Int] = [:]
        }
        var generations: [Generation] = []
        /// Generation index and offset last acknowledged durable (publish returned, or durableOffset).
        var durable: (gen: Int, offset: Int64)?
        /// Generation 0 switched ids: (new id, the offset at the switch); acked when the call returned.
        var switchAt: Int64?
        var switchAcked = false
        var publishStarted = 0
    }

    static let idA = replid("a"), idB = replid("b"), idC = replid("c")

    /// Small segments, and clock records at every append (the clock moves at every read).
    static func options() -> ReplicaStore.Options {
        clockOptions(ManualClock(1_700_000_000_000, tick: 1), segmentSize: 300)
    }

    static func commands(_ n: Int, seed: UInt64) -> [([UInt8], Int)] {
        var rng = SeededRandom(seed: seed)
        var out: [([UInt8], Int)] = []
        var db = 0
        for i in 0..<n {
            var c: [UInt8] = []
            if rng.next() % 4 == 0 {
                db = Int(rng.next() % 16)
                c += resp("SELECT", String(db))
            }
            let len = Int(rng.next() % 90)
            c += resp("SET", "key:\(i)", String(repeating: "v", count: len))
            if rng.next() % 3 == 0 { c += resp("PING") }
            out.append((c, db))
        }
        return out
    }

    /// The scripted run. Throws at the armed crash point.
    static func script(fs: SimulatedFileSystem, policy: FsyncPolicy, model: Model) throws {
        let store = try ReplicaStore.open(directory: dir, fsync: policy, fileSystem: fs, options: options())
        func publish(_ id: String, _ off: Int64, _ db: Int) throws {
            model.generations.append(Model.Generation(replid: id, base: off, streamDB: db))
            model.publishStarted += 1
            try fullSync(store, replid: id, offset: off, rdb: TestRDB.make(replid: id, offset: off, streamDB: db))
            model.durable = (model.generations.count - 1, off)
        }
        func appendAll(_ cmds: [([UInt8], Int)], syncEvery: Int) throws {
            let g = model.generations.count - 1
            for (i, (c, db)) in cmds.enumerated() {
                model.generations[g].stream += c
                model.generations[g].dbAfter[Int64(model.generations[g].stream.count)] = db
                try store.append(c, streamDB: db)
                if policy == .always {
                    model.durable = (g, store.durableOffset)
                } else if i % syncEvery == syncEvery - 1 {
                    model.durable = (g, try store.sync())
                }
                // The background's work after rolls (seal, manifest write, the next segment created
                // ahead), at points of its own: rolls then find a segment ready (SegmentRoll.swift).
                if i % 5 == 2 { try store.runPendingWork() }
            }
        }
        try publish(idA, 1000, 0)
        try appendAll(commands(12, seed: 1), syncEvery: 4)
        model.switchAt = 1000 + Int64(model.generations[0].stream.count)
        try store.recordPartialSync(replid: idB)
        model.switchAcked = true
        try appendAll(commands(8, seed: 2), syncEvery: 3)
        try publish(idC, 777_777, 4)
        try appendAll(commands(6, seed: 3), syncEvery: 2)
        try store.close()
        if policy != .no { model.durable = (model.generations.count - 1, model.generations.last!.base + Int64(model.generations.last!.stream.count)) }
    }

    /// Opens after a crash and checks the invariants. Returns the recovered position's offset.
    static func checkRecovered(fs: SimulatedFileSystem, policy: FsyncPolicy, model: Model, context: String) throws {
        let store = try ReplicaStore.open(directory: dir, fsync: policy, fileSystem: fs, options: options())
        guard let pos = store.position else {
            #expect(model.durable == nil, "lost an acknowledged full sync: \(context)")
            try store.close()
            return
        }
        let m = try #require(store.currentManifest)
        let g = try #require(model.generations.firstIndex { $0.replid == m.snapshot.replid && $0.base == m.snapshot.offset },
                             "unknown snapshot \(m.snapshot): \(context)")
        let gen = model.generations[g]
        if let d = model.durable {
            #expect(g >= d.gen, "went back to an older full sync: \(context)")
            if g == d.gen { #expect(pos.offset >= d.offset, "lost acknowledged bytes (\(pos.offset) < \(d.offset)): \(context)") }
        }
        #expect(pos.offset <= gen.base + Int64(gen.stream.count), "more than written: \(context)")
        var log: [UInt8] = []
        var untimed = 0
        try store.forEachLogRecord {
            log += $0.payload
            if $0.arrivalMs == nil { untimed += 1 }
            return true
        }
        #expect(untimed == 0, "records without their clock record: \(context)")
        #expect(Int64(log.count) == pos.offset - gen.base, "\(context)")
        #expect(log[...] == gen.stream.prefix(log.count), "log is not a prefix of what was appended: \(context)")
        let expectedDB = log.isEmpty ? gen.streamDB : gen.dbAfter[Int64(log.count)]
        #expect(pos.streamDB == expectedDB, "stream db: \(context)")
        if g == 0, model.switchAcked {
            #expect(pos.replid == idB, "\(context)")
            #expect(store.replid2?.replid == idA, "\(context)")
            #expect(store.replid2?.offset == model.switchAt! + 1, "\(context)")
        } else if g == 0 {
            #expect(pos.replid == idA || pos.replid == idB, "\(context)")
        } else {
            #expect(pos.replid == gen.replid && store.replid2 == nil, "\(context)")
        }
        // The store keeps working after recovery, and a second reopen agrees.
        let more = resp("SET", "after", "crash")
        let end = try store.append(more, streamDB: 1)
        try store.close()
        let again = try ReplicaStore.open(directory: dir, fsync: policy, fileSystem: fs, options: options())
        #expect(again.position?.offset == end, "\(context)")
        #expect(again.recoveredTornTail == nil || policy == .no, "\(context)")
        #expect(try logBytes(again) == log + more, "\(context)")
        try again.close()
    }

    static func operationCount(policy: FsyncPolicy) throws -> Int {
        let fs = SimulatedFileSystem()
        try script(fs: fs, policy: policy, model: Model())
        return fs.mutatingOperations
    }

    static func crashEverywhere(policy: FsyncPolicy, seeds: [UInt64]) throws {
        let total = try operationCount(policy: policy)
        #expect(total > 100)
        for n in 1...total {
            for seed in seeds {
                let fs = SimulatedFileSystem()
                let model = Model()
                var rng = SeededRandom(seed: seed &* 1_000_003 &+ UInt64(n))
                fs.failAfter(operations: n)
                if rng.next() % 2 == 0 { fs.tearFailingWriteAt = Int(rng.next() % 64) }
                do {
                    try script(fs: fs, policy: policy, model: model)
                    Issue.record("script did not crash at operation \(n)")
                } catch {
                    #expect(fs.hasFailed, "failed for another reason at operation \(n): \(error)")
                }
                fs.crash(seed: rng.next())
                try checkRecovered(fs: fs, policy: policy, model: model, context: "policy \(policy) crash at op \(n)/\(total) seed \(seed)")
            }
        }
    }

    @Test func crashAtEveryOperationWithFsyncAlways() throws {
        try Self.crashEverywhere(policy: .always, seeds: [1, 2, 3])
    }

    @Test func crashAtEveryOperationWithExplicitSyncs() throws {
        // `.no` with periodic `sync()`: what sync returned must survive; the rest may be torn anywhere.
        try Self.crashEverywhere(policy: .no, seeds: [4, 5, 6])
    }

    @Test func crashDuringRecoveryItself() throws {
        // Crash in the middle of the script, then again in the middle of the recovering open, then open.
        var rng = SeededRandom(seed: 99)
        let total = try Self.operationCount(policy: .no)
        for _ in 0..<150 {
            let fs = SimulatedFileSystem()
            let model = Model()
            fs.failAfter(operations: 1 + Int(rng.next() % UInt64(total)))
            _ = try? Self.script(fs: fs, policy: .no, model: model)
            fs.crash(seed: rng.next())
            fs.failAfter(operations: 1 + Int(rng.next() % 4))
            _ = try? ReplicaStore.open(directory: Self.dir, fsync: .no, fileSystem: fs, options: Self.options())
            fs.crash(seed: rng.next())
            try Self.checkRecovered(fs: fs, policy: .no, model: model, context: "double crash")
        }
    }
}
