import Foundation
import Testing
import TestSupport
import RDBTools
@testable import CLI

/// `rdb dump --threads N` (`ParallelRDBScan`) writes byte for byte what one thread writes, and ends the same
/// way (the same error with its offset and key, the same warnings, the same checksums), on every fixture, every
/// corpus file, and files corrupted at seeded places. Runs are made tiny (`--run-bytes`) so that files of a few
/// keys are cut into many runs.
@Suite("rdb dump --threads: runs of keys formatted side by side, written as one thread writes them")
struct ParallelDumpTests {
    final class Collector: @unchecked Sendable {
        var bytes: [UInt8] = []
    }

    struct Result: Equatable {
        var bytes: [UInt8]
        var ending: String
        var runs: Int

        static func == (a: Result, b: Result) -> Bool { a.bytes == b.bytes && a.ending == b.ending }
    }

    /// `rdb dump ARGS` in this process: what it writes and how it ends.
    static func dump(_ args: [String]) throws -> Result {
        let command = try DumpCommand.parse(args)
        let out = Collector()
        do {
            let o = try command.dump(to: { out.bytes.append(contentsOf: $0) })
            let ending = "error: \(o.error?.description ?? "none"); keys \(o.keys); bytes \(o.bytes); "
                + "warnings \(o.warnings); checksums \(String(describing: o.storedChecksum)) \(String(describing: o.computedChecksum))"
            return Result(bytes: out.bytes, ending: ending, runs: o.parallelRuns)
        } catch {
            return Result(bytes: out.bytes, ending: "thrown: \(error)", runs: 0)
        }
    }

    /// Compares one thread with `threads` threads and runs of `runBytes`, for each format; returns the runs made.
    @discardableResult
    static func compare(_ path: String, threads: Int = 3, runBytes: Int, formats: [String] = ["jsonl", "json", "resp", "restore"],
                        extra: [String] = [], _ comment: String = "") throws -> Int {
        var runs = 0
        for format in formats {
            let one = try dump(["--format", format, "--threads", "1"] + extra + [path])
            let many = try dump(["--format", format, "--threads", String(threads), "--run-bytes", String(runBytes)] + extra + [path])
            #expect(one.runs == 0)
            let same = one == many
            #expect(same, "\(path) \(format) \(comment): \(one.ending) vs \(many.ending); \(one.bytes.count) vs \(many.bytes.count) bytes")
            runs += many.runs
        }
        return runs
    }

    static var fixtureFiles: [String] {
        (FileManager.default.enumerator(at: TestPaths.fixturesDirectory, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "rdb" }.map(\.path) ?? []).sorted()
    }

    @Test("every fixture: the same bytes and the same ending, whatever the run size and thread count")
    func fixtures() throws {
        let files = Self.fixtureFiles
        #expect(files.count >= 21)
        var runs = 0
        for (i, f) in files.enumerated() {
            runs += try Self.compare(f, threads: 2 + i % 3, runBytes: [1, 100, 5000][i % 3])
        }
        #expect(runs > 500, "runs formatted on other threads: \(runs)")
    }

    @Test("every corpus file (gzip and pre-release files read on one thread), errors included",
          .enabled(if: TestPaths.sharedCorpusDirectory != nil, "../shared/rdb-corpus not found"))
    func corpus() throws {
        let root = try #require(TestPaths.sharedCorpusDirectory)
        let files = (FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { ["rdb", "gz"].contains($0.pathExtension) }.map(\.path) ?? []).sorted()
        #expect(files.count >= 100)
        var runs = 0
        for (i, f) in files.enumerated() {
            runs += try Self.compare(f, runBytes: [1, 300][i % 2], formats: ["jsonl", "resp"])
        }
        #expect(runs > 200, "runs formatted on other threads: \(runs)")
    }

