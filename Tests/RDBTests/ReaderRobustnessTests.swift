import Testing
@testable import RDB
import TestSupport

/// Truncation at byte boundaries and seeded byte flips: always a clear error or valid records, never a crash
/// or a hang.
@Suite struct ReaderRobustnessTests {
    /// Reads to EOF and returns the offset just after the EOF record (checksum included).
    func eofEnd(_ bytes: [UInt8], _ options: RDBReaderOptions) throws -> Int64 {
        let r = RDBReader(source: MemoryByteSource(bytes: bytes), options: options)
        while try r.next() != nil {}
        return r.bytesConsumed
    }

    func allowed() -> RDBReaderOptions {
        var o = RDBReaderOptions()
        o.allowPreReleaseFunctions = true
        return o
    }

    @Test(.enabled(if: ReaderTestSupport.corpusPresent, ReaderTestSupport.corpusMissing))
    func truncationAtEveryByteOfSmallFiles() throws {
        let files = ReaderTestSupport.corpusFiles().filter { ReaderTestSupport.expectedFailure($0) == nil }
        var checked = 0
        for f in files {
            guard let bytes = ReaderTestSupport.load(f.fullPath), bytes.count <= 96 * 1024 else { continue }
            let end = try eofEnd(bytes, allowed())
            // Every boundary for small files, ~40 evenly spread cuts (plus the last bytes) for larger ones.
            let stride = bytes.count <= 1024 ? 1 : max(1, Int(end) / 40)
            var cut = 0
            while cut < Int(end) {
                let prefix = Array(bytes[..<cut])
                do {
                    _ = try ReaderTestSupport.readAll(prefix, options: allowed())
                    Issue.record("\(f.path): truncated at \(cut) of \(end) but read without error")
                } catch let e as RDBError {
                    if e.code != .truncated {
                        Issue.record("\(f.path): truncated at \(cut): expected .truncated, got \(e)")
                    }
                    #expect(e.offset <= Int64(cut))
                }
                checked += 1
                cut = (cut + stride < Int(end) || cut >= Int(end) - 9) ? cut + stride : Int(end) - 9
            }
        }
        #expect(checked > 1000)
    }

    @Test func handcraftedTruncationEveryByte() throws {
        var w = RDBBuilder(version: 11)
        w.aux("a", "b")
        w.selectDB(1)
        w.byte(252); w.i64le(123)
        w.key(18, "l"); w.len(1); w.len(2); w.str(makeListpack([.str("x"), .i(1)]))
        w.key(16, "h"); w.str(makeListpack([.str("f"), .str("v")]))
        w.key(0, "z"); w.lzfStr(compressed: [2, 0x61, 0x62, 0x63, 0x80, 2], length: 9)
        let bytes = w.finished()
        for cut in 0..<bytes.count {
            let e = readError(Array(bytes[..<cut]))
            #expect(e?.code == .truncated, "cut \(cut)")
        }
        #expect(readError(bytes) == nil)
    }

    @Test(.enabled(if: ReaderTestSupport.corpusPresent, ReaderTestSupport.corpusMissing))
    func seededByteFlipsNeverCrash() throws {
        let files = ReaderTestSupport.corpusFiles().filter { f in
            (ReaderTestSupport.load(f.fullPath)?.count ?? 0) <= 128 * 1024
        }
        #expect(files.count >= 109, "small corpus files: \(files.count)")
        var options = allowed()
        options.verifyChecksum = false // let flipped bytes reach the structure parsers
        var rng = SeededRandom(seed: 20261125)
        var errors = 0, oks = 0
        for f in files {
            guard let original = ReaderTestSupport.load(f.fullPath), original.count > 9 else { continue }
            for _ in 0..<25 {
                var bytes = original
                let flips = 1 + Int(rng.next() % 3)
                for _ in 0..<flips {
                    // Skip the 9-byte header most of the time so the body gets exercised.
                    let at = 9 + Int(rng.next() % UInt64(bytes.count - 9))
                    bytes[at] ^= UInt8(1 + rng.next() % 255)
                }
                do {
                    _ = try ReaderTestSupport.readAll(bytes, options: options)
                    oks += 1
                } catch let e as RDBError {
                    errors += 1
                    #expect(e.offset >= 0 && e.offset <= Int64(bytes.count), "\(f.path): \(e)")
                    #expect(!e.message.isEmpty)
                }
            }
        }
        #expect(errors > 0)
        print("byte flips: \(errors) clear errors, \(oks) still-valid files")
    }
}
