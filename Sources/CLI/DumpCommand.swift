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
            --rdb-version (modules survive). All stream: memory is bounded by the largest key, not the file. \
            --threads N formats runs of keys on N threads at once and writes them in file order, byte for byte \
            what one thread writes (docs/rdb-tools.md).
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
            help: "Threads that format keys side by side (plain files without key filters; the output is the same). Default: the number of CPUs, at most 8.")
    var threads: Int?

    /// The bytes of keys one thread formats at a time with `--threads` (tests use small runs to get many).
    @Option(name: .customLong("run-bytes"), help: .hidden)
    var runBytes: Int = 1 << 20

    @OptionGroup(title: "Key filters (docs/filters.md)") var filters: FilterOptions
    @OptionGroup var reader: ReaderFlags

    public init() {}

    public func validate() throws {
        if let threads, !(1...64).contains(threads) {
            throw ValidationError("--threads must be 1...64")
        }
        if runBytes < 1 {
            throw ValidationError("--run-bytes must be at least 1")
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
        let outcome: RDBFileScan.Outcome
        do {
            outcome = try dump(to: sink)
        } catch let e as RDBWriteError {
            if let file { file.discard() } else { fflush(standardOutput) }
            StandardOutput.error("\(e)")
            throw ExitCode(1)
        }
        // On a file error, what was written to stdout stays (the error follows on stderr), a file output is
        // discarded; then exit 1. Otherwise the file is published.
        if outcome.error != nil {
            if let file { file.discard() } else { fflush(standardOutput) }
            try outcome.exitOnError()
        }
        if let file { try file.commit() } else { fflush(standardOutput) }
        outcome.printWarnings()
    }

    /// Writes the dump to `sink`: all of it, or, when the file has an error (returned in the outcome), every key
    /// before the one it is in. Throws the located `RDBWriteError` when the target version cannot hold a key,
    /// after writing the keys before it.
    func dump(to sink: @escaping JSONWriter.Sink) throws -> RDBFileScan.Outcome {
        if let style = RESPExportOptions.Style(rawValue: format.rawValue) {
            return try dumpRESP(style, to: sink)
        }
        return try dumpJSON(to: sink)
    }

    private func dumpJSON(to sink: @escaping JSONWriter.Sink) throws -> RDBFileScan.Outcome {
        let fmt = CanonicalJSONEncoder.Format(rawValue: format.rawValue) ?? .json
        let writer = JSONWriter(flushThreshold: 1 << 20, sink: sink)
        let encoder = CanonicalJSONEncoder(format: fmt, writer: writer)
        let consume = { (record: RDBRecord, lent: RDBValueArena?) throws in try encoder.consume(record, lent: lent) }
        let outcome: RDBFileScan.Outcome
        if let parallel = try parallelScan() {
            outcome = try parallel.run(makeFormatter: { run in
                // JSON runs about twice its RDB bytes (intsets and small integers much more): room for three
                // times, so that most runs never grow (untouched capacity costs address space, not memory).
                let w = JSONWriter(capacity: Int(min(3 * (run.end - run.point.offset), 32 << 20)) + 4096)
                let e = CanonicalJSONEncoder(format: fmt, writer: w)
                e.continueKeys(db: run.point.db, fileOrder: run.fileOrder, previousKeysDB: run.previousKeysDB)
                return .init(consume: { try e.consume($0, lent: $1) }, formatted: { w.pending })
            }, consume: consume, writeRun: { run, keys in
                try writer.flush()
                if let bytes = run.formatter?.formatted() { try sink(bytes) }
                encoder.keysWrittenElsewhere(db: run.point.db, count: keys)
            })
        } else {
            outcome = try scanLent(consume)
        }
        if outcome.error == nil { try encoder.finish() } else { try writer.flush() }
        return outcome
    }

    private func dumpRESP(_ style: RESPExportOptions.Style, to sink: @escaping JSONWriter.Sink) throws -> RDBFileScan.Outcome {
        let options = RESPExportOptions(style: style, targetVersion: rdbVersion, replace: replace)
        let out = RESPOutput(flushThreshold: 1 << 20, sink: sink)
        let exporter = RESPExporter(output: out, options: options)
        let path = self.file
        let outcome: RDBFileScan.Outcome
        do {
            if let parallel = try parallelScan() {
                outcome = try parallel.run(makeFormatter: { run in
                    let o = RESPOutput(flushThreshold: 1 << 20)
                    let e = RESPExporter(output: o, options: options)
                    try? e.consume(.header(run.point.header))
                    e.continueKeys(previousKeysDB: run.previousKeysDB)
                    return .init(consume: Self.locating(e, path), formatted: { o.pending })
                }, consume: Self.locating(exporter, path), writeRun: { run, keys in
                    try out.flush()
                    if let bytes = run.formatter?.formatted() { try sink(bytes) }
                    exporter.keysWrittenElsewhere(db: run.point.db, count: keys)
                })
            } else {
                outcome = try scanLent(Self.locating(exporter, path))
            }
        } catch let e as RDBWriteError {
            // A refusal stops the scan: it comes back out of it (not in the outcome, which holds file errors).
            try out.flush()
            throw e
        }
        if outcome.error == nil { try exporter.finish() } else { try out.flush() }
        return outcome
    }

    /// `exporter.consume`, with what the target cannot hold located: the input file, where the key starts in
    /// it, and the key.
    private static func locating(_ exporter: RESPExporter, _ path: String) -> (RDBRecord, RDBValueArena?) throws -> Void {
        return { record, lent in
            do { try exporter.consume(record, lent: lent) } catch let e as RDBWriteError {
                var offset: Int64?
                if case .entry(let entry) = record { offset = entry.startOffset }
                throw e.located(file: path, offset: offset)
            }
        }
    }

    /// Whether streams are lent (their entries written from the reader's arena): the JSON formats read them so.
    private var lendsStreams: Bool { format == .json || format == .jsonl }

    /// The threads to format keys with: `--threads`, or the CPUs (at most 8).
    private var threadCount: Int {
        threads ?? min(8, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// A reader that formats runs of keys on `threadCount` threads, when more than one is wanted and the file
    /// allows it: a plain regular file (not gzip, not a pipe) and no key filter (`file_order` and SELECT
    /// depend on which keys earlier runs kept).
    private func parallelScan() throws -> ParallelRDBScan? {
        guard threadCount > 1, filters.keyFilter.isEmpty, ParallelRDBScan.canRead(file) else { return nil }
        return try ParallelRDBScan(path: file, options: reader.readerOptions(), workers: threadCount,
                                   runBytes: Int64(runBytes), lendsKeys: true, lendsStreamEntries: lendsStreams)
    }

    /// Scans the file with values lent (`RDBReader.next(lendingInto:)`), handing `consume` every record the
    /// filters accept with the arena its value was lent in (nil: nothing lent). Without filters, which read
    /// keys from the entries, keys are lent too (`RDBValueArena.lendsKeys`).
    private func scanLent(_ consume: @escaping (RDBRecord, RDBValueArena?) throws -> Void) throws -> RDBFileScan.Outcome {
        let arena = RDBValueArena()
        arena.lendsKeys = filters.keyFilter.isEmpty
        arena.lendsStreamEntries = lendsStreams
        return try scan(lending: arena) { try consume($0, arena.kind == .none ? nil : arena) }
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
}
