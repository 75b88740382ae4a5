import Foundation
import RDB
import RDBTools
import Testing

/// Every RDB under Fixtures/ (written by real servers via the project's tools/) dumps to its
/// sibling expected JSON. Expected `lru_idle_s` may be absent there; when present it is compared.
@Suite("Fixtures: files match their expected JSON",
       .enabled(if: FileManager.default.fileExists(atPath: CorpusFiles.fixturesDirectory.path),
                "Fixtures/ not present: skipped"))
struct FixtureExpectedJSONTests {
    static let files = CorpusFiles.rdbFilesWithJSON(under: CorpusFiles.fixturesDirectory)

    @Test("dump equals expected JSON", arguments: files)
    func dumpMatches(_ rel: String) throws {
        let rdb = CorpusFiles.fixturesDirectory.appendingPathComponent(rel)
        let json = rdb.deletingPathExtension().appendingPathExtension("json")
        let dumped = try CorpusFiles.dumpJSON(path: rdb.path)
        let actual = try JSONSerialization.jsonObject(with: dumped)
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: json))
        let diffs = CanonicalJSONComparison.differences(actual: actual, expected: expected)
        #expect(diffs.isEmpty, "\(rel): \(diffs.count) differences:\n\(diffs.prefix(20).joined(separator: "\n"))")
    }
}
