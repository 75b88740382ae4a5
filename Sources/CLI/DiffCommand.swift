import ArgumentParser
import Foundation
import RDB
import RDBTools

/// `redis-replica rdb diff A B [--json]`: the keys only in A, only in B, and in both with a different type,
/// value (by content, not encoding) or TTL. Exit 0 when equal, 1 when different, 2 when a file is bad.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two RDB files key by key: only in A, only in B, different type/value/TTL.",
        discussion: """
            Values are compared by content: encodings, compression, RDB versions and key order do not matter; \
            LRU/LFU hints and AUX fields are not compared; function libraries are compared by code. \
            Two streaming passes: A is indexed (per key: type, TTL, a 128-bit content digest), then B is read \
            and compared, so memory is bounded by A's keys, not by values. \
            Output: one line per difference ('- ' only in A, '+ ' only in B, '~ ' changed), then a summary; \
            --json: one JSON object per difference, then a summary object. \
            Exit status: 0 equal, 1 different, 2 a file could not be read (the error is rdb check's).
            """
    )

    @Argument(help: "File A (plain or gzip).") var a: String
    @Argument(help: "File B (plain or gzip).") var b: String
    @Flag(name: .customLong("json"), help: "JSON Lines output.") var json = false
    @Flag(name: .customLong("quiet"), help: "Print nothing; only the exit status tells.") var quiet = false
    @OptionGroup(title: "Key filters (docs/filters.md), applied to both files") var filters: FilterOptions
    @OptionGroup var reader: ReaderFlags

    func run() throws {
        let diff = RDBDiff()
        let out = JSONWriter(flushThreshold: 1 << 16, sink: StandardOutput.sink())
        try scanOrExit(a) { diff.index($0, lent: $1) }
        let report: (RDBDifference) throws -> Void = { d in
            guard !quiet else { return }
            if json {
                d.writeJSON(out)
                out.raw("\n")
            } else {
                out.raw(d.text)
                out.raw("\n")
            }
            try out.flushIfNeeded()
        }
        try scanOrExit(b) { try diff.compare($0, lent: $1, report: report) }
        try diff.finish(report: report)
        if !quiet {
            if json {
                out.raw("{")
                out.field("equal", first: true); out.bool(diff.differences == 0)
                out.field("keys_a"); out.int(diff.keysA)
                out.field("keys_b"); out.int(diff.keysB)
                out.field("differences"); out.int(diff.differences)
                out.raw("}\n")
            } else {
                out.raw("\(diff.differences == 0 ? "equal" : "different"): \(diff.keysA) keys in A, \(diff.keysB) keys in B, \(diff.differences) difference(s)\n")
            }
        }
        try out.flush()
        fflush(standardOutput)
        if diff.differences > 0 { throw ExitCode(1) }
    }

    /// Scans `path`, giving `visit` the records the filters keep with their lent values (digested from the
    /// reader's arena: no array per element); a bad file prints rdb check's error and exits 2.
    private func scanOrExit(_ path: String, _ visit: @escaping (RDBRecord, RDBValueArena?) throws -> Void) throws {
        var filter = filters.keyFilter
        let arena = RDBValueArena()
        let outcome = try RDBFileScan.scan(path: path, options: reader.readerOptions(), lending: arena) { record in
            filter.observe(record)
            if case .entry(let e) = record, !filter.isEmpty, !filter.accepts(e) { return }
            try visit(record, arena.kind == .none ? nil : arena)
        }
        if let error = outcome.error {
            fflush(standardOutput)
            StandardOutput.error(error.description)
            throw ExitCode(2)
        }
        outcome.printWarnings()
    }
}
