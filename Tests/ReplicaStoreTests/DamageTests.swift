import Base
import TestSupport
import RDB
import Testing
@testable import ReplicaStore

/// Damage on the medium: what is cut (a torn or corrupt tail of the last segment) and what refuses to
/// start (anything else), with errors naming the file and byte offset.
@Suite struct DamageTests {
    let dir = "/data"

    /// A directory with a snapshot at offset 100 and `n` records of `SET key:i value`, in segments of `segmentSize`.
    func populated(records n: Int, segmentSize: Int64 = 64 << 20) throws -> (SimulatedFileSystem, Manifest, [[UInt8]]) {
        let fs = SimulatedFileSystem()
        let store = try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground(segmentSize: segmentSize))
        try fullSync(store, replid: replid("a"), offset: 100, rdb: TestRDB.make(replid: replid("a"), offset: 100))
        var cmds: [[UInt8]] = []
        for i in 0..<n {
            let c = resp("SET", "key:\(i)", "value-\(i)")
            cmds.append(c)
            try store.append(c, streamDB: i)
        }
        let m = try #require(store.currentManifest)
        try store.close()
        return (fs, m, cmds)
    }

    func open(_ fs: SimulatedFileSystem) throws -> ReplicaStore {
        try ReplicaStore.open(directory: dir, fsync: .always, fileSystem: fs, options: noBackground())
    }

    func path(_ name: String) -> String { dir + "/" + name }

    /// File offset where record `i` of a single-segment log starts.
    func recordOffset(_ cmds: [[UInt8]], _ i: Int) -> Int {
        cmds.prefix(i).reduce(0) { $0 + LogRecord.headerSize + $1.count }
    }

    @Test func truncationMidRecordIsCutAndResumed() throws {
        let (fs, m, cmds) = try populated(records: 5)
        let seg = path(m.segments[0].file)
        let full = try #require(fs.contents(seg))
        // Every cut point inside the last record: header or payload.
        let lastStart = recordOffset(cmds, 4)
        for cut in (lastStart + 1)..<full.count {
            fs.setContents(seg, Array(full.prefix(cut)))
            let store = try open(fs)
            #expect(store.position?.offset == 100 + Int64(cmds.prefix(4).reduce(0) { $0 + $1.count }))
            #expect(store.position?.streamDB == 3)
            let torn = try #require(store.recoveredTornTail)
            #expect(torn.file == m.segments[0].file)
            #expect(torn.fileOffset == Int64(lastStart))
            #expect(torn.bytes == Int64(cut - lastStart))
            #expect(fs.contents(seg)?.count == lastStart, "cut to the last whole record")
            // Resume: the next append continues the chain.
            try store.append(cmds[4], streamDB: 4)
            try store.close()
            let again = try open(fs)
            #expect(again.recoveredTornTail == nil)
            #expect(try logBytes(again) == cmds.flatMap { $0 })
            try again.close()
            fs.setContents(seg, full)
        }
    }

    @Test func flippedByteInLastRecordIsCut() throws {
        let (fs, m, cmds) = try populated(records: 4)
        let seg = path(m.segments[0].file)
        let full = try #require(fs.contents(seg))
        let lastStart = recordOffset(cmds, 3)
        for at in lastStart..<full.count {
            fs.setContents(seg, full)
            fs.flipByte(seg, at: at)
            let store = try open(fs)
            #expect(store.position?.offset == 100 + Int64(cmds.prefix(3).reduce(0) { $0 + $1.count }), "flip at \(at)")
            #expect(store.recoveredTornTail?.fileOffset == Int64(lastStart))
            try store.close()
        }
    }

    @Test func flippedByteInAnEarlierRecordOfTheLastSegmentIsRefused() throws {
        let (fs, m, cmds) = try populated(records: 4)
        let seg = path(m.segments[0].file)
        let second = recordOffset(cmds, 1)
        fs.flipByte(seg, at: second + LogRecord.headerSize + 3) // in record 1's payload
        let e = try #require(throws: StoreError.self) { try open(fs) }
        #expect(e.code == .logDamage)
        #expect(e.file == seg)
        #expect(e.offset == Int64(second))
        #expect(e.description.contains("CRC mismatch"))
        #expect(e.description.contains("a whole valid record follows at byte \(recordOffset(cmds, 2))"))
        // Nothing was cut.
        #expect(fs.contents(seg)?.count == recordOffset(cmds, 4))
    }

    /// A writable open takes sealed segments on trust; the background verification finds the damage,
    /// stops the store and records it, and from then on every open refuses the directory, naming the
    /// file and offset. Returns the verification's finding and the refusal of the next writable open.
    func damageFoundInTheBackground(_ fs: SimulatedFileSystem) throws -> (SealedVerification, StoreError) {
        let store = try open(fs)
        #expect(!store.sealedSegmentsVerified)
        let found = store.verifySealedSegments()
        #expect(throws: StoreError.self) { try store.append(resp("PING"), streamDB: 0) }
        try? store.close()
        let e = try #require(throws: StoreError.self) { try open(fs) }
        #expect(throws: StoreError.self) { try ReplicaStore.inspect(directory: dir, fileSystem: fs) }
        return (found, e)
    }

    @Test func damageInAnEarlierSegmentIsRefused() throws {
        let (fs, m, _) = try populated(records: 30, segmentSize: 120)
        #expect(m.segments.count >= 3)
        let first = path(m.segments[0].file)
        let size = try #require(fs.contents(first)?.count)
        fs.flipByte(first, at: size - 2)
        // A read-only look scans every segment and refuses at once.
        let r = try #require(throws: StoreError.self) { try ReplicaStore.inspect(directory: dir, fileSystem: fs) }
        #expect(r.code == .logDamage && r.file == first)
        #expect(r.description.contains("not the last segment"))
        let (found, e) = try damageFoundInTheBackground(fs)
        guard case .damaged(let file, let offset, _) = found else {
            Issue.record("not found: \(found)")
            return
        }
        #expect(file == first && offset < Int64(size))
        #expect(e.code == .logDamage)
        #expect(e.file == first)
        #expect(e.offset == offset)
        #expect(e.description.hasPrefix("\(first): error at byte \(offset)"))
        #expect(e.description.contains("background verification"))
        #expect(fs.exists(path(DamageMarker.fileName)))
    }

    @Test func truncatedEarlierSegmentIsRefused() throws {
        let (fs, m, _) = try populated(records: 30, segmentSize: 120)
        let first = path(m.segments[0].file)
        let bytes = try #require(fs.contents(first))
        fs.setContents(first, Array(bytes.dropLast(5)))
        let (found, e) = try damageFoundInTheBackground(fs)
        guard case .damaged(let file, _, _) = found else {
            Issue.record("not found: \(found)")
            return
        }
        #expect(file == first)
        #expect(e.code == .logDamage)
        #expect(e.file == first)
    }

    @Test func wholeSealedSegmentsAreVerifiedAndNotReadAtOpen() throws {
        let (fs, m, cmds) = try populated(records: 30, segmentSize: 120)
        #expect(m.segments.count >= 3)
        let sealed = m.segments.dropLast().map { path($0.file) }
        let before = sealed.map { fs.bytesRead($0) }
        let store = try open(fs)
        #expect(sealed.map { fs.bytesRead($0) } == before, "a writable open reads no sealed segment")
        #expect(store.position?.offset == 100 + Int64(cmds.reduce(0) { $0 + $1.count }))
        #expect(store.position?.streamDB == 29)
        #expect(store.verifySealedSegments() == .verified(segments: sealed.count, bytes: Int64(sealed.reduce(0) { $0 + (fs.contents($1)?.count ?? 0) })))
        #expect(store.sealedSegmentsVerified)
        try store.append(resp("PING"), streamDB: 29)
        try store.close()
    }

    @Test func anEmptyLastSegmentTakesItsDbFromTheManifest() throws {
        // A crash between a roll's manifest and its first record leaves the last segment empty: the
        // position's db is the one recorded for the segment's start (no sealed segment is read).
        let (fs, m, _) = try populated(records: 30, segmentSize: 120)
        let last = try #require(m.segments.last)
        fs.setContents(path(last.file), [])
        let store = try open(fs)
        #expect(store.position?.offset == last.start)
        #expect(store.position?.streamDB == last.startStreamDB)
        #expect(last.startStreamDB != nil)
        try store.close()
    }

    @Test func missingSegmentIsRefused() throws {
        let (fs, m, _) = try populated(records: 30, segmentSize: 120)
        let victim = path(m.segments[1].file)
        fs.setContents(victim, [])
        // Empty earlier segment: it ends at its start, not at the next segment's start.
        let e = try #require(throws: StoreError.self) { try open(fs) }
        #expect(e.code == .logDamage)
        #expect(e.file == victim)
        #expect(e.description.contains("starts at \(m.segments[2].start)"))
    }

    @Test func snapshotAuxMismatchIsRefusedNamingBothValues() throws {
        let (fs, m, _) = try populated(records: 2)
        // Same size, different repl-id and repl-offset in the AUX fields.
        let other = TestRDB.make(replid: replid("b"), offset: 101)
        #expect(other.count == m.snapshot.size)
        fs.setContents(path(m.snapshot.file), other)
        let e = try #require(throws: StoreError.self) { try open(fs) }
        #expect(e.code == .snapshotMismatch)
        #expect(e.file == path(m.snapshot.file))
        #expect(e.description.contains("repl-id \(replid("b")) repl-offset 101"))
        #expect(e.description.contains("repl-id \(replid("a")) repl-offset 100"))
    }

    @Test func snapshotOfAnotherSizeIsRefused() throws {
        let (fs, m, _) = try populated(records: 2)
        fs.setContents(path(m.snapshot.file), TestRDB.make(replid: replid("a"), offset: 100, keys: [("k", "longer value")]))
        let e = try #require(throws: StoreError.self) { try open(fs) }
        #expect(e.code == .badSnapshot)
        #expect(e.description.contains("recorded \(m.snapshot.size)"))
    }

    @Test func missingSnapshotAndBadManifestAreRefused() throws {
        let (fs, m, _) = try populated(records: 1)
        let snap = try #require(fs.contents(path(m.snapshot.file)))
        let manifest = try #require(fs.contents(path(Manifest.fileName)))
        fs.setContents(path(Manifest.fileName), Array(manifest.prefix(manifest.count / 2)))
        var e = try #require(throws: StoreError.self) { try open(fs) }
        #expect(e.code == .badManifest)
        #expect(e.file == path(Manifest.fileName))
        fs.setContents(path(Manifest.fileName), manifest)
        _ = snap
        let renamed = path(m.snapshot.file)
        try fs.rename(renamed, renamed + ".moved")
        e = try #require(throws: StoreError.self) { try open(fs) }
        #expect(e.code == .missingFile)
        #expect(e.file == renamed)
    }

    @Test func garbageAfterTheLastRecordIsCut() throws {
        let (fs, m, cmds) = try populated(records: 3)
        let seg = path(m.segments[0].file)
        var bytes = try #require(fs.contents(seg))
        var rng = SeededRandom(seed: 7)
        for _ in 0..<500 { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
        fs.setContents(seg, bytes)
        let store = try open(fs)
        #expect(store.position?.offset == 100 + Int64(cmds.reduce(0) { $0 + $1.count }))
        #expect(store.recoveredTornTail?.bytes == 500)
        try store.close()
    }

    @Test func recordsThatDoNotChainAreATornTail() throws {
        // A whole record with a wrong start offset (e.g. left over from an older write) is not accepted.
        let (fs, m, cmds) = try populated(records: 2)
        let seg = path(m.segments[0].file)
        var bytes = try #require(fs.contents(seg))
        let stray: [UInt8] = resp("PING")
        let h = stray.withUnsafeBytes { LogRecord.header(startOffset: 5, streamDB: 0, payload: $0) }
        bytes += h + stray
        fs.setContents(seg, bytes)
        let store = try open(fs)
        #expect(store.position?.offset == 100 + Int64(cmds.reduce(0) { $0 + $1.count }))
        #expect(store.recoveredTornTail?.reason.contains("does not continue the log") == true)
        try store.close()
    }

    @Test func readOnlyInspectDoesNotCut() throws {
        let (fs, m, cmds) = try populated(records: 3)
        let seg = path(m.segments[0].file)
        let full = try #require(fs.contents(seg))
        fs.setContents(seg, Array(full.dropLast(3)))
        let status = try ReplicaStore.inspect(directory: dir, fileSystem: fs)
        #expect(status.offset == 100 + Int64(cmds.prefix(2).reduce(0) { $0 + $1.count }))
        #expect(status.tornTail?.bytes == Int64(LogRecord.headerSize + cmds[2].count - 3))
        #expect(fs.contents(seg)?.count == full.count - 3)
    }
}
