import Base
import TestSupport
import Testing
@testable import ReplicaStore

/// Seeded mutations of a valid directory: open never crashes; it either recovers a prefix of the
/// log or refuses with a `StoreError` naming a file.
@Suite struct FuzzTests {
    func build() throws -> (SimulatedFileSystem, Manifest, [UInt8]) {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: "/d", fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 400))
        try fullSync(store, replid: replid("a"), offset: 50, rdb: TestRDB.make(replid: replid("a"), offset: 50))
        var all: [UInt8] = []
        for i in 0..<40 {
            let c = resp("SET", "k\(i)", String(repeating: "z", count: i * 3))
            all += c
            try store.append(c, streamDB: 0)
        }
        let m = try #require(store.currentManifest)
        try store.close()
        return (fs, m, all)
    }

    @Test func mutatedSegmentsNeverCrashRecovery() throws {
        var rng = SeededRandom(seed: 2024)
        let (base, m, all) = try build()
        let paths = m.segments.map { "/d/" + $0.file }
        let originals = paths.map { base.contents($0)! }
        var recovered = 0, refused = 0
        for _ in 0..<400 {
            let fs = SimulatedFileSystem()
            try fs.createDirectory("/d")
            for p in base.allPaths() where !p.hasSuffix("LOCK") { fs.setContents(p, base.contents(p)!) }
            let which = Int(rng.next() % UInt64(paths.count))
            var bytes = originals[which]
            switch rng.next() % 4 {
            case 0 where !bytes.isEmpty: bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1 + rng.next() % 255)
            case 1: bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count + 1))))
            case 2:
                let at = Int(rng.next() % UInt64(bytes.count + 1))
                bytes.insert(contentsOf: (0..<(1 + rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            default: bytes += (0..<(rng.next() % 100)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            fs.setContents(paths[which], bytes)
            do {
                let store = try ReplicaStore.open(directory: "/d", fsync: .always, fileSystem: fs, options: noBackground())
                let log = try logBytes(store)
                #expect(log[...] == all.prefix(log.count), "recovered log is not a prefix")
                #expect(store.position?.offset == 50 + Int64(log.count))
                try store.close()
                recovered += 1
            } catch let e as StoreError {
                #expect(e.code == .logDamage || e.code == .badManifest, "\(e)")
                #expect(e.file != nil)
                refused += 1
            }
        }
        #expect(recovered > 0 && refused > 0)
    }

    @Test func mutatedManifestsNeverCrashRecovery() throws {
        var rng = SeededRandom(seed: 77)
        let (base, _, _) = try build()
        let original = try #require(base.contents("/d/MANIFEST"))
        for _ in 0..<300 {
            let fs = SimulatedFileSystem()
            try fs.createDirectory("/d")
            for p in base.allPaths() where !p.hasSuffix("LOCK") { fs.setContents(p, base.contents(p)!) }
            var bytes = original
            for _ in 0..<(1 + rng.next() % 3) {
                let at = Int(rng.next() % UInt64(bytes.count))
                if rng.next() % 2 == 0 { bytes[at] = UInt8(truncatingIfNeeded: rng.next()) } else { bytes.remove(at: at) }
            }
            fs.setContents("/d/MANIFEST", bytes)
            do {
                let store = try ReplicaStore.open(directory: "/d", fsync: .always, fileSystem: fs, options: noBackground())
                try store.close()
            } catch let e as StoreError {
                #expect(e.file != nil, "\(e)")
            }
        }
    }
}
