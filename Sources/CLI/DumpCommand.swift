import ArgumentParser
import Foundation
import RDB
import RDBTools

/// `redis-replica rdb dump FILE [--format json|jsonl]`: the canonical JSON of a file
/// ("rdb-corpus-expected/1" shapes, see README "JSON format"), streamed to stdout in 1 MiB writes.
public struct DumpCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print an RDB file's contents as canonical JSON (json or jsonl).",
        discussion: """
            json: one document, databases first (keys in file order), then rdb_file and functions. \
            jsonl: one key per line (with its db), then a last line with rdb_file and functions. \
            Both stream: memory is bounded by the largest key, not the file.
            """
    )

    @Argument(help: "The RDB file (plain or gzip).")
    var file: String

    @Option(name: .long, help: "Output format: json or jsonl.")
    var format: String = "json"

    @OptionGroup(title: "Key filters (docs/filters.md)") var filters: FilterOptions
    @OptionGroup var reader: ReaderFlags

    public init() {}

    public func validate() throws {
        guard CanonicalJSONEncoder.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be json or jsonl, not \(format)")
        }
    }

    public func run() throws {
        let fmt = CanonicalJSONEncoder.Format(rawValue: format) ?? .json
        let writer = JSONWriter(flushThreshold: 1 << 20, sink: StandardOutput.sink())
        let encoder = CanonicalJSONEncoder(format: fmt, writer: writer)
        var filter = filters.keyFilter
        let outcome: RDBFileScan.Outcome
        if filter.isEmpty {
            outcome = try RDBFileScan.scan(path: file, options: reader.readerOptions()) { try encoder.consume($0) }
        } else {
            outcome = try RDBFileScan.scan(path: file, options: reader.readerOptions()) { record in
                filter.observe(record)
                if case .entry(let e) = record, !filter.accepts(e) { return }
                try encoder.consume(record)
            }
        }
        if outcome.error != nil {
            try? writer.flush()
            fflush(stdout)
        }
        try outcome.exitOnError()
        try encoder.finish()
        fflush(stdout)
        outcome.printWarnings()
    }
}
