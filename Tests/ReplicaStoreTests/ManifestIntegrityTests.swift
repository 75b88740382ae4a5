import Base
import Foundation
import RDB
import Testing
import TestSupport
@testable import ReplicaStore

/// The self-checking manifest: sequence, checksum over every byte, the snapshot's CRC-64 and AUX checked
/// against the manifest at every open (see `Manifest` and the decision table on `Recovery`).
@Suite struct ManifestIntegrityTests {
    let dir = "/data"
    var manifestPath: String { dir + "/" + Manifest.fileName }

    /// A test RDB with a real CRC-64 trailer (Redis's crc64 over everything before it).
    static func rdbWithCRC(replid: String, offset: Int64, streamDB: Int = 2, value: String = "v") -> [UInt8] {
        var b = TestRDB.make(replid: replid, offset: offset, streamDB: streamDB, keys: [("k", value)])
        b.removeLast(8)
        return b + LittleEndian.bytes(CRC64.update(0, b))
    }

    /// A store with a CRC'd snapshot, a +CONTINUE that switched ids (replid2 set) and a few records.
    func populated() throws -> (SimulatedFileSystem, Manifest) {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: 200))
        try fullSync(store, replid: replid("a"), offset: 100, rdb: Self.rdbWithCRC(replid: replid("a"), offset: 100))
        try store.append(resp("SET", "x", "1"), streamDB: 2)
        try store.recordPartialSync(replid: replid("b"))
        for i in 0..<8 { try store.append(resp("SET", "key\(i)", String(repeating: "v", count: 30)), streamDB: i % 3) }
        // The rolls' manifest write runs in the background (here: at close, SegmentRoll.swift).
        try store.close()
        let m = try #require(store.currentManifest)
        return (fs, m)
    }

    func open(_ fs: SimulatedFileSystem) throws -> ReplicaStore {
        try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
    }

    @Test func sequenceIncrementsAndTheChecksumFollowsTheByteRule() throws {
        let (fs, m) = try populated()
        // full sync (1), +CONTINUE (2), the manifest write after the rolls (3).
        #expect(m.sequence >= 3)
        #expect(m.snapshot.crc64?.count == 16)
        let bytes = try #require(fs.contents(manifestPath))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"sequence\" : \(m.sequence)"))
        // The byte rule, recomputed here independently: zero the 8 digits, CRC-32 the file.
        let range = try #require(text.range(of: "\"checksum\" : \""))
        let at = text.utf8.distance(from: text.utf8.startIndex, to: range.upperBound)
        var zeroed = bytes
        zeroed.replaceSubrange(at..<at + 8, with: Array("00000000".utf8))
        let stored = String(decoding: bytes[at..<at + 8], as: UTF8.self)
        #expect(UInt32(stored, radix: 16) == CRC32.checksum(zeroed) && stored == stored.lowercased())
        // Reopened: the sequence goes on from the file.
        let store = try open(fs)
        try store.recordPartialSync(replid: nil)
        #expect(store.currentManifest?.sequence == m.sequence + 1)
        try store.close()
    }

    /// Every byte of a real manifest, flipped with several bit patterns: every result is refused, naming
    /// the manifest and a byte offset (nothing is resumed from an edited position).
    @Test func everyByteFlipIsRefusedNamingTheFileAndOffset() throws {
        let (fs, _) = try populated()
        let original = try #require(fs.contents(manifestPath))
        #expect(original.count > 500)
        var refused = 0
        for offset in 0..<original.count {
            for mask: UInt8 in [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF, 0x11] {
                var bytes = original
                bytes[offset] ^= mask
                fs.setContents(manifestPath, bytes)
                let e = try #require(throws: StoreError.self, "flip 0x\(String(mask, radix: 16)) at byte \(offset) accepted") {
                    _ = try ReplicaStore.inspect(directory: dir, fileSystem: fs)
                }
                #expect(e.code == .badManifest && e.file == manifestPath && e.offset != nil,
                        "flip at \(offset): \(e)")
                refused += 1
            }
            if offset % 97 == 0 {
                // The writable open (what `follow` does) refuses too, and changes nothing.
                #expect(throws: StoreError.self) { _ = try open(fs) }
            }
        }
        #expect(refused == original.count * 10)
        fs.setContents(manifestPath, original)
        let store = try open(fs)
        #expect(store.position?.replid == replid("b"))
        try store.close()
    }

    @Test func version1ManifestIsRefusedSayingWhatToDo() throws {
        let (fs, _) = try populated()
        let text = String(decoding: try #require(fs.contents(manifestPath)), as: UTF8.self)
        // A version 1 manifest: no checksum, no sequence.
        let v1 = text.split(separator: "\n").filter { !$0.contains("\"checksum\"") && !$0.contains("\"sequence\"") }
            .joined(separator: "\n").replacingOccurrences(of: "\"version\" : \(Manifest.currentVersion)", with: "\"version\" : 1")
        fs.setContents(manifestPath, Array(v1.utf8))
        let e = try #require(throws: StoreError.self) { _ = try open(fs) }
        #expect(e.code == .badManifest && e.file == manifestPath && e.offset == 0)
        #expect(e.message.contains("version 1") && e.message.contains("full sync"))
    }

    /// Edits that keep a valid checksum (written by someone who recomputed it) still meet the snapshot.
    @Test func snapshotFieldsAreCheckedAgainstTheSnapshotsAUXAndTrailer() throws {
        let (fs, m) = try populated()
        let snapPath = dir + "/" + m.snapshot.file
        func refused(_ edit: (inout Manifest) -> Void) throws -> StoreError {
            var e = m
            edit(&e)
            fs.setContents(manifestPath, try e.encoded())
            return try #require(throws: StoreError.self) { _ = try open(fs) }
        }
        var e = try refused { $0.snapshot.replid = replid("c") }
        #expect(e.code == .snapshotMismatch && e.file == snapPath && e.message.contains("repl-id"))
        e = try refused { $0.snapshot.offset = 99; $0.segments[0].start = 99 }
        #expect(e.code == .snapshotMismatch && e.message.contains("repl-offset"))
        e = try refused { $0.snapshot.streamDB = 3 }
        #expect(e.code == .snapshotMismatch && e.message.contains("repl-stream-db"))
        e = try refused { $0.snapshot.crc64 = "0123456789abcdef" }
        #expect(e.code == .badSnapshot && e.file == snapPath && e.offset == m.snapshot.size - 8)
        fs.setContents(manifestPath, try m.encoded())
        try open(fs).close()

        // The snapshot replaced by one of the same size and AUX but other content: the trailer differs.
        fs.setContents(snapPath, Self.rdbWithCRC(replid: replid("a"), offset: 100, value: "w"))
        e = try #require(throws: StoreError.self) { _ = try open(fs) }
        #expect(e.code == .badSnapshot && e.message.contains("CRC-64"))
    }

    @Test func publishRefusesAPayloadWhoseAUXIsNotTheFullResyncPosition() throws {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
        let e = try #require(throws: StoreError.self) {
            try fullSync(store, replid: replid("a"), offset: 100, rdb: Self.rdbWithCRC(replid: replid("a"), offset: 90))
        }
        #expect(e.code == .snapshotMismatch && e.message.contains("repl-offset 90"))
        #expect(store.position == nil)
        // The store is not poisoned: a right payload publishes.
        try fullSync(store, replid: replid("a"), offset: 100, rdb: Self.rdbWithCRC(replid: replid("a"), offset: 100))
        #expect(store.position?.offset == 100)
        try store.close()
    }

    @Test func aLeftoverTempManifestWithAHigherSequenceIsIgnoredAndDeleted() throws {
        let (fs, m) = try populated()
        var newer = m
        newer.sequence = m.sequence + 5
        newer.replid = replid("d")
        fs.setContents(dir + "/" + Manifest.tempFileName, try newer.encoded())
        let store = try open(fs)
        #expect(store.position?.replid == replid("b"), "MANIFEST is the last acknowledged state")
        #expect(store.removedLeftovers.contains(Manifest.tempFileName))
        #expect(fs.contents(dir + "/" + Manifest.tempFileName) == nil)
        try store.close()
    }
}
