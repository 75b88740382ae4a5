import Foundation
import ReplicaStore
import Testing
import TestSupport

/// LogTail reads the committed stream back from any offset, across record and segment boundaries, and
/// picks up appends (and segment rolls) made after it was opened.
@Suite struct LogTailTests {
    /// `REDIS0010`, EOF, zero CRC: the smallest snapshot the store publishes.
    static let emptyRDB: [UInt8] = Array("REDIS0010".utf8) + [0xFF] + [UInt8](repeating: 0, count: 8)

    func openStore(_ dir: TemporaryDirectory) throws -> ReplicaStore {
        try ReplicaStore.open(directory: dir.url.path, fsync: .no,
                              options: ReplicaStore.Options(segmentSize: 100, backgroundSync: false))
    }

    @Test(arguments: [7 as UInt64, 8, 9]) func readsEveryRangeAcrossSegments(seed: UInt64) throws {
        let dir = try TestPaths.makeTemporaryDirectory(prefix: "logtail")
        defer { dir.remove() }
        let store = try openStore(dir)
        defer { try? store.close() }
        let base: Int64 = 1000
        let w = try store.beginFullSync(replid: String(repeating: "a", count: 40), offset: base)
        try w.write(LogTailTests.emptyRDB)
        try store.publish(w)
        var rng = SeededRandom(seed: seed)
        var stream: [UInt8] = []
        for _ in 0..<60 {
            let chunk = (0..<Int(rng.next() % 60 + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            stream += chunk
            try store.append(chunk, streamDB: 0)
        }
        #expect((store.currentManifest?.segments.count ?? 0) > 5)
        let end = base + Int64(stream.count)
        for _ in 0..<40 {
            let from = base + Int64(rng.next() % UInt64(stream.count + 1))
            let tail = try LogTail(store: store, after: from)
            var got: [UInt8] = []
            while true {
                let upTo = min(end, tail.offset + Int64(rng.next() % 80))
                let bytes = try tail.read(upTo: upTo, maxChunk: Int(rng.next() % 50 + 1), manifest: { store.currentManifest })
                if bytes.isEmpty && tail.offset == end { break }
                got += bytes
            }
            #expect(got == Array(stream[Int(from - base)...]))
        }
        // A reader at the end sees later appends, including ones that roll to a new segment.
        let tail = try LogTail(store: store, after: end)
        #expect(try tail.read(upTo: end, maxChunk: 10, manifest: { store.currentManifest }).isEmpty)
        var more: [UInt8] = []
        for i in 0..<10 {
            let chunk = [UInt8](repeating: UInt8(i), count: 45)
            more += chunk
            try store.append(chunk, streamDB: 1)
        }
        var got: [UInt8] = []
        let newEnd = end + Int64(more.count)
        while tail.offset < newEnd {
            got += try tail.read(upTo: newEnd, maxChunk: 64, manifest: { store.currentManifest })
        }
        #expect(got == more)
        #expect(throws: LogTail.Failure.self) { try LogTail(store: store, after: base - 1) }
        #expect(throws: LogTail.Failure.self) { try LogTail(store: store, after: newEnd + 1) }
    }
}
