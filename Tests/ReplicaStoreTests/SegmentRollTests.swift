import Base
import RDB
import TestSupport
import Testing
@testable import ReplicaStore

/// Segment rolls that do not wait for the disk (SegmentRoll.swift): the roll only switches files; the
/// seal, the manifest write and the next segment's creation come later. A kill -9 or a power loss at any
/// point recovers the same position (everything written, or at least everything fsynced).
@Suite struct SegmentRollTests {
    static let dir = "/data"
    static let id = replid("e")
    static let base: Int64 = 9000

    static func commands(_ n: Int, seed: UInt64) -> [([UInt8], Int)] {
        seededSetCommands(n, seed: seed, databases: 5, key: { "k\($0)" }, fill: "y", maxValue: 70)
    }

    static func open(_ fs: SimulatedFileSystem, _ policy: FsyncPolicy = .everysec) throws -> ReplicaStore {
        try ReplicaStore.open(directory: dir, fsync: policy, fileSystem: fs, options: noBackground(segmentSize: 300))
    }

    /// With the next segment created ahead, a roll is one write: no fsync, no create, no manifest write.
    @Test func aRollWithTheNextSegmentReadyOnlyWrites() throws {
        let fs = SimulatedFileSystem()
        let store = try Self.open(fs)
        try fullSync(store, replid: Self.id, offset: Self.base, rdb: TestRDB.make(replid: Self.id, offset: Self.base))
        try store.runPendingWork()
        let spare = try #require(store.lock.withLock { store.spare?.name })
        var rolled = false
        for (c, db) in Self.commands(40, seed: 3) {
            let segments = store.currentManifest!.segments.count
            let before = fs.mutatingOperations
            try store.append(c, streamDB: db)
            if store.currentManifest!.segments.count > segments {
                #expect(fs.mutatingOperations - before == 1, "the roll did more than the record's write")
                #expect(store.currentManifest!.segments.last?.file == spare)
                rolled = true
                break
            }
        }
        #expect(rolled)
        try store.close()
    }

    /// kill -9 after rolls whose manifest write never ran (with and without a segment created ahead):
    /// every byte written is in the page cache, so the reopen adopts the unnamed segments and recovers
    /// everything; then the manifest names them and nothing unnamed is left.
    @Test(arguments: [false, true]) func aKillAfterRollsRecoversEverything(spareAhead: Bool) throws {
        let fs = SimulatedFileSystem()
        let cmds = Self.commands(60, seed: 5)
        var end: Int64 = 0
        do {
            let store = try Self.open(fs)
            try fullSync(store, replid: Self.id, offset: Self.base, rdb: TestRDB.make(replid: Self.id, offset: Self.base))
            for (i, (c, db)) in cmds.enumerated() {
                end = try store.append(c, streamDB: db)
                if spareAhead && i % 7 == 0 {
                    // Only the spare: no seal, no manifest write (as if the background had not got there).
                    try store.createSpareIfNone()
                }
            }
            #expect(!(try Recovery.run(fs: fs, directory: Self.dir).adopted.isEmpty), "the manifest file lags behind the rolls")
            // The store is dropped without close: a kill -9 (the simulated disk keeps every write).
        }
        let again = try Self.open(fs)
        #expect(again.position?.offset == end)
        #expect(again.position?.streamDB == cmds.last!.1)
        #expect(try logBytes(again) == cmds.flatMap(\.0))
        let named = Set(again.currentManifest!.segments.map(\.file))
        #expect(named.count >= 5)
        let onDisk = try Recovery.run(fs: fs, directory: Self.dir)
        #expect(onDisk.adopted.isEmpty, "the reopen wrote the manifest naming the adopted segments")
        #expect(Set(onDisk.manifest!.segments.map(\.file)) == named)
        #expect(onDisk.leftovers.isEmpty, "\(onDisk.leftovers)")
        try again.close()
    }

