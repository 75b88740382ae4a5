import TestSupport
import Base
import Foundation
import RDB
import Testing
@testable import ReplicaStore

@Suite struct StoreBasicsTests {
    let dir = "/data"

    @Test func emptyDirectoryHasNoPosition() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        #expect(store.position == nil)
        #expect(throws: StoreError.self) { try store.append(resp("PING"), streamDB: 0) }
        try store.close()
        let status = try ReplicaStore.inspect(directory: dir, fileSystem: fs)
        #expect(status.hasPosition == false)
    }

    @Test func fullSyncThenAppendsSurviveReopen() throws {
        let fs = SimulatedFileSystem()
        var store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        let rdb = TestRDB.make(replid: replid("a"), offset: 1000, streamDB: 0)
        let snap = try fullSync(store, replid: replid("a"), offset: 1000, rdb: rdb)
        #expect(snap.aux == SnapshotAux(replid: replid("a"), offset: 1000, streamDB: 0))
        #expect(store.position == ReplicationPosition(replid: replid("a"), offset: 1000, streamDB: 0))
        let c1 = resp("SELECT", "3") + resp("SET", "k", "v")
        let c2 = resp("PING")
        #expect(try store.append(c1, streamDB: 3) == 1000 + Int64(c1.count))
        #expect(try store.append(c2, streamDB: 3) == 1000 + Int64(c1.count + c2.count))
        #expect(store.durableOffset == 1000 + Int64(c1.count + c2.count))
        try store.close()

        store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        let p = try #require(store.position)
        #expect(p.replid == replid("a"))
        #expect(p.offset == 1000 + Int64(c1.count + c2.count))
        #expect(p.psyncOffset == p.offset + 1)
        #expect(p.streamDB == 3)
        #expect(try logBytes(store) == c1 + c2)
        #expect(store.recoveredTornTail == nil)
        let m = try #require(store.currentManifest)
        #expect(m.lastSync.kind == .full)
        try store.close()
    }

    @Test func snapshotStreamDBComesFromAux() throws {
        let fs = SimulatedFileSystem()
        var store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        try fullSync(store, replid: replid("b"), offset: 70000, rdb: TestRDB.make(replid: replid("b"), offset: 70000, streamDB: 5, intEncodedOffset: false))
        try store.close()
        store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        #expect(store.position == ReplicationPosition(replid: replid("b"), offset: 70000, streamDB: 5))
        try store.close()
    }

    @Test func segmentsRollAndRecover() throws {
        let fs = SimulatedFileSystem()
        var store = try ReplicaStore.open(directory: dir, fsync: .no, fileSystem: fs, options: noBackground(segmentSize: 100))
        try fullSync(store, replid: replid("c"), offset: 0, rdb: TestRDB.make(replid: replid("c"), offset: 0))
        var expected: [UInt8] = []
        for i in 0..<40 {
            let c = resp("SET", "key:\(i)", String(repeating: "x", count: i))
            expected += c
            try store.append(c, streamDB: i % 4)
        }
        #expect(store.currentManifest!.segments.count > 5)
        let segs = store.currentManifest!.segments
        for (a, b) in zip(segs, segs.dropFirst()) { #expect(a.start < b.start) }
        try store.close()
        store = try ReplicaStore.open(directory: dir, fsync: .no, fileSystem: fs, options: noBackground(segmentSize: 100))
        #expect(store.position?.offset == Int64(expected.count))
        #expect(store.position?.streamDB == 39 % 4)
        #expect(try logBytes(store) == expected)
        let st = store.status
        #expect(st.segmentCount == segs.count)
        #expect(st.logStreamBytes == Int64(expected.count))
        #expect(st.logBytes == Int64(expected.count + 40 * LogRecord.headerSize))
        try store.close()
    }

    @Test func secondFullSyncReplacesEverythingAndDeletesOldFiles() throws {
        let fs = SimulatedFileSystem()
        var store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 64))
        try fullSync(store, replid: replid("a"), offset: 10, rdb: TestRDB.make(replid: replid("a"), offset: 10))
        for i in 0..<10 { try store.append(resp("INCR", "n\(i)"), streamDB: 0) }
        try store.recordPartialSync(replid: replid("b"))
        #expect(store.replid2 != nil)
        try fullSync(store, replid: replid("d"), offset: 999_999, rdb: TestRDB.make(replid: replid("d"), offset: 999_999, streamDB: 2))
        #expect(store.replid2 == nil)
        #expect(store.position == ReplicationPosition(replid: replid("d"), offset: 999_999, streamDB: 2))
        try store.append(resp("PING"), streamDB: 2)
        try store.close()
        let m = try #require(store.currentManifest)
        let files = Set(fs.allPaths().map { String($0.split(separator: "/").last!) })
        #expect(files == Set([Manifest.fileName, m.snapshot.file] + m.segments.map(\.file)).union(["LOCK"]).subtracting(["LOCK"]))
        store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        #expect(store.position?.offset == 999_999 + Int64(resp("PING").count))
        try store.close()
    }

    @Test func partialSyncWithNewIdPersistsReplid2() throws {
        let fs = SimulatedFileSystem()
        var store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        try fullSync(store, replid: replid("a"), offset: 500, rdb: TestRDB.make(replid: replid("a"), offset: 500))
        let c = resp("SET", "a", "1")
        try store.append(c, streamDB: 0)
        try store.recordPartialSync(replid: replid("a")) // same id: no replid2
        #expect(store.replid2 == nil)
        #expect(store.currentManifest?.lastSync.kind == .partial)
        try store.recordPartialSync(replid: replid("e"))
        try store.append(resp("PING"), streamDB: 0)
        try store.close()

        store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        #expect(store.position?.replid == replid("e"))
        let r2 = try #require(store.replid2)
        #expect(r2.replid == replid("a"))
        #expect(r2.offset == 500 + Int64(c.count) + 1)
        // The base snapshot still carries the old id: that is not a mismatch.
        #expect(store.currentManifest?.snapshot.replid == replid("a"))
        try store.recordPartialSync(replid: nil)
        #expect(store.replid2?.replid == replid("a"))
        #expect(throws: StoreError.self) { try store.recordPartialSync(replid: "nothex") }
        try store.close()
    }

    @Test func snapshotWithoutReplicationAuxIsRecordedAsSuch() throws {
        let fs = SimulatedFileSystem()
        var store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        let snap = try fullSync(store, replid: replid("f"), offset: 42, rdb: TestRDB.make(replid: nil, offset: nil, streamDB: nil))
        #expect(snap.aux == nil)
        #expect(snap.offset == 42)
        #expect(snap.streamDB == 0)
        try store.close()
        store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        #expect(store.position == ReplicationPosition(replid: replid("f"), offset: 42, streamDB: 0))
        try store.close()
    }

    @Test func publishRejectsANonRDBPayload() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        let w = try store.beginFullSync(replid: replid("a"), offset: 1)
        try w.write(Array("HELLO WORLD, NOT AN RDB".utf8))
        try w.finish()
        let e = try #require(throws: StoreError.self) { try store.publish(w) }
        #expect(e.code == .badSnapshot)
        #expect(store.position == nil)
        w.abort()
        #expect(!fs.allPaths().contains { $0.hasSuffix(".tmp") })
    }

    @Test func invalidArgumentsAreRefused() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        #expect(throws: StoreError.self) { try store.beginFullSync(replid: "short", offset: 1) }
        #expect(throws: StoreError.self) { try store.beginFullSync(replid: replid("a"), offset: -1) }
        try fullSync(store, replid: replid("a"), offset: 1, rdb: TestRDB.make(replid: replid("a"), offset: 1))
        #expect(throws: StoreError.self) { try store.append(resp("PING"), streamDB: -1) }
        #expect(try store.append([], streamDB: 0) == 1)
    }

    @Test func secondWriterIsLockedOut() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        let e = try #require(throws: StoreError.self) {
            try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        }
        #expect(e.code == .locked)
        try store.close()
        let again = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        try again.close()
    }

    @Test func leftoversOfInterruptedOperationsAreDeleted() throws {
        let fs = SimulatedFileSystem()
        var store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        try fullSync(store, replid: replid("a"), offset: 1, rdb: TestRDB.make(replid: replid("a"), offset: 1))
        let w = try store.beginFullSync(replid: replid("b"), offset: 2)
        try w.write([1, 2, 3])
        try store.close()
        fs.setContents("/data/MANIFEST.tmp", [1, 2, 3])
        fs.setContents("/data/unrelated.txt", [1])
        store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        #expect(store.removedLeftovers.sorted() == [Manifest.tempFileName, w.name].sorted())
        #expect(fs.contents("/data/unrelated.txt") == [1])
        #expect(store.position?.offset == 1)
        // New file names never reuse a leftover's number.
        let w2 = try store.beginFullSync(replid: replid("c"), offset: 3)
        #expect(w2.name != w.name)
        try store.close()
    }

    @Test func followerStateFileRoundTripsAndStalePidIsNotRunning() throws {
        let fs = SimulatedFileSystem()
        try fs.createDirectory(dir)
        let st = FollowerState(pid: getpid(), link: .streaming, master: "127.0.0.1:6379", updatedUnixMs: 5, ackedOffset: 77)
        try FollowerState.write(st, directory: dir, fileSystem: fs)
        #expect(FollowerState.read(directory: dir, fileSystem: fs) == st)
        #expect(st.isProcessAlive)
        let status = try ReplicaStore.inspect(directory: dir, fileSystem: fs)
        #expect(status.follower == st)
        #expect(!status.followerStale)
        var dead = st
        dead.pid = Int32.max - 7
        try FollowerState.write(dead, directory: dir, fileSystem: fs)
        let s2 = try ReplicaStore.inspect(directory: dir, fileSystem: fs)
        #expect(s2.follower == nil)
        #expect(s2.followerStale)
    }

    @Test func posixEndToEndWithBackgroundSync() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var store = try ReplicaStore.open(directory: dir, fsync: .everysec)
        try fullSync(store, replid: replid("9"), offset: 12345, rdb: TestRDB.make(replid: replid("9"), offset: 12345))
        var total: Int64 = 12345
        for i in 0..<100 {
            let c = resp("SET", "k\(i)", "v")
            total = try store.append(c, streamDB: 0)
        }
        #expect(try store.sync() == total)
        // A concurrent read-only look while the writer holds the directory.
        let status = try ReplicaStore.inspect(directory: dir)
        #expect(status.offset == total)
        #expect(status.tornTail == nil)
        try store.close()
        store = try ReplicaStore.open(directory: dir, fsync: .everysec)
        #expect(store.position?.offset == total)
        try store.close()
    }
}