    @Test("files cut short or with a byte changed at seeded places: the same output up to the same error")
    func corrupted() throws {
        let dir = try TestPaths.makeTemporaryDirectory()
        defer { dir.remove() }
        let bases = Self.fixtureFiles.compactMap { f -> (String, [UInt8])? in
            guard let d = FileManager.default.contents(atPath: f) else { return nil }
            return (f, [UInt8](d))
        }.sorted { $0.1.count > $1.1.count }.prefix(4)
        #expect(bases.count == 4)
        var rng = SeededRandom(seed: 0xd0_11ea)
        let path = dir.url.appendingPathComponent("mutated.rdb").path
        for (name, bytes) in bases {
            for round in 0..<40 {
                var b = bytes
                let at = 9 + Int(rng.next() % UInt64(b.count - 9))
                let change: String
                if round % 3 == 0 {
                    b = Array(b.prefix(at))
                    change = "cut at \(at)"
                } else {
                    let v = UInt8(truncatingIfNeeded: rng.next())
                    change = "byte \(at) \(b[at]) -> \(v)"
                    b[at] = v
                }
                try Data(b).write(to: URL(fileURLWithPath: path))
                try Self.compare(path, runBytes: Int(rng.next() % 400) + 1, formats: ["jsonl", "resp"], "\(name) \(change)")
            }
        }
    }

    @Test("key filters and gzip files are read on one thread: same output, no runs")
    func fallbacks() throws {
        let f = try #require(Self.fixtureFiles.first { $0.contains("redis-7.0") })
        let filtered = try Self.dump(["--threads", "3", "--run-bytes", "1", "--type", "hash", f])
        #expect(filtered.runs == 0)
        let same = filtered == (try Self.dump(["--threads", "1", "--type", "hash", f]))
        #expect(same)
        #expect(try Self.dump(["--threads", "3", "--run-bytes", "1", f]).runs > 1)
    }
}

extension ParallelDumpTests {
    /// jsonl of `path` through `ParallelRDBScan` with every run's end moved by `skew` bytes.
    static func jsonlWithSkewedRuns(_ path: String, skew: Int64) throws -> (bytes: [UInt8], error: String?, runs: Int) {
        let out = Collector()
        let sink: JSONWriter.Sink = { out.bytes.append(contentsOf: $0) }
        let writer = JSONWriter(flushThreshold: 1 << 20, sink: sink)
        let encoder = CanonicalJSONEncoder(format: .jsonl, writer: writer)
        let scan = try ParallelRDBScan(path: path, options: .init(), workers: 2, runBytes: 50, lendsKeys: true)
        scan.runEndSkewForTests = skew
        let outcome = try scan.run(makeFormatter: { run in
            let w = JSONWriter(capacity: 4096)
            let e = CanonicalJSONEncoder(format: .jsonl, writer: w)
            e.continueKeys(db: run.point.db, fileOrder: run.fileOrder, previousKeysDB: run.previousKeysDB)
            return .init(consume: { try e.consume($0, lent: $1) }, formatted: { w.pending })
        }, consume: { try encoder.consume($0, lent: $1) }, writeRun: { run, keys in
            try writer.flush()
            if let bytes = run.formatter?.formatted() { try sink(bytes) }
            encoder.keysWrittenElsewhere(db: run.point.db, count: keys)
        })
        if outcome.error == nil { try encoder.finish() } else { try writer.flush() }
        return (out.bytes, outcome.error?.description, outcome.parallelRuns)
    }

    @Test("a run that does not end where the planner said (past it, or short of it) is caught: the rest is read on one thread, same output")
    func misplacedRuns() throws {
        var checked = 0
        for f in Self.fixtureFiles {
            let one = try Self.dump(["--format", "jsonl", "--threads", "1", f])
            let straight = try Self.jsonlWithSkewedRuns(f, skew: 0)
            let straightSame = straight.bytes == one.bytes
            #expect(straightSame, "\(f)")
            for skew: Int64 in [1, -1] {
                let skewed = try Self.jsonlWithSkewedRuns(f, skew: skew)
                let same = skewed.bytes == one.bytes
                #expect(same, "\(f) skew \(skew)")
                #expect(skewed.error == nil, "\(f) skew \(skew): \(skewed.error ?? "")")
                if straight.runs > 0 {
                    #expect(skewed.runs == 0, "\(f) skew \(skew): a misplaced first run is never written")
                    checked += 1
                }
            }
        }
        #expect(checked > 20)
    }
}
