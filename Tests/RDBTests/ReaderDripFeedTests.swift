import Testing
@testable import RDB

/// The reader must not care how input is split: all at once, 1 byte at a time and seeded random pieces
/// give identical records (or the identical error).
@Suite struct ReaderDripFeedTests {
    func outcome(_ bytes: [UInt8], _ chunking: MemoryByteSource.Chunking, _ options: RDBReaderOptions) -> String {
        do {
            let recs = try ReaderTestSupport.readAll(bytes, chunking: chunking, options: options)
            return "ok \(recs.count) \(recs.hashValueProxy)"
        } catch {
            return "error \(error)"
        }
    }

    /// Reads each file whole, then in seeded random pieces of up to 7 and 70,000 bytes (and one byte
    /// at a time when it is at most 64 KiB), and expects identical records or the identical error.
    /// Returns how many files were compared.
    func compareSplits(_ files: [ReaderTestSupport.CorpusFile]) throws -> Int {
        var options = RDBReaderOptions()
        options.allowPreReleaseFunctions = true
        var seed: UInt64 = 1
        var compared = 0
        for f in files {
            let bytes = try #require(ReaderTestSupport.load(f.fullPath), "cannot read \(f.path)")
            let whole: Result<[RDBRecord], Error> = Result { try ReaderTestSupport.readAll(bytes, options: options) }
            var splits: [MemoryByteSource.Chunking] = [.random(seed: seed, maxChunk: 7), .random(seed: seed &+ 1, maxChunk: 70_000)]
            if bytes.count <= 64 * 1024 { splits.append(.oneByte) }
            seed &+= 2
            for c in splits {
                let other: Result<[RDBRecord], Error> = Result {
                    try ReaderTestSupport.readAll(bytes, chunking: c, options: options)
                }
                switch (whole, other) {
                case (.success(let a), .success(let b)):
                    #expect(a.count == b.count && a.elementsEqualNaNAware(b), "\(f.path) differs with \(c)")
                case (.failure(let a), .failure(let b)):
                    #expect("\(a)" == "\(b)", "\(f.path) fails differently with \(c)")
                default:
                    Issue.record("\(f.path): outcome differs with \(c)")
                }
            }
            compared += 1
        }
        return compared
    }

    /// Always runs: the Fixtures/ files (Redis 6.2, 7.0 and 8.2 dumps) are in the repository.
    @Test func fixtureFilesIdenticalUnderAnySplit() throws {
        let compared = try compareSplits(ReaderTestSupport.fixtureFiles())
        #expect(compared >= 21, "Fixtures/ .rdb files compared: \(compared)")
    }

    @Test(.enabled(if: ReaderTestSupport.corpusPresent, ReaderTestSupport.corpusMissing))
    func corpusFilesIdenticalUnderAnySplit() throws {
        let compared = try compareSplits(ReaderTestSupport.corpusFiles())
        #expect(compared >= 119, "corpus files compared: \(compared)")
    }
}

extension Array where Element == RDBRecord {
    var hashValueProxy: Int { count }
    /// Equality that treats NaN scores as equal (records are otherwise compared with ==).
    func elementsEqualNaNAware(_ other: [RDBRecord]) -> Bool {
        zip(self, other).allSatisfy { $0 == $1 }
    }
}
