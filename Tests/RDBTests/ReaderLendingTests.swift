import Testing
@testable import RDB

/// `RDBReader.next(lendingInto:)` lends the same content `next()` builds, whatever the input split: every
/// lent entry, materialized from the arena, equals the model path's entry, and errors are identical.
@Suite struct ReaderLendingTests {
    /// All records through the lending path, lent values (and with `lendsKeys`, keys) materialized from the
    /// arena. With `lendsKeys`, a lent entry's own key must be empty.
    static func readLent(_ bytes: [UInt8], chunking: MemoryByteSource.Chunking = .all,
                         options: RDBReaderOptions, lendsKeys: Bool = false) throws -> [RDBRecord] {
        let r = RDBReader(source: MemoryByteSource(bytes: bytes, chunking: chunking), options: options)
        let arena = RDBValueArena()
        arena.lendsKeys = lendsKeys
        var out: [RDBRecord] = []
        while let rec = try r.next(lendingInto: arena) {
            if case .entry(var e) = rec, let v = arena.materialize() {
                #expect(e.key.isEmpty == lendsKeys, "a lent key is not in the entry, an owned one is")
                e.key = arena.key(of: e)
                e.value = v
                out.append(.entry(e))
            } else {
                out.append(rec)
            }
        }
        return out
    }

    func compare(_ files: [ReaderTestSupport.CorpusFile]) throws -> Int {
        var options = RDBReaderOptions()
        options.allowPreReleaseFunctions = true
        var seed: UInt64 = 7
        var compared = 0
        for f in files {
            let bytes = try #require(ReaderTestSupport.load(f.fullPath), "cannot read \(f.path)")
            let model: Result<[RDBRecord], Error> = Result { try ReaderTestSupport.readAll(bytes, options: options) }
            var splits: [MemoryByteSource.Chunking] = [.all, .random(seed: seed, maxChunk: 7),
                                                       .random(seed: seed &+ 1, maxChunk: 70_000)]
            if bytes.count <= 64 * 1024 { splits.append(.oneByte) }
            seed &+= 2
            // Keys lent on every other split (one-byte drip feeding included).
            for (i, c) in splits.enumerated() {
                let lent: Result<[RDBRecord], Error> = Result {
                    try Self.readLent(bytes, chunking: c, options: options, lendsKeys: i % 2 == 1)
                }
                switch (model, lent) {
                case (.success(let a), .success(let b)):
                    #expect(a.count == b.count && a.elementsEqualNaNAware(b), "\(f.path): lent records differ with \(c)")
                case (.failure(let a), .failure(let b)):
                    #expect("\(a)" == "\(b)", "\(f.path): lending fails differently with \(c)")
                default:
                    Issue.record("\(f.path): lending outcome differs with \(c)")
                }
            }
            compared += 1
        }
        return compared
    }

    @Test func fixtureFilesLendWhatTheModelPathBuilds() throws {
        let compared = try compare(ReaderTestSupport.fixtureFiles())
        #expect(compared >= 21, "Fixtures/ .rdb files compared: \(compared)")
    }

    @Test(.enabled(if: ReaderTestSupport.corpusPresent, ReaderTestSupport.corpusMissing))
    func corpusFilesLendWhatTheModelPathBuilds() throws {
        let compared = try compare(ReaderTestSupport.corpusFiles())
        #expect(compared >= 119, "corpus files compared: \(compared)")
    }

    /// The arena reports the kind and layout of each value, and a stream comes materialized with `.none`.
    @Test func arenaKindsAndLayout() throws {
        let arena = RDBValueArena()
        #expect(arena.kind == .none && arena.count == 0)
        arena.reset(.hash, keepsBytes: true)
        func add(_ text: String) { Array(text.utf8).withUnsafeBytes { arena.append($0) } }
        add("f1")
        arena.append(int: -42)
        arena.setFieldExpiry(0, nil)
        add("f2")
        add("")
        arena.setFieldExpiry(1, 1_700_000_000_000)
        #expect(arena.count == 4)
        #expect(arena.materialize() == .hash([HashField(field: Array("f1".utf8), value: Array("-42".utf8)),
                                             HashField(field: Array("f2".utf8), value: [], expireAtMs: 1_700_000_000_000)]))
        // A string longer than the buffer, appended in pieces, survives the buffer growing.
        arena.reset(.string, keepsBytes: true)
        let big = (0..<(RDBValueArena.defaultCapacity * 3)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var done = 0
        while done < big.count {
            let take = min(10_007, big.count - done)
            let dst = arena.reserve(done + take)
            big.withUnsafeBytes { (dst + done).copyMemory(from: $0.baseAddress! + done, byteCount: take) }
            done += take
        }
        arena.commit(big.count)
        #expect(arena.materialize() == .string(big))
    }
}
