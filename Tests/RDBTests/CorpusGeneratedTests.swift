import Foundation
import RDB
import RDBTools
import Testing

/// Every file under ../shared/rdb-corpus/generated dumps to exactly its expected JSON
/// ("rdb-corpus-expected/1") on every field the dump emits.
@Suite("Corpus: generated files match their expected JSON",
       .enabled(if: CorpusFiles.generatedAvailable,
                "shared corpus not found at ../shared/rdb-corpus/generated: skipped"))
struct CorpusGeneratedTests {
    static let files = CorpusFiles.rdbFilesWithJSON(under: CorpusFiles.generatedDirectory)

    @Test("there are generated files to compare")
    func nonEmpty() {
        #expect(Self.files.count >= 20, "found only \(Self.files)")
    }

    @Test("dump equals expected JSON", arguments: files)
    func dumpMatches(_ rel: String) throws {
        let rdb = CorpusFiles.generatedDirectory.appendingPathComponent(rel)
        let json = rdb.deletingPathExtension().appendingPathExtension("json")
        let dumped = try CorpusFiles.dumpJSON(path: rdb.path)
        let actual = try JSONSerialization.jsonObject(with: dumped, options: [.fragmentsAllowed])
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: json))
        let diffs = CanonicalJSONComparison.differences(actual: actual, expected: expected)
        #expect(diffs.isEmpty, "\(rel): \(diffs.count) differences:\n\(diffs.prefix(20).joined(separator: "\n"))")
    }
}
