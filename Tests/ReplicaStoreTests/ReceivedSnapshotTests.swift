import Base
import TestSupport
import Testing
@testable import ReplicaStore

/// A full sync that was received completely and fsynced is never thrown away (`ReceivedSnapshot`): a
/// reopen finds it as `receivedSnapshot` and publishing it gives its position; a partial transfer is
/// discarded and the old snapshot, log and position stay as they were. Crash at every file operation.
@Suite struct ReceivedSnapshotTests {
    static let dir = "/data"
    static let idA = replid("a"), idB = replid("b")
    static let rdbB = TestRDB.make(replid: idB, offset: 5000, streamDB: 3, keys: [("x", "1"), ("y", "2")])

    /// Generation A with some log, then generation B received (and, unless `publishB`, not published).
    final class Progress {
        var aEnd: Int64 = 0
        var aLog: [UInt8] = []
        var markedB = false
        var publishedB = false
    }

    static func script(fs: SimulatedFileSystem, publishB: Bool, progress: Progress) throws {
        let store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 200))
        try fullSync(store, replid: idA, offset: 100, rdb: TestRDB.make(replid: idA, offset: 100))
        for i in 0..<6 {
            let c = resp("SET", "k\(i)", "v\(i)")
            progress.aEnd = try store.append(c, streamDB: 0)
            progress.aLog += c
        }
        let w = try store.beginFullSync(replid: idB, offset: 5000)
        for chunk in stride(from: 0, to: rdbB.count, by: 11) {
            try w.write(Array(rdbB[chunk..<min(chunk + 11, rdbB.count)]))
        }
        try w.finish()
        try store.markReceived(w, verified: "full")
        progress.markedB = true
        if publishB {
            try store.publish(w)
            progress.publishedB = true
        }
        try store.close()
    }

    /// After any crash: either A exactly as acknowledged, or B pending, or B published; once B was marked,
    /// never A again. Publishing a pending B gives B's position with an empty log.
    static func check(fs: SimulatedFileSystem, progress: Progress, context: String) throws {
        let store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 200))
        defer { try? store.close() }
        if let pending = store.receivedSnapshot {
            if pending.replid == idB {
                #expect(pending.offset == 5000 && pending.received?.verified == "full", "\(context)")
                // The old state is untouched until the publish.
                #expect(store.position?.replid == idA, "\(context)")
                #expect(store.position?.offset == progress.aEnd, "\(context)")
                #expect(try logBytes(store) == progress.aLog, "\(context)")
            } else {
                // A crash while publishing A, the directory's first full sync.
                #expect(pending.replid == idA && pending.offset == 100, "\(context)")
                #expect(store.position == nil && progress.aEnd == 0, "\(context)")
            }
            try store.publish(pending)
            #expect(store.receivedSnapshot == nil)
        }
        if progress.markedB || store.currentManifest?.replid == idB {
            let pos = try #require(store.position, "\(context)")
            #expect(pos.replid == idB && pos.offset == 5000 && pos.streamDB == 3, "\(context)")
            #expect(try logBytes(store).isEmpty, "\(context)")
            let snap = try #require(store.currentManifest?.snapshot.file)
            #expect(fs.contents(joinPath(dir, snap)) == rdbB, "\(context)")
        } else if let pos = store.position {
            // B never became durable: A as acknowledged (fsync always: every append returned is durable).
            #expect(pos.replid == idA && pos.offset >= progress.aEnd, "\(context)")
            #expect(try logBytes(store).starts(with: progress.aLog), "\(context)")
        }
        // Only the manifest's files (plus LOCK) remain.
        let names = Set(try fs.list(dir)).subtracting(["LOCK"])
        if let m = store.currentManifest {
            let expected = Set([Manifest.fileName, m.snapshot.file] + m.segments.map(\.file))
            #expect(names == expected, "leftovers \(names.subtracting(expected).sorted()): \(context)")
        }
        // A second open agrees and finds nothing pending.
        try store.close()
        let again = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 200))
        #expect(again.receivedSnapshot == nil, "\(context)")
        try again.close()
    }

    @Test(arguments: [false, true])
    func crashAtEveryOperation(publishB: Bool) throws {
        let probe = SimulatedFileSystem()
        try Self.script(fs: probe, publishB: publishB, progress: Progress())
        let total = probe.mutatingOperations
        #expect(total > 30)
        for n in 1...total {
            for seed: UInt64 in [1, 2] {
                let fs = SimulatedFileSystem()
                let progress = Progress()
                var rng = SeededRandom(seed: seed &* 7919 &+ UInt64(n))
                fs.failAfter(operations: n)
                if rng.next() % 2 == 0 { fs.tearFailingWriteAt = Int(rng.next() % 16) }
                do {
                    try Self.script(fs: fs, publishB: publishB, progress: progress)
                    Issue.record("no crash at operation \(n)")
                } catch {
                    #expect(fs.hasFailed, "failed for another reason at \(n): \(error)")
                }
                fs.crash(seed: rng.next())
                try Self.check(fs: fs, progress: progress, context: "publish \(publishB), crash at \(n)/\(total) seed \(seed)")
            }
        }
    }

    @Test func receivedWithoutCrashIsPendingAtReopen() throws {
        let fs = SimulatedFileSystem()
        let progress = Progress()
        try Self.script(fs: fs, publishB: false, progress: progress)
        let names = try fs.list(Self.dir)
        #expect(names.contains { ReceivedSnapshot.isMarkerName($0) })
        try Self.check(fs: fs, progress: progress, context: "clean stop")
    }

    @Test func partialTransferIsDiscardedAndTheOldStateKept() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground())
        try fullSync(store, replid: Self.idA, offset: 100, rdb: TestRDB.make(replid: Self.idA, offset: 100))
        let end = try store.append(resp("SET", "a", "b"), streamDB: 0)
        let w = try store.beginFullSync(replid: Self.idB, offset: 5000)
        try w.write(Array(Self.rdbB.prefix(20)))
        try store.close()  // as a kill: the writer never finished
        let again = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground())
        #expect(again.receivedSnapshot == nil)
        #expect(again.position == ReplicationPosition(replid: Self.idA, offset: end, streamDB: 0))
        #expect(try logBytes(again) == resp("SET", "a", "b"))
        #expect(again.removedLeftovers.contains { $0.hasPrefix("fullsync-") })
        try again.close()
    }

    /// Every single-byte change of a marker makes it unusable: the received RDB is deleted, the old state kept.
    @Test func damagedMarkerIsDiscarded() throws {
        let probe = SimulatedFileSystem()
        try Self.script(fs: probe, publishB: false, progress: Progress())
        let marker = try #require(try probe.list(Self.dir).first { ReceivedSnapshot.isMarkerName($0) })
        let size = try #require(probe.contents(joinPath(Self.dir, marker))).count
        for at in 0..<size {
            let fs = SimulatedFileSystem()
            let progress = Progress()
            try Self.script(fs: fs, publishB: false, progress: progress)
            fs.flipByte(joinPath(Self.dir, marker), at: at, mask: 0x01)
            let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground())
            #expect(store.receivedSnapshot == nil, "byte \(at)")
            #expect(store.discardedReceived.count == 1, "byte \(at)")
            #expect(store.position?.replid == Self.idA && store.position?.offset == progress.aEnd, "byte \(at)")
            #expect(!(try fs.list(Self.dir)).contains(marker), "byte \(at)")
            try store.close()
        }
    }

    /// A received RDB replaced or cut after its marker was written is not published.
    @Test func markerDisagreeingWithItsRDBIsDiscarded() throws {
        for damage in ["truncate", "trailer"] {
            let fs = SimulatedFileSystem()
            let progress = Progress()
            try Self.script(fs: fs, publishB: false, progress: progress)
            let marker = try #require(try fs.list(Self.dir).first { ReceivedSnapshot.isMarkerName($0) })
            let rdb = joinPath(Self.dir, String(marker.dropLast(ReceivedSnapshot.suffix.count)) + ".rdb")
            var bytes = try #require(fs.contents(rdb))
            if damage == "truncate" { bytes.removeLast() } else { bytes[bytes.count - 1] ^= 0x10 }
            fs.setContents(rdb, bytes)
            let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground())
            #expect(store.receivedSnapshot == nil, "\(damage)")
            #expect(store.discardedReceived.count == 1, "\(damage)")
            #expect(store.position?.replid == Self.idA, "\(damage)")
            try store.close()
        }
    }

    /// The first full sync of an empty directory: received, then a crash, then published at reopen.
    @Test func firstFullSyncReceivedBeforeAnyManifest() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground())
        let w = try store.beginFullSync(replid: Self.idB, offset: 5000)
        try w.write(Self.rdbB)
        try store.markReceived(w, verified: nil)
        fs.crash(seed: 5)
        let again = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground())
        #expect(again.position == nil)
        let pending = try #require(again.receivedSnapshot)
        #expect(pending.received?.verified == nil)
        try again.publish(pending)
        #expect(again.position == ReplicationPosition(replid: Self.idB, offset: 5000, streamDB: 3))
        try again.close()
    }

    /// A payload whose AUX names another position is refused before it is marked, and nothing changes.
    @Test func mismatchedAuxIsNotMarked() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: Self.dir, fsync: .always, fileSystem: fs, options: noBackground())
        let w = try store.beginFullSync(replid: Self.idA, offset: 5000)
        try w.write(Self.rdbB)
        let e = try #require(throws: StoreError.self) { try store.markReceived(w, verified: nil) }
        #expect(e.code == .snapshotMismatch)
        w.abort()
        #expect(try fs.list(Self.dir).filter { $0 != "LOCK" } == [])
        try store.close()
    }
}
