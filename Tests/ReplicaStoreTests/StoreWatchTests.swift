import Base
import Foundation
import TestSupport
import Testing
@testable import ReplicaStore

/// `StoreWatch` and the lock-free reads (`logStreamBytesSinceSnapshot`, `sealedSegmentsVerified`) agree with
/// the store's locked state after every kind of change: appends, rolls, a compaction, a new full sync, a reopen.
@Suite struct StoreWatchTests {
    static func agree(_ store: ReplicaStore, _ watch: StoreWatch, _ what: String) {
        #expect(watch.manifest == store.currentManifest, "\(what): manifest")
        #expect(watch.endOffset == store.position?.offset, "\(what): end offset")
        let m = store.currentManifest
        #expect(store.logStreamBytesSinceSnapshot == (m.map { store.position!.offset - $0.snapshot.offset } ?? 0), "\(what): log bytes")
    }

    @Test func followsAppendsRollsCompactionsAndFullSyncs() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: CompactionTests.dir, fsync: .always, fileSystem: fs,
                                          options: noBackground(segmentSize: 300))
        let watch = StoreWatch(store: store)
        #expect(watch.manifest == nil && watch.endOffset == nil && store.logStreamBytesSinceSnapshot == 0)
        let cmds = CompactionTests.commands(40, seed: 11)
        try fullSync(store, replid: CompactionTests.id, offset: CompactionTests.base,
                     rdb: TestRDB.make(replid: CompactionTests.id, offset: CompactionTests.base, streamDB: 0))
        Self.agree(store, watch, "after the full sync")
        var ends: [(Int64, Int)] = []
        var segments = store.currentManifest!.segments.count
        for (c, db) in cmds {
            ends.append((try store.append(c, streamDB: db), db))
            Self.agree(store, watch, "after an append")
            segments = max(segments, store.currentManifest!.segments.count)
        }
        #expect(segments >= 5, "the appends rolled segments")
        _ = try CompactionTests.compact(store, at: ends[20].0, db: ends[20].1)
        Self.agree(store, watch, "after a compaction")
        #expect(watch.manifest?.snapshot.offset == ends[20].0)

        let other = replid("b")
        try fullSync(store, replid: other, offset: 90_000, rdb: TestRDB.make(replid: other, offset: 90_000, streamDB: 0))
        Self.agree(store, watch, "after a second full sync")
        #expect(watch.manifest?.replid == other && watch.endOffset == 90_000)
        try store.close()

        // Reopened: sealed segments are taken on trust until verified.
        let again = try ReplicaStore.open(directory: CompactionTests.dir, fsync: .always, fileSystem: fs,
                                          options: noBackground(segmentSize: 300))
        for (c, db) in cmds.prefix(10) { _ = try again.append(c, streamDB: db) }
        try again.close()
        let third = try ReplicaStore.open(directory: CompactionTests.dir, fsync: .always, fileSystem: fs,
                                          options: noBackground(segmentSize: 300))
        let watch3 = StoreWatch(store: third)
        Self.agree(third, watch3, "after a reopen")
        #expect(third.sealedSegmentsVerified == (third.currentManifest!.segments.count <= 1))
        #expect(third.verifySealedSegments() != .stopped)
        #expect(third.sealedSegmentsVerified)
        try third.close()
    }
}
