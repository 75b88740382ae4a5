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

    @Test func corpusFilesIdenticalUnderAnySplit() throws {
        let files = ReaderTestSupport.corpusFiles()
        if files.isEmpty { print("SKIP: ../shared/rdb-corpus not found; drip-feed not run"); return }
        var options = RDBReaderOptions()
        options.allowPreReleaseFunctions = true
        var seed: UInt64 = 1
        for f in files {
            guard let bytes = ReaderTestSupport.load(f.fullPath) else { continue }
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
        }
    }
}

extension Array where Element == RDBRecord {
    var hashValueProxy: Int { count }
    /// Equality that treats NaN scores as equal (records are otherwise compared with ==).
    func elementsEqualNaNAware(_ other: [RDBRecord]) -> Bool {
        zip(self, other).allSatisfy { $0 == $1 }
    }
}
