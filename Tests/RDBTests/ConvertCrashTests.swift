import Base
import Testing
@testable import RDB
import RDBTools
import TestSupport

/// `rdb convert` through the simulated file system: a crash (power loss) at every file operation of the
/// publish leaves under the output's name either the old file or the complete new one, never a part.
@Suite struct ConvertCrashTests {
    static let input = "/in/input.rdb"
    static let output = "/out/output.rdb"

    static func sample() throws -> [UInt8] {
        try WriterSamples.write(WriterSamples.entries(), options: RDBWriterOptions(rdbVersion: 12),
                                functions: [WriterSamples.functionCode]).bytes
    }

    /// The bytes a conversion of the sample to version 9 writes (computed on a file system that does not crash).
    static func expectedOutput(_ input: [UInt8]) throws -> [UInt8] {
        let fs = SimulatedFileSystem()
        fs.setContents(Self.input, input)
        _ = try RDBConvert.convert(input: Self.input, output: Self.output, options: Self.options, fileSystem: fs)
        return try #require(fs.contents(Self.output))
    }

    static let options = RDBConvertOptions(rdbVersion: 9, dropFieldTTL: true, dropFunctions: true)

    @Test(arguments: [false, true])
    func crashAtEveryOperationLeavesOldOrCompleteNewOutput(oldOutputExists: Bool) throws {
        let input = try Self.sample()
        let new = try Self.expectedOutput(input)
        let old: [UInt8] = Array("an older output, not an RDB".utf8)
        #expect(new.count > old.count && Array(new.prefix(9)) == Array("REDIS0009".utf8))
        var outcomes: [String: Int] = [:]
        let operations = try crashAtEveryOperation(
            setUp: { fs in
                try fs.createDirectory("/in")
                try fs.createDirectory("/out")
                fs.setContents(Self.input, input)
                if oldOutputExists { fs.setContents(Self.output, old) }
            },
            operation: { fs in
                _ = try RDBConvert.convert(input: Self.input, output: Self.output, options: Self.options, fileSystem: fs)
            },
            check: { fs, completed in
                let got = fs.contents(Self.output)
                if completed {
                    #expect(got == new, "a conversion that returned is durable")
                } else if got == new {
                    outcomes["new", default: 0] += 1
                } else if oldOutputExists {
                    #expect(got == old, "neither the old output nor the complete new one")
                    outcomes["old", default: 0] += 1
                } else {
                    #expect(got == nil, "a partial output appeared under the final name")
                    outcomes["absent", default: 0] += 1
                }
                #expect(fs.contents(Self.input) == input, "the input is never touched")
            })
        // open, write, fsync, rename, directory fsync at least.
        #expect(operations >= 5)
        #expect(outcomes["new", default: 0] > 0 && outcomes[oldOutputExists ? "old" : "absent", default: 0] > 0,
                "both sides of the rename are reached: \(outcomes)")
    }

    @Test func failureRemovesTheTemporaryFile() throws {
        let fs = SimulatedFileSystem()
        fs.setContents(Self.input, Array(try Self.sample().dropLast(20)))  // truncated input
        #expect(throws: RDBError.self) {
            _ = try RDBConvert.convert(input: Self.input, output: Self.output, options: Self.options, fileSystem: fs)
        }
        #expect(fs.allPaths() == [Self.input], "no output and no temporary file: \(fs.allPaths())")
    }
}

/// `rdb dump -o`'s output file (`AtomicOutputFile`) through the simulated file system: the same guarantee.
@Suite struct AtomicOutputFileCrashTests {
    @Test func crashAtEveryOperationLeavesOldOrCompleteNewOutput() throws {
        let path = "/out/dump.json"
        let old = Array("old dump\n".utf8)
        let new = (0..<3000).flatMap { Array("{\"key\":\"k\($0)\"}\n".utf8) }
        var seen: Set<String> = []
        let operations = try crashAtEveryOperation(
            setUp: { fs in
                try fs.createDirectory("/out")
                fs.setContents(path, old)
            },
            operation: { fs in
                let out = try AtomicOutputFile(path: path, force: true, fileSystem: fs)
                try new.withUnsafeBytes { try out.write($0) }
                try out.commit()
            },
            check: { fs, completed in
                let got = fs.contents(path)
                if completed { #expect(got == new) }
                #expect(got == old || got == new, "partial output under the final name")
                seen.insert(got == old ? "old" : "new")
            })
        #expect(operations >= 5)
        #expect(seen == ["old", "new"])
    }

    @Test func refusesAnExistingFileUnlessForcedAndDiscardRemovesTheTemporaryFile() throws {
        let fs = SimulatedFileSystem()
        fs.setContents("/out/x", [1])
        #expect(throws: RDBWriteError.self) { _ = try AtomicOutputFile(path: "/out/x", force: false, fileSystem: fs) }
        let out = try AtomicOutputFile(path: "/out/x", force: true, fileSystem: fs)
        try [UInt8](repeating: 9, count: 10).withUnsafeBytes { try out.write($0) }
        out.discard()
        #expect(fs.allPaths() == ["/out/x"] && fs.contents("/out/x") == [1])
    }
}