@Suite struct StartupCostTests {
    /// Opening reads the snapshot's first records only: the bytes read from it do not grow with its keys.
    @Test func openReadsOnlyTheSnapshotsHead() throws {
        let fs = SimulatedFileSystem()
        // RESIZEDB's count is one byte in the test builder; the reader does not need it to match.
        var rdb: [UInt8] = TestRDB.make(replid: replid("a"), offset: 1, keys: [("k", "v")])
        rdb.removeLast(9) // EOF + checksum
        let value = TestRDB.string(String(repeating: "v", count: 50))
        for i in 0..<40_000 {
            rdb.append(0)
            rdb += TestRDB.string("key:\(i)")
            rdb += value
        }
        rdb += [255] + [UInt8](repeating: 0, count: 8)
        #expect(rdb.count > 2_000_000)
        var store = try ReplicaStore.open(directory: "/d", fsync: .always, fileSystem: fs, options: noBackground())
        let snap = try fullSync(store, replid: replid("a"), offset: 1, rdb: rdb)
        try store.close()
        let path = "/d/" + snap.file
        let before = fs.bytesRead(path)
        store = try ReplicaStore.open(directory: "/d", fsync: .always, fileSystem: fs, options: noBackground())
        #expect(store.position?.offset == 1)
        let read = fs.bytesRead(path) - before
        #expect(read > 0 && read <= 128 << 10, "read \(read) of \(rdb.count) snapshot bytes")
        try store.close()
    }
}

@Suite struct DirectoryCreationTests {
    @Test func parentDirectories() {
        #expect(parentDirectory(of: "/a/b/c") == "/a/b")
        #expect(parentDirectory(of: "/a/b/") == "/a")
        #expect(parentDirectory(of: "/a") == "/")
        #expect(parentDirectory(of: "data") == ".")
        #expect(parentDirectory(of: "x/data") == "x")
    }

    @Test func openCreatesNestedDirectoryOnDisk() throws {
        let root = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/nested/data"
        let store = try ReplicaStore.open(directory: dir, fsync: .always, options: noBackground())
        #expect(store.position == nil)
        try fullSync(store, replid: replid("a"), offset: 3, rdb: TestRDB.make(replid: replid("a"), offset: 3))
        try store.close()
        #expect(FileManager.default.fileExists(atPath: dir + "/MANIFEST"))
    }
}
