import Base
import Foundation
import RDB
import Testing
import TestSupport
@testable import ReplicaStore

/// `StoreReadView` (what `redis-replica snapshot` reads a directory through): no lock, nothing changed,
/// and a consistent snapshot + log while a writer appends, rolls segments and publishes a new full sync.
@Suite struct StoreReadViewTests {
    /// The snapshot's AUX repl-id and repl-offset, read through the view's own source.
    static func snapshotAux(_ view: StoreReadView) throws -> (String?, Int64?) {
        let reader = RDBReader(source: view.snapshotSource())
        var id: String?
        var offset: Int64?
        while let r = try reader.next() {
            if case .aux(let k, let v) = r {
                let key = String(decoding: k, as: UTF8.self), value = String(decoding: v, as: UTF8.self)
                if key == "repl-id" { id = value }
                if key == "repl-offset" { offset = Int64(value) }
            }
            if case .eof = r { break }
        }
        return (id, offset)
    }

    /// Every record of the view, checked to be contiguous from the snapshot's offset to the position.
    static func readAll(_ view: StoreReadView) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var expected = view.manifest.snapshot.offset
        try view.forEachLogRecord { e in
            #expect(e.startOffset == expected)
            expected = e.endOffset
            bytes += e.payload
            return true
        }
        #expect(expected == view.position.offset)
        return bytes
    }

    @Test func viewWhileAWriterAppendsRollsAndPublishes() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 32 KiB segments: the ~390 KB the writer appends still roll about a dozen times. With 4 KiB ones a
        // roll (a new manifest) came faster than a view's scan on a loaded 2-core CI machine, so the view's
        // 20 looks all saw a changed manifest (a failure seen once in a full CI run).
        let store = try ReplicaStore.open(directory: dir, fsync: .no, options: noBackground(segmentSize: 32 * 1024))
        try fullSync(store, replid: replid("a"), offset: 0, rdb: TestRDB.make(replid: replid("a"), offset: 0))
        let (done, writerError) = startRollingWriter(store)
        var views = 0
        var sawB = false
        var finished = false
        while !finished && views < 10_000 {
            finished = done.wait(timeout: .now()) == .success
            let view = try StoreReadView.open(directory: dir)
            let (id, offset) = try Self.snapshotAux(view)
            #expect(id == view.manifest.replid && offset == view.manifest.snapshot.offset)
            if id == replid("b") { sawB = true } else { #expect(!sawB, "went back to the old full sync") }
            let log = try Self.readAll(view)
            // Whole commands only: the records end at command boundaries.
            #expect(log.isEmpty || (log.starts(with: Array("*3\r\n".utf8)) && log.suffix(2) == [13, 10]))
            view.close()
            views += 1
        }
        if !finished { done.wait() }
        if let e = writerError.get() { throw e }
        #expect(views > 0)
        #expect(sawB, "the last view, opened after the writer finished, sees the new full sync")
        try store.close()
    }

    @Test func aViewKeepsReadingAfterItsFilesAreReplaced() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try ReplicaStore.open(directory: dir, fsync: .no, options: noBackground(segmentSize: 100))
        try fullSync(store, replid: replid("a"), offset: 10, rdb: TestRDB.make(replid: replid("a"), offset: 10))
        var written: [UInt8] = []
        for i in 0..<20 {
            let c = resp("SET", "k\(i)", "v\(i)")
            written += c
            try store.append(c, streamDB: 0)
        }
        let view = try StoreReadView.open(directory: dir)
        let before = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(!before.contains { $0.hasSuffix(".tmp") })
        // The writer holds the lock: the view took none. A new full sync deletes every file the view opened.
        try fullSync(store, replid: replid("b"), offset: 900, rdb: TestRDB.make(replid: replid("b"), offset: 900))
        try store.append(resp("SET", "new", "1"), streamDB: 0)
        let after = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(Set(after).intersection(view.manifest.segments.map(\.file) + [view.manifest.snapshot.file]).isEmpty)
        #expect(view.manifest.segments.count > 1)
        #expect(try Self.readAll(view) == written)
        let (id, offset) = try Self.snapshotAux(view)
        #expect(id == replid("a") && offset == 10)
        #expect(view.position == ReplicationPosition(replid: replid("a"), offset: 10 + Int64(written.count), streamDB: 0))
        view.close()
        try store.close()
        let again = try StoreReadView.open(directory: dir)
        #expect(again.position.replid == replid("b"))
        #expect(try Self.readAll(again) == resp("SET", "new", "1"))
    }

    @Test func anEmptyDirectoryIsAnError() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = #expect(throws: StoreError.self) { try StoreReadView.open(directory: dir) }
        #expect(e?.code == .invalidState)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "no LOCK or other file created")
    }
}
