import ArgumentParser
import Foundation
import RDB
import RDBTools

/// `redis-replica rdb dump FILE [--format json|jsonl|resp|restore] [-o OUT [--force]]`: the canonical JSON of
/// a file ("rdb-corpus-expected/1" shapes, see README "JSON format"), or the Redis commands that rebuild it,
/// streamed to stdout (or OUT) in 1 MiB writes.
public struct DumpCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print an RDB file's contents as canonical JSON (json, jsonl) or as Redis commands (resp, restore).",
        discussion: """
            json: one document, databases first (keys in file order), then rdb_file and functions. \
            jsonl: one key per line (with its db), then a last line with rdb_file and functions. \
            resp: the commands an AOF rewrite would write (SELECT, SET/RPUSH/SADD/ZADD/HSET/XADD, stream groups, \
            consumers and pending entries, PEXPIREAT/HPEXPIREAT, FUNCTION LOAD), 64 elements a command, for \
            `redis-cli --pipe`. restore: one RESTORE key ttl payload [ABSTTL] per key with DUMP payloads for \
            --rdb-version (modules survive). All stream: memory is bounded by the largest key, not the file.
            """
    )

    @Argument(help: "The RDB file (plain or gzip).")
    var file: String

    /// `--format`.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, jsonl, resp, restore
    }

    @Option(name: .long, help: "Output format.")
    var format: Format = .json

    @Option(name: .customLong("rdb-version"),
            help: "resp/restore: the target server's RDB version (9: Redis 6.2, 10: 7.0, 11: 7.2, 12: 7.4+); default: the input's.")
    var rdbVersion: Int?

    @Flag(name: .customLong("replace"), help: "restore: RESTORE ... REPLACE (overwrite existing keys).")
    var replace = false

    @Option(name: [.customShort("o"), .customLong("output")],
            help: "Write to this file (published only when complete) instead of standard output.")
    var output: String?

    @Flag(name: .customLong("force"), help: "Replace an existing --output file.")
    var force = false

    @Option(name: .customLong("threads"),
            help: "json, jsonl, resp: 2 reads the file on a second thread while this one writes (faster on an idle multi-core machine, more CPU time in all; docs/benchmarks.md); 1 does both on one.")
    var threads: Int = 1

    @OptionGroup(title: "Key filters (docs/filters.md)") var filters: FilterOptions
    @OptionGroup var reader: ReaderFlags

    public init() {}

    public func validate() throws {
        if threads != 1 && threads != 2 {
            throw ValidationError("--threads must be 1 or 2")
        }
        if let v = rdbVersion, !RDBWriterOptions.isWritable(v) {
            throw ValidationError("--rdb-version must be \(RDBWriterOptions.writableVersionsText)")
        }
    }

    public func run() throws {
        let file = try output.map { path -> AtomicOutputFile in
            do { return try AtomicOutputFile(path: path, force: force) } catch {
                StandardOutput.error("\(error)")
                throw ExitCode(2)
            }
        }
        let sink: JSONWriter.Sink = file.map { f in { try f.write($0) } } ?? StandardOutput.sink()
        if let style = RESPExportOptions.Style(rawValue: format.rawValue) {
            try runRESP(style, sink: sink, file: file)
        } else {
            try runJSON(sink: sink, file: file)
        }
    }

    private func runJSON(sink: @escaping JSONWriter.Sink, file: AtomicOutputFile?) throws {
        let fmt = CanonicalJSONEncoder.Format(rawValue: format.rawValue) ?? .json
        let writer = JSONWriter(flushThreshold: 1 << 20, sink: sink)
        let encoder = CanonicalJSONEncoder(format: fmt, writer: writer)
        let outcome = try scanLent { try encoder.consume($0, lent: $1) }
        try finishOutput(outcome, file: file) {
            try encoder.finish()
        }
    }

    private func runRESP(_ style: RESPExportOptions.Style, sink: @escaping JSONWriter.Sink, file: AtomicOutputFile?) throws {
        let out = RESPOutput(flushThreshold: 1 << 20, sink: sink)
        let exporter = RESPExporter(output: out, options: RESPExportOptions(
            style: style, targetVersion: rdbVersion, replace: replace))
        var writeError: RDBWriteError?
        let path = self.file
        let consume = { (record: RDBRecord, lent: RDBValueArena?) throws in
            do { try exporter.consume(record, lent: lent) } catch let e as RDBWriteError {
                // What the target cannot hold names the input file, where the key starts in it and the key.
                var offset: Int64?
                if case .entry(let entry) = record { offset = entry.startOffset }
                writeError = e.located(file: path, offset: offset)
                throw e
            }
        }
        // A refusal stops the scan: it comes back out of it (not in the outcome, which holds file errors).
        let outcome: RDBFileScan.Outcome
        do {
            outcome = try scanLent(consume)
        } catch let e as RDBWriteError {
            file?.discard()
            StandardOutput.error("\(writeError ?? e)")
            throw ExitCode(1)
        }
        try finishOutput(outcome, file: file) { try exporter.finish() }
    }

    /// Scans the file with values lent (`RDBReader.next(lendingInto:)`), handing `consume` every record the
    /// filters accept with the arena its value was lent in (nil: nothing lent). Without filters, which read
    /// keys from the entries, keys are lent too (`RDBValueArena.lendsKeys`). With `--threads 2`, the file is
    /// read on a second thread (`LentPipeline`) while this one formats.
    private func scanLent(_ consume: @escaping (RDBRecord, RDBValueArena?) throws -> Void) throws -> RDBFileScan.Outcome {
        let lendsKeys = filters.keyFilter.isEmpty
        guard threads == 2 else {
            let arena = RDBValueArena()
            arena.lendsKeys = lendsKeys
            return try scan(lending: arena) { try consume($0, arena.kind == .none ? nil : arena) }
        }
        let path = file
        let options = reader.readerOptions()
        var filter = filters.keyFilter
        return try LentPipeline(lendsKeys: lendsKeys).run(scan: { arenas, handOver in
            try RDBFileScan.scan(path: path, options: options, arenas: arenas) { record in
                if !filter.isEmpty {
                    filter.observe(record)
                    if case .entry(let e) = record, !filter.accepts(e) { return }
                }
                try handOver(record)
            }
        }, consume: consume)
    }

    /// Scans the file with the reader flags, handing `visit` every record except the keys the filters reject.
    private func scan(lending: RDBValueArena?, _ visit: @escaping (RDBRecord) throws -> Void) throws -> RDBFileScan.Outcome {
        var filter = filters.keyFilter
        if filter.isEmpty {
            return try RDBFileScan.scan(path: file, options: reader.readerOptions(), lending: lending, visit: visit)
        }
        return try RDBFileScan.scan(path: file, options: reader.readerOptions(), lending: lending) { record in
            filter.observe(record)
            if case .entry(let e) = record, !filter.accepts(e) { return }
            try visit(record)
        }
    }

    /// On a file error: what was streamed to stdout is flushed (the error follows on stderr), a file output is
    /// discarded; then exit 1. Otherwise the last bytes go out and the file is published.
    private func finishOutput(_ outcome: RDBFileScan.Outcome, file: AtomicOutputFile?, finish: () throws -> Void) throws {
        if outcome.error != nil {
            if let file { file.discard() } else { fflush(standardOutput) }
            try outcome.exitOnError()
        }
        try finish()
        if let file { try file.commit() } else { fflush(standardOutput) }
        outcome.printWarnings()
    }
}
