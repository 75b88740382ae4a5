import Foundation
import RDB
import Testing
import TestSupport

/// rdb dump --format resp/restore, rdb memory and rdb diff over every RDB file of the shared corpus (read in place):
/// each succeeds exactly where `rdb check` does, and fails with the same error where it does not.
@Suite("toolkit commands on the shared corpus", .serialized)
struct ToolkitCorpusTests {
    static var files: [String] {
        let root = CLIRunner.corpusDirectory
        let all = (try? FileManager.default.subpathsOfDirectory(atPath: root.path)) ?? []
        return all.filter { $0.hasSuffix(".rdb") }.sorted().map { root.appendingPathComponent($0).path }
    }

    @Test(.enabled(if: CLIRunner.corpusAvailable, "shared corpus absent"))
    func everyFileAgreesWithCheck() throws {
        let tmp = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        var good = 0, bad = 0
        for file in Self.files {
            let check = try CLIRunner.run(["rdb", "check", file])
            let ok = check.status == 0
            if ok { good += 1 } else { bad += 1 }
            for format in ["resp", "restore"] {
                let out = tmp.appendingPathComponent("out").path
                let r = try CLIRunner.run(["rdb", "dump", file, "--format", format, "-o", out])
                if ok {
                    // A few corpus files hold values a command cannot carry to the default target: named errors, exit 1.
                    if r.status != 0 {
                        #expect(r.status == 1 && r.stderr.contains("need"), "\(file) \(format): \(r.stderr)")
                        #expect(!FileManager.default.fileExists(atPath: out))
                    } else {
                        #expect(FileManager.default.fileExists(atPath: out))
                    }
                } else {
                    #expect(r.status == 1, "\(file) \(format)")
                    #expect(r.stderr.hasPrefix(check.stderr.split(separator: "\n").first.map(String.init) ?? "?"), "\(file): \(r.stderr) vs \(check.stderr)")
                    #expect(!FileManager.default.fileExists(atPath: out))
                }
                try? FileManager.default.removeItem(atPath: out)
            }
            let m = try CLIRunner.run(["rdb", "memory", file, "--format", "json"])
            #expect(m.status == (ok ? 0 : 1), "\(file): rdb memory \(m.status) \(m.stderr)")
            if !ok { #expect(m.stderr == check.stderr, "\(file)") }
            let d = try CLIRunner.run(["rdb", "diff", "--quiet", file, file])
            #expect(d.status == (ok ? 0 : 2), "\(file): diff with itself \(d.status) \(d.stderr)")
        }
        #expect(good >= 90 && bad >= 5, "corpus coverage: \(good) readable, \(bad) refused")
    }
}
