import Foundation
import Testing
import RDB
import TestSupport
@testable import RDBTools

/// `rdb memory` reads keys and values lent (`lendsKeys`, `summarizesIntsets`) and sums without a per-key array;
/// its report must equal the one built from materialized entries: totals, sums by type, db and prefix, and the
/// largest keys in order.
@Suite struct MemoryReportLentTests {
    struct Summary: Equatable {
        var keys = 0
        var total = 0
        var byType: [String: [Int]] = [:]
        var byDB: [Int: [Int]] = [:]
        var byPrefix: [Bytes: [Int]] = [:]
        var largest: [[String]] = []
    }

    static func summary(_ r: MemoryReport) -> Summary {
        Summary(keys: r.keys, total: r.totalBytes,
                byType: r.byType.mapValues { [$0.keys, $0.bytes] },
                byDB: r.byDB.mapValues { [$0.keys, $0.bytes] },
                byPrefix: r.byPrefix.mapValues { [$0.keys, $0.bytes] },
                largest: r.largest.map { ["\($0.db)", String(decoding: $0.key, as: UTF8.self), $0.type, "\($0.bytes)", "\($0.ordinal)"] })
    }

    /// The report of `path` (nil when it does not read), materialized or lent.
    static func report(_ path: String, lent: Bool, separator: String) -> Summary? {
        var options = RDBReaderOptions()
        options.allowPreReleaseFunctions = true
        guard let reader = try? RDBReader(path: path, options: options) else { return nil }
        let r = MemoryReport(top: 7, separator: Array(separator.utf8))
        let arena = RDBValueArena()
        arena.lendsKeys = true
        arena.summarizesIntsets = true
        do {
            while let record = try (lent ? reader.next(lendingInto: arena) : reader.next()) {
                guard case .entry(let e) = record else { continue }
                if lent { r.account(e, lent: arena) } else { r.add(e) }
            }
        } catch {
            return nil
        }
        return summary(r)
    }

    @Test func fixturesReportTheSameFromLentKeysAndValues() {
        var compared = 0
        for f in LentOutputTests.rdbFiles(under: TestPaths.fixturesDirectory) {
            for sep in [":", "-", "ab"] {
                guard let model = Self.report(f.path, lent: false, separator: sep) else { continue }
                #expect(Self.report(f.path, lent: true, separator: sep) == model, "\(f.path), separator \(sep)")
                compared += 1
            }
        }
        #expect(compared >= 60, "fixture reports compared: \(compared)")
    }

    @Test(.enabled(if: TestPaths.sharedCorpusDirectory != nil, "../shared/rdb-corpus is not present"))
    func corpusReportsTheSameFromLentKeysAndValues() throws {
        let root = try #require(TestPaths.sharedCorpusDirectory)
        var compared = 0
        for f in LentOutputTests.rdbFiles(under: root) {
            guard let model = Self.report(f.path, lent: false, separator: ":") else { continue }
            #expect(Self.report(f.path, lent: true, separator: ":") == model, "\(f.path)")
            compared += 1
        }
        #expect(compared >= 100, "corpus reports compared: \(compared)")
    }

    @Test func prefixEndFindsTheFirstSeparator() {
        func prefix(_ k: String, _ s: String) -> String { String(decoding: MemoryReport.prefix(Array(k.utf8), Array(s.utf8)), as: UTF8.self) }
        #expect(prefix("user:1:name", ":") == "user:")
        #expect(prefix("nosep", ":") == "nosep")
        #expect(prefix("a::b", "::") == "a::")
        #expect(prefix(":x", ":") == ":")
        #expect(prefix("x:", "::") == "x:")
        #expect(prefix("", ":") == "")
    }
}