    /// The `everysec` pass rolls first when the segment holds `rollBeforeSyncBytes` not yet fsynced (and a
    /// spare is ready), then fsyncs the sealed file: appends never go into a file being fsynced. Below the
    /// threshold it fsyncs in place.
    @Test func theEverysecPassRollsBeforeItFsyncsALargeUnsyncedSegment() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: Self.dir, fsync: .everysec, fileSystem: fs,
                                          options: ReplicaStore.Options(segmentSize: 1 << 20, backgroundSync: false, rollBeforeSyncBytes: 400))
        try fullSync(store, replid: Self.id, offset: Self.base, rdb: TestRDB.make(replid: Self.id, offset: Self.base))
        try store.runPendingWork()
        var end = try store.append(resp("SET", "small", "1"), streamDB: 0)
        store.backgroundPass()
        #expect(store.currentManifest!.segments.count == 1, "below the threshold: fsynced in place")
        #expect(store.durableOffset == end)
        let cmds = Self.commands(30, seed: 9)
        for (c, db) in cmds { end = try store.append(c, streamDB: db) }
        store.backgroundPass()
        #expect(store.currentManifest!.segments.count == 2, "rolled before the fsync")
        #expect(store.durableOffset == end)
        #expect(store.lock.withLock { store.unsealed.isEmpty && store.spare != nil && !store.manifestBehind })
        #expect(try Recovery.run(fs: fs, directory: Self.dir).manifest?.segments.count == 2)
        end = try store.append(resp("SET", "after", "roll"), streamDB: 3)
        try store.close()
        let again = try Self.open(fs)
        #expect(again.position?.offset == end && again.position?.streamDB == 3)
        try again.close()
    }

    /// An empty segment created ahead (never rolled to) and a segment that does not continue the log are
    /// not adopted: they are leftovers.
    @Test func segmentsThatDoNotContinueTheLogAreLeftovers() throws {
        let fs = SimulatedFileSystem()
        let store = try Self.open(fs)
        try fullSync(store, replid: Self.id, offset: Self.base, rdb: TestRDB.make(replid: Self.id, offset: Self.base))
        let end = try store.append(resp("SET", "a", "b"), streamDB: 0)
        try store.sync()
        try store.createSpareIfNone()
        let spare = try #require(store.lock.withLock { store.spare?.name })
        // A segment numbered after the spare whose first record starts at another offset.
        let stray = "log-000999.seg"
        let header = LogRecord.header(startOffset: end + 5, streamDB: 0, payload: UnsafeRawBufferPointer(start: nil, count: 0), continues: false)
        fs.setContents(joinPath(Self.dir, stray), header)
        let r = try Recovery.run(fs: fs, directory: Self.dir)
        #expect(r.adopted.isEmpty)
        #expect(r.position?.offset == end)
        #expect(r.leftovers.contains(spare) && r.leftovers.contains(stray))
        withExtendedLifetime(store) {}
    }

    /// A crash (power loss: unsynced bytes and names may be lost, torn at any byte) at every file operation
    /// of a run with rolls, seals and manifest writes in the new order (`runPendingWork` between appends):
    /// the reopen succeeds, keeps at least what `sync()` returned (everysec) or what each append returned
    /// (always), and the log is exactly a prefix of what was appended.
    @Test(arguments: [FsyncPolicy.everysec, .always]) func crashAtEveryOperationAcrossRolls(policy: FsyncPolicy) throws {
        let cmds = Self.commands(45, seed: 8)
        let stream = cmds.flatMap(\.0)
        var acked = Self.base
        var total = 0
        let operations = try crashAtEveryOperation(seeds: 1...3, setUp: { fs in
            let store = try Self.open(fs, policy)
            try fullSync(store, replid: Self.id, offset: Self.base, rdb: TestRDB.make(replid: Self.id, offset: Self.base))
            try store.close()
            acked = Self.base
        }, operation: { fs in
            let store = try Self.open(fs, policy)
            for (i, (c, db)) in cmds.enumerated() {
                let end = try store.append(c, streamDB: db)
                if policy == .always { acked = end }
                switch i % 6 {
                case 1, 4: try store.runPendingWork()
                case 5: acked = max(acked, try store.sync())
                default: break
                }
            }
            try store.close()
            acked = Self.base + Int64(stream.count)
        }, check: { fs, completed in
            total += 1
            let context = "\(policy) run \(total), completed \(completed), acked \(acked)"
            let store = try Self.open(fs, policy)
            let pos = try #require(store.position, "\(context)")
            #expect(pos.offset >= acked, "lost acknowledged bytes: \(context)")
            let log = try logBytes(store)
            #expect(Int64(log.count) == pos.offset - Self.base, "\(context)")
            #expect(log[...] == stream.prefix(log.count), "\(context)")
            let named = Set([store.currentManifest!.snapshot.file] + store.currentManifest!.segments.map(\.file))
            let ours = try fs.list(Self.dir).filter { Recovery.isOurs($0) }
            #expect(Set(ours) == named, "\(context): \(ours)")
            // It keeps working: append, roll, close, reopen.
            var end = pos.offset
            for (c, db) in cmds.prefix(6) { end = try store.append(c, streamDB: db) }
            try store.close()
            let again = try Self.open(fs, policy)
            #expect(again.position?.offset == end, "\(context)")
            try again.close()
        })
        #expect(operations > 40)
    }
}
