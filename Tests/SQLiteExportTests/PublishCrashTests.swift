import Base
import Foundation
import Testing
@testable import SQLiteExport
import TestSupport

/// `rdb sqlite`'s publish through the simulated file system. SQLite writes the database with its own VFS
/// and does not fsync it for us (`synchronous=OFF` during the load); the publish must fsync it, rename it
/// into place and fsync the directory. A crash at every step leaves the old output or the complete new one.
@Suite struct PublishCrashTests {
    static let temp = "/out/out.db.tmp-1"
    static let output = "/out/out.db"

    @Test(arguments: [false, true])
    func crashAtEveryPublishStepLeavesOldOrCompleteNewOutput(oldOutputExists: Bool) throws {
        // A real database, as the export leaves it before the publish.
        let dir = try TempDir()
        defer { dir.remove() }
        _ = try SQLiteExporter.export(to: dir.file("real.db"), sourceFileName: "s.rdb", options: SQLiteExportOptions(),
                                      next: { nil })
        let new = Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("real.db"))))
        let old = Array("an older database".utf8)
        #expect(new.count > 1000 && Array(new.prefix(15)) == Array("SQLite format 3".utf8))
        var outcomes: [String: Int] = [:]
        let operations = try crashAtEveryOperation(
            setUp: { fs in
                try fs.createDirectory("/out")
                if oldOutputExists { fs.setContents(Self.output, old) }
                // Written but not fsynced, as SQLite leaves it.
                let f = try fs.openForWriting(Self.temp, truncate: true)
                try f.write(new)
                f.close()
            },
            operation: { fs in try SQLiteExporter.publish(temporary: Self.temp, as: Self.output, fileSystem: fs) },
            check: { fs, completed in
                let got = fs.contents(Self.output)
                if completed {
                    #expect(got == new, "a publish that returned is durable")
                    #expect(fs.contents(Self.temp) == nil)
                } else if got == new {
                    outcomes["new", default: 0] += 1
                } else if oldOutputExists {
                    #expect(got == old, "neither the old output nor the complete new one")
                    outcomes["old", default: 0] += 1
                } else {
                    #expect(got == nil, "a partial database appeared under the final name")
                    outcomes["absent", default: 0] += 1
                }
            })
        #expect(operations == 3, "fsync, rename, directory fsync")
        #expect(outcomes["new", default: 0] > 0 && outcomes[oldOutputExists ? "old" : "absent", default: 0] > 0,
                "both sides of the rename are reached: \(outcomes)")
    }

    @Test func publishingAMissingFileFailsAndCreatesNothing() throws {
        // A missing temporary file is an error (not created empty and published).
        let fs2 = SimulatedFileSystem()
        #expect(throws: SQLiteExportError.self) {
            try SQLiteExporter.publish(temporary: "/out/missing.tmp", as: Self.output, fileSystem: fs2)
        }
        #expect(fs2.allPaths() == [], "nothing left behind: \(fs2.allPaths())")
    }
}
