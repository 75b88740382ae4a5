import Foundation
import Testing
import TestSupport
@testable import RDB

/// `RDBReader.skipKeyQuickly()` finds the key boundaries the full reader finds, and a reader resumed at any
/// record boundary (`RDBResumePoint`) reads what the full reader reads from there, checksum included.
@Suite struct ReaderResumeTests {
    /// The offset after every record the full reader returns, in order.
    static func fullBoundaries(_ bytes: [UInt8], name: String) throws -> [Int64] {
        let reader = RDBReader(source: MemoryByteSource(bytes: bytes), fileName: name)
        var out: [Int64] = []
        while let r = try reader.next() {
            if case .header = r { continue }
            out.append(reader.bytesConsumed)
        }
        return out
    }

    /// The same boundaries found by walking keys with `skipKeyQuickly()` (and `next()` for the rest), the way
    /// `rdb dump --threads` plans its runs; the source hands bytes over in `chunking` pieces.
    static func quickBoundaries(_ bytes: [UInt8], name: String, chunking: MemoryByteSource.Chunking) throws
        -> (boundaries: [Int64], skipped: Int) {
        var options = RDBReaderOptions()
        options.decodeValues = false
        let reader = RDBReader(source: MemoryByteSource(bytes: bytes, chunking: chunking), fileName: name,
                               options: options)
        _ = try reader.next()  // header
        var out: [Int64] = []
        var skipped = 0
        while true {
            switch try reader.skipKeyQuickly() {
            case .skippedKey:
                skipped += 1
            case .keyNeedsFullRead:
                guard case .entry? = try reader.next() else { throw RDBError(.corrupt, at: 0, "not an entry") }
            case .notAKey:
                if try reader.readHashTemplateIfNext() { continue }
                guard let r = try reader.next() else { return (out, skipped) }
                if case .eof = r {
                    out.append(reader.bytesConsumed)
                    return (out, skipped)
                }
            }
            out.append(reader.bytesConsumed)
        }
    }

    static func readableFiles() -> [(ReaderTestSupport.CorpusFile, [UInt8])] {
        let files = ReaderTestSupport.fixtureFiles() + (ReaderTestSupport.corpusPresent ? ReaderTestSupport.corpusFiles() : [])
        return files.compactMap { f in
            guard !f.path.hasSuffix(".gz"), let bytes = ReaderTestSupport.load(f.fullPath),
                  (try? fullBoundaries(bytes, name: f.path)) != nil else { return nil }
            return (f, bytes)
        }
    }

    @Test("the quick walk lands on every boundary the full reader lands on, in every readable fixture and corpus file, drip-fed too")
    func quickWalkFindsTheSameBoundaries() throws {
        let files = Self.readableFiles()
        #expect(files.count >= 40, "files: \(files.count)")
        var skipped = 0
        for (f, bytes) in files {
            let full = try Self.fullBoundaries(bytes, name: f.path)
            for chunking in [MemoryByteSource.Chunking.all, .random(seed: UInt64(bytes.count), maxChunk: 7)] {
                let quick = try Self.quickBoundaries(bytes, name: f.path, chunking: chunking)
                #expect(quick.boundaries == full, "\(f.path) \(chunking)")
                skipped += quick.skipped
            }
        }
        #expect(skipped > 1000, "keys walked quickly: \(skipped)")
    }

