import Base
import Foundation
import RDB
import TestSupport
import Testing
@testable import ReplicaStore

/// Compaction at the store level (`ReplicaStore.compact`): the manifest switch, what is deleted, the
/// segment that straddles the snapshot's offset, readers that hold old files, and a crash at every file
/// operation (the dataset's RDB is a small stand-in with the right AUX fields; the store only checks those).
@Suite struct CompactionTests {
    static let dir = "/data"
    static let id = replid("a")
    static let base: Int64 = 5000

    /// `n` commands with their db after each (seeded).
    static func commands(_ n: Int, seed: UInt64) -> [([UInt8], Int)] {
        seededSetCommands(n, seed: seed, databases: 4, key: { "key:\($0)" }, fill: "x", maxValue: 60)
    }

    /// A store with a full sync at `base` and `cmds` appended (segments rolled at 300 bytes).
    /// Returns the offset and db after each command.
    @discardableResult
    static func prepare(_ store: ReplicaStore, _ cmds: [([UInt8], Int)]) throws -> [(Int64, Int)] {
        try fullSync(store, replid: id, offset: base, rdb: TestRDB.make(replid: id, offset: base, streamDB: 0))
        return try cmds.map { (c, db) in (try store.append(c, streamDB: db), db) }
    }

    static func compact(_ store: ReplicaStore, at offset: Int64, db: Int, keys: [(String, String)] = [("c", "d")],
                        beforeCommit: (Int) throws -> Void = { _ in }) throws -> CompactionOutcome {
        let lineage = try #require(store.currentManifest).lineage
        // After a reopen the sealed segments are verified first (follow does it in the background).
        if !store.sealedSegmentsVerified { #expect(store.verifySealedSegments() != .stopped) }
        return try store.compact(at: ReplicationPosition(replid: id, offset: offset, streamDB: db), lineage: lineage,
                                 beforeCommit: beforeCommit) {
            try $0.write(TestRDB.make(replid: id, offset: offset, streamDB: db, keys: keys))
        }
    }

    @Test func switchesTheManifestAndDeletesWhatIsBeforeTheSnapshot() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 300))
        let cmds = Self.commands(40, seed: 7)
        let ends = try Self.prepare(store, cmds)
        let stream = cmds.flatMap(\.0)
        let before = try #require(store.currentManifest)
        #expect(before.segments.count >= 5)
        let (c, db) = ends[24]
        let out = try Self.compact(store, at: c, db: db)

        let m = try #require(store.currentManifest)
        #expect(m.snapshot.offset == c && m.snapshot.streamDB == db && m.snapshot.file == out.snapshot.file)
        #expect(m.lineage == before.snapshot.file, "a compaction keeps the full sync's lineage")
        #expect(m.compaction?.offset == c && m.compaction?.count == 1)
        // The first segment kept is the one holding the snapshot's offset; it may start before it.
        #expect(m.segments.first!.start <= c)
        #expect(m.segments.count < 2 || m.segments[1].start > c)
        let dropped = before.segments.filter { s in !m.segments.contains(s) }.map(\.file)
        #expect(!dropped.isEmpty)
        #expect(Set(out.removedFiles) == Set([before.snapshot.file] + dropped))
        for f in out.removedFiles { #expect(!fs.exists(joinPath(Self.dir, f)), "\(f) still there") }
        #expect(store.position?.offset == ends.last!.0)
        // The log reads from the snapshot's offset on.
        #expect(try logBytes(store) == Array(stream[Int(c - Self.base)...]))
        #expect(store.logStreamBytesSinceSnapshot == ends.last!.0 - c)

        // It survives a reopen, and a read-only view reads from the new snapshot.
        try store.close()
        let again = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 300))
        #expect(again.position?.offset == ends.last!.0 && again.position?.streamDB == ends.last!.1)
        #expect(try logBytes(again) == Array(stream[Int(c - Self.base)...]))
        #expect(again.removedLeftovers.isEmpty)
        let view = try StoreReadView.open(directory: Self.dir, fileSystem: fs)
        var viewed: [UInt8] = []
        var first: Int64?
        try view.forEachLogRecord { e in
            if first == nil { first = e.startOffset }
            viewed += e.payload
            return true
        }
        #expect(first == c)
        #expect(viewed == Array(stream[Int(c - Self.base)...]))
        let status = try ReplicaStore.inspect(directory: Self.dir, fileSystem: fs)
        #expect(status.lastCompaction?.offset == c)
        #expect(status.text().contains("last compaction: at offset \(c)"))

        // A second compaction drops the straddling segment too.
        let out2 = try Self.compact(again, at: ends[38].0, db: ends[38].1)
        #expect(out2.removedFiles.contains(out.snapshot.file))
        #expect(again.currentManifest?.compaction?.count == 2)
        #expect(again.currentManifest?.lineage == before.snapshot.file)
        try again.close()
    }

    @Test func refusesWhatIsNotItsPosition() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 300))
        let ends = try Self.prepare(store, Self.commands(10, seed: 3))
        let before = try #require(store.currentManifest)
        let lineage = before.lineage
        let (c, db) = ends[5]
        // AUX offset differs from the position asked for.
        #expect(throws: StoreError.self) {
            _ = try store.compact(at: ReplicationPosition(replid: Self.id, offset: c, streamDB: db), lineage: lineage) {
                try $0.write(TestRDB.make(replid: Self.id, offset: c + 1, streamDB: db))
            }
        }
        // Outside the log, or at the snapshot itself.
        #expect(throws: StoreError.self) { _ = try Self.compact(store, at: ends.last!.0 + 10, db: 0) }
        #expect(throws: StoreError.self) { _ = try Self.compact(store, at: Self.base, db: 0) }
        // Another lineage (a full sync replaced it).
        #expect(throws: StoreError.self) {
            _ = try store.compact(at: ReplicationPosition(replid: Self.id, offset: c, streamDB: db), lineage: "snapshot-999999.rdb") {
                try $0.write(TestRDB.make(replid: Self.id, offset: c, streamDB: db))
            }
        }
        // The writer's own failure.
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            _ = try store.compact(at: ReplicationPosition(replid: Self.id, offset: c, streamDB: db), lineage: lineage) { _ in throw Boom() }
        }
        #expect(store.currentManifest == before)
        // Nothing left behind, and the store still works.
        let names = try fs.list(Self.dir).filter { $0.hasPrefix("snapshot-") }
        #expect(names == [before.snapshot.file])
        try store.append(resp("PING"), streamDB: 0)
        try store.close()
    }

    @Test func aReaderBehindTheNewSnapshotKeepsReadingThroughDroppedSegments() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ReplicaStore.open(directory: dir, fsync: .always, options: noBackground(segmentSize: 300))
        let cmds = Self.commands(40, seed: 11)
        let ends = try Self.prepare(store, cmds)
        let stream = cmds.flatMap(\.0)
        // A downstream replica that is at the old snapshot (it read nothing yet), and a view opened before.
        let tail = try LogTail(store: store, after: Self.base)
        let view = try StoreReadView.open(directory: dir)
        let before = try #require(store.currentManifest)
        let out = try Self.compact(store, at: ends[30].0, db: ends[30].1)
        #expect(!out.retainedFiles.isEmpty, "segments ahead of the reader are kept")
        for f in out.retainedFiles { #expect(FileManager.default.fileExists(atPath: joinPath(dir, f))) }
        #expect(out.removedFiles == [before.snapshot.file], "only the old snapshot goes while the reader is behind")

        var got: [UInt8] = []
        let end = store.position!.offset
        while true {
            let b = try tail.read(upTo: end, maxChunk: 64, manifest: { store.currentManifest })
            if b.isEmpty { break }
            got += b
        }
        #expect(got == stream, "the reader read the whole log, through segments the manifest no longer names")
        var viewed: [UInt8] = []
        try view.forEachLogRecord { viewed += $0.payload; return true }
        #expect(viewed == stream, "a view opened before the compaction reads its files")
        view.close()
        // Moving on released them.
        for f in out.retainedFiles { #expect(!FileManager.default.fileExists(atPath: joinPath(dir, f)), "\(f) kept after the reader moved on") }
        tail.close()
        try store.close()
        let again = try ReplicaStore.open(directory: dir, fsync: .always, options: noBackground(segmentSize: 300))
        #expect(again.removedLeftovers.isEmpty)
        #expect(again.position?.offset == end)
        try again.close()
    }

    /// The new manifest is written outside the store's lock: appends that roll a segment between its temp
    /// file and the switch are kept by the switch (in memory at once, in the manifest file at the next
    /// write; a crash before it recovers them by adoption, SegmentRoll.swift); nothing appended meanwhile is
    /// lost, and the temp file does not survive.
    @Test func aRollDuringTheSwitchIsKept() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 300))
        let cmds = Self.commands(60, seed: 11)
        let ends = try Self.prepare(store, Array(cmds[..<40]))
        let stream = cmds.flatMap(\.0)
        var attempts: [Int] = []
        var end = ends.last!.0
        let (c, db) = ends[30]
        let out = try Self.compact(store, at: c, db: db) { attempt in
            attempts.append(attempt)
            if attempt == 0 { for (cmd, d) in cmds[40..<50] { end = try store.append(cmd, streamDB: d) } }
        }
        #expect(attempts == [0])
        let m = try #require(store.currentManifest)
        #expect(m.snapshot.file == out.snapshot.file && m.snapshot.offset == c)
        #expect(m.segments.last?.start ?? 0 > ends.last!.0, "the segment rolled during the switch is listed")
        #expect(!fs.exists(joinPath(Self.dir, Manifest.compactionTempFileName)))
        // The manifest file the switch wrote does not name it yet: a kill -9 now recovers it by adoption.
        let onDisk = try Recovery.run(fs: fs, directory: Self.dir)
        #expect(onDisk.adopted.count >= 1)
        #expect(onDisk.position?.offset == end)
        #expect(onDisk.manifest?.snapshot.offset == c)
        try store.close()
        let again = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 300))
        #expect(again.position?.offset == end)
        #expect(again.removedLeftovers.isEmpty)
        let from = Int(c - Self.base)
        #expect(try logBytes(again)[...] == stream[from..<Int(end - Self.base)])
        try again.close()
    }

    /// A crash at every file operation of a compaction, with appends acknowledged before and after it
    /// (`--fsync always`): the directory recovers to at least the acknowledged position, the log from the
    /// snapshot on is exactly what was appended, the snapshot is the old or the new one, and no
    /// unnamed file survives the reopen. With `rollDuringSwitch`, the appends after it
    /// happen between the new manifest's temp file and the switch (and roll a segment, which the switch keeps).
    @Test(arguments: [false, true]) func crashAtEveryFileOperation(rollDuringSwitch: Bool) throws {
        let cmds = Self.commands(60, seed: 21)
        let stream = cmds.flatMap(\.0)
        var ends: [(Int64, Int)] = []
        var acked = Self.base
        var total = 0
        let operations = try crashAtEveryOperation(seeds: 1...3, setUp: { fs in
            let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 300))
            ends = try Self.prepare(store, Array(cmds[..<40]))
            try store.close()
            acked = ends.last!.0
        }, operation: { fs in
            let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 300))
            for (c, db) in cmds[40..<45] { acked = try store.append(c, streamDB: db) }
            if rollDuringSwitch {
                // Appends (and a roll, which writes a manifest) between the new manifest's temp file and the switch.
                _ = try Self.compact(store, at: ends[33].0, db: ends[33].1) { attempt in
                    if attempt == 0 { for (c, db) in cmds[45..<50] { acked = try store.append(c, streamDB: db) } }
                }
            } else {
                _ = try Self.compact(store, at: ends[33].0, db: ends[33].1)
                for (c, db) in cmds[45..<50] { acked = try store.append(c, streamDB: db) }
            }
            try store.close()
        }, check: { fs, completed in
            total += 1
            let context = "run \(total), completed \(completed), acked \(acked)"
            let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 300))
            let m = try #require(store.currentManifest, "\(context)")
            let pos = try #require(store.position)
            #expect(pos.offset >= acked, "lost acknowledged bytes: \(context)")
            #expect(m.snapshot.offset == Self.base || m.snapshot.offset == ends[33].0, "\(context)")
            if completed { #expect(m.snapshot.offset == ends[33].0, "\(context)") }
            let log = try logBytes(store)
            let from = Int(m.snapshot.offset - Self.base)
            #expect(Int64(log.count) == pos.offset - m.snapshot.offset, "\(context)")
            #expect(log[...] == stream[from..<(from + log.count)], "\(context)")
            // Only the manifest's files remain.
            let named = Set([m.snapshot.file] + m.segments.map(\.file))
            let ours = try fs.list(Self.dir).filter { Recovery.isOurs($0) }
            #expect(Set(ours) == named, "\(context): \(ours)")
            try store.close()
        })
        #expect(operations > 20)
    }
}
