import Foundation
import Testing
@testable import RDB

/// Helpers shared by the reader tests.
enum ReaderTestSupport {
    /// `<package root>/../shared/rdb-corpus`, or nil when absent.
    static var corpusRoot: String? {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let root = packageRoot.appendingPathComponent("../shared/rdb-corpus").standardizedFileURL.path
        return FileManager.default.fileExists(atPath: root + "/MANIFEST.tsv") ? root : nil
    }

    /// Whether the shared corpus is present (the corpus tests' `.enabled(if:)` condition).
    static let corpusPresent = corpusRoot != nil
    static let corpusMissing: Comment = "../shared/rdb-corpus not found (CI has it; .ci/run fails without it)"

    /// Every `.rdb` under `Fixtures/` (written by real servers; always in the repository), sorted.
    static func fixtureFiles() -> [CorpusFile] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path
        guard let e = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [CorpusFile] = []
        for case let rel as String in e where rel.hasSuffix(".rdb") {
            out.append(CorpusFile(path: "Fixtures/" + rel, description: "fixture", fullPath: root + "/" + rel))
        }
        return out.sorted { $0.path < $1.path }
    }

    struct CorpusFile {
        var path: String        // relative to the corpus root
        var description: String
        var fullPath: String
    }

    /// Every RDB-format data file listed in MANIFEST.tsv, plus every .rdb under generated/.
    static func corpusFiles() -> [CorpusFile] {
        guard let root = corpusRoot,
              let manifest = try? String(contentsOfFile: root + "/MANIFEST.tsv", encoding: .utf8) else { return [] }
        var out: [CorpusFile] = []
        for line in manifest.split(separator: "\n").dropFirst() {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard cols.count > 6, cols[5] != "-" else { continue }
            out.append(CorpusFile(path: cols[0], description: cols[6], fullPath: root + "/" + cols[0]))
        }
        if let e = FileManager.default.enumerator(atPath: root + "/generated") {
            for case let rel as String in e where rel.hasSuffix(".rdb") {
                out.append(CorpusFile(path: "generated/" + rel, description: "generated", fullPath: root + "/generated/" + rel))
            }
        }
        return out.sorted { $0.path < $1.path }
    }

    /// What a corpus file must do: read to EOF, or fail with a given error code.
    static func expectedFailure(_ f: CorpusFile) -> RDBError.Code? {
        if f.path.hasSuffix("redis-replicator/module.rdb") { return .preRelease }
        if f.path.hasSuffix("redis_ent_opcode_ram_lru.rdb") { return .unknownOpcode }
        if f.path.hasSuffix("invalid_chksum_v8.rdb") { return .checksumMismatch }
        if usesPreReleaseFunctions(f) { return .preRelease }
        if f.description.contains("INTENTIONALLY INVALID") || f.description.contains("CORRUPT") { return .corrupt }
        return nil
    }

    /// redis-rdb-cli files written with Redis 7.0 release-candidate functions (opcode 246).
    static func usesPreReleaseFunctions(_ f: CorpusFile) -> Bool {
        ["redis-rdb-cli/rct/all.rdb", "redis-rdb-cli/rdt/34.rdb", "redis-rdb-cli/rdt/dump.rdb",
         "redis-rdb-cli/rdt/filter1.rdb"].contains(f.path)
    }

    static func readAll(_ bytes: [UInt8], chunking: MemoryByteSource.Chunking = .all,
                        options: RDBReaderOptions = .init(), name: String? = nil) throws -> [RDBRecord] {
        let r = RDBReader(source: MemoryByteSource(bytes: bytes, chunking: chunking), fileName: name, options: options)
        var out: [RDBRecord] = []
        while let rec = try r.next() {
            out.append(rec)
            if out.count > 10_000_000 { break }
        }
        return out
    }

    static func load(_ path: String) -> [UInt8]? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return [UInt8](d)
    }
}