    @Test("skipKeysQuickly stops only on boundaries, past its budget or before a record it leaves unread, and counts every key")
    func batchedQuickWalkStopsOnBoundaries() throws {
        var rng = SeededRandom(seed: 20261201)
        for (f, bytes) in Self.readableFiles() {
            let full = try Self.fullBoundaries(bytes, name: f.path)
            var boundaries = Set(full)
            boundaries.insert(9)  // after the header
            var options = RDBReaderOptions()
            options.decodeValues = false
            let reader = RDBReader(source: MemoryByteSource(bytes: bytes, chunking: .random(seed: UInt64(bytes.count), maxChunk: 9)),
                                   fileName: f.path, options: options)
            _ = try reader.next()  // header
            var keys = 0
            var quickKeys = 0
            while true {
                let budget = Int64(rng.next() % 300)
                var skipped = 0
                var start: Int64 = -1
                let stop = try reader.skipKeysQuickly(until: reader.bytesConsumed + budget, skipped: &skipped, recordStart: &start)
                #expect(start == reader.bytesConsumed && boundaries.contains(start), "\(f.path) at \(start)")
                keys += skipped
                quickKeys += skipped
                if stop == .skippedKey { continue }
                if stop == .notAKey, try reader.readHashTemplateIfNext() {
                    // `next()` reads a template on its way to the next record: a boundary of the quick walk only.
                    boundaries.insert(reader.bytesConsumed)
                    continue
                }
                guard let r = try reader.next() else { break }
                if case .entry = r { keys += 1 }
                if case .eof = r { break }
            }
            let reference = RDBReader(source: MemoryByteSource(bytes: bytes), fileName: f.path, options: options)
            var expected = 0
            while let r = try reference.next() { if case .entry = r { expected += 1 } }
            #expect(keys == expected, "\(f.path): \(keys) keys, expected \(expected) (\(quickKeys) walked quickly)")
        }
    }

    @Test("a reader resumed at any record boundary reads the same records as the full reader, and checks the CRC when given the prefix's")
    func resumedReaderReadsTheRest() throws {
        for (f, bytes) in Self.readableFiles() {
            let full = RDBReader(source: MemoryByteSource(bytes: bytes), fileName: f.path)
            var points: [(RDBResumePoint, Int)] = []
            var records: [RDBRecord] = []
            while true {
                if let p = full.resumePoint { points.append((p, records.count)) }
                guard let r = try full.next() else { break }
                records.append(r)
            }
            // A few points per file: the first, the last, and some between.
            let picks = Set([0, points.count / 3, points.count / 2, points.count - 1].filter { $0 >= 0 && $0 < points.count })
            for i in picks.sorted() {
                let (point, index) = points[i]
                let offset = Int(point.offset)
                let crc = CRC64.update(0, Array(bytes[0..<offset]))
                let rest = RDBReader(source: MemoryByteSource(bytes: Array(bytes[offset...]), chunking: .random(seed: 7, maxChunk: 13)),
                                     fileName: f.path, resumingAt: point, checksumSoFar: crc)
                var got: [RDBRecord] = []
                while let r = try rest.next() { got.append(r) }
                #expect(got == Array(records[index...]), "\(f.path) from \(offset)")
                #expect(rest.bytesConsumed == full.bytesConsumed)
            }
        }
    }

    @Test("resumed with a wrong prefix CRC, the EOF record fails the checksum as the full reader would")
    func resumedReaderChecksTheChecksum() throws {
        let f = try #require(Self.readableFiles().first { f, bytes in
            (try? RDBReader(source: MemoryByteSource(bytes: bytes)).next()).flatMap { r -> Int? in
                if case .header(let h) = r { return h.version } else { return nil }
            }.map { $0 >= 5 } ?? false
        })
        let (file, bytes) = f
        let full = RDBReader(source: MemoryByteSource(bytes: bytes), fileName: file.path)
        _ = try full.next()
        let point = try #require(full.resumePoint)
        let offset = Int(point.offset)
        let wrong = CRC64.update(1, Array(bytes[0..<offset]))
        let rest = RDBReader(source: MemoryByteSource(bytes: Array(bytes[offset...])), fileName: file.path,
                             resumingAt: point, checksumSoFar: wrong)
        #expect(throws: RDBError.self) { while try rest.next() != nil {} }
    }

    @Test("a lying length stops the quick walk with an error, never a hang or a crash")
    func quickWalkOnGarbage() throws {
        var rng = SeededRandom(seed: 0x5eed)
        let (file, bytes) = try #require(Self.readableFiles().first { $0.1.count > 2000 })
        for _ in 0..<300 {
            var b = bytes
            let at = 9 + Int(rng.next() % UInt64(b.count - 9))
            b[at] = UInt8(truncatingIfNeeded: rng.next())
            if rng.next() % 4 == 0 { b = Array(b.prefix(at)) }
            _ = try? Self.quickBoundaries(b, name: file.path, chunking: .all)
        }
    }
}
