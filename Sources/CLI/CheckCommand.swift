import ArgumentParser
import Foundation
import RDB
import RDBTools

/// `redis-replica rdb check FILE...`: validates every file completely (every record, every value,
/// the CRC-64 trailer) in bounded memory. Exit status 0 when all files are valid, 1 otherwise;
/// each bad file gets one line `FILE: error at byte OFFSET: WHAT (key "…", db N)` on stderr.
public struct CheckCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate RDB files completely (all records, values and the checksum).",
        discussion: """
            Exits 0 when every file is valid and 1 otherwise (after checking all files). Errors are \
            printed as `FILE: error at byte OFFSET: WHAT (key "…", db N)`. Gzip-compressed input is \
            detected by its magic bytes.
            """
    )

    @Argument(help: "RDB files to check (plain or gzip).")
    var files: [String]

    @Flag(name: .long, help: "Print a machine-readable JSON report on stdout instead of text.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print only errors (text mode).")
    var quiet = false

    @Flag(name: .long, help: """
        Also build every value in memory (slower; validation is the same either way).
        """)
    var decodeValues = false

    @OptionGroup var reader: ReaderFlags

    public init() {}

    public func run() throws {
        var outcomes: [RDBFileScan.Outcome] = []
        for path in files {
            let started = DispatchTime.now().uptimeNanoseconds
            // Every value is still read and validated completely; only building it in memory is skipped.
            var options = reader.readerOptions(verifyChecksum: true, decodeValues: decodeValues)
            options.rejectDuplicates = true  // as redis-check-rdb, whose loads are deeply sanitized
            let outcome = try RDBFileScan.scan(path: path, options: options)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            if !json { printText(outcome, seconds: seconds) }
            outcomes.append(outcome)
        }
        if json { StandardOutput.writeJSONLine { CheckCommand.writeReport(outcomes, into: $0) } }
        fflush(standardOutput)
        if outcomes.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }

    private func printText(_ o: RDBFileScan.Outcome, seconds: Double) {
        o.printWarnings()
        if let e = o.error {
            StandardOutput.error(e.description)
        } else if !quiet {
            let version = o.header.map { "\($0.text)" } ?? "?"
            let checksum: String
            switch o.storedChecksum {
            case nil: checksum = "no checksum (RDB < 5)"
            case 0?: checksum = "checksum disabled"
            case let c?: checksum = "crc64 \(CanonicalJSONEncoder.hex16(c)) ok"
            }
            let mbps = seconds > 0 ? Double(o.bytes) / seconds / 1e6 : 0
            StandardOutput.write("\(o.path): OK \(version), \(o.keys) keys, \(o.bytes) bytes, \(checksum) (\(String(format: "%.2f", seconds)) s, \(String(format: "%.0f", mbps)) MB/s)\n")
        }
    }

    /// `{"ok": bool, "files": [{path, ok, magic, rdb_version, keys, bytes, checksum, warnings, error}]}`;
    /// `error` is null or `{code, offset, message, key, db, description}`.
    static func writeReport(_ outcomes: [RDBFileScan.Outcome], into w: JSONWriter) {
        w.raw("{")
        w.field("ok", first: true)
        w.bool(!outcomes.contains(where: { !$0.ok }))
        w.field("files")
        w.array(outcomes) { o in
            w.raw("{")
            w.field("path", first: true)
            w.string(o.path)
            w.field("ok")
            w.bool(o.ok)
            CanonicalJSONEncoder.writeHeaderFields(o.header, first: false, into: w)
            w.field("keys")
            w.int(o.keys)
            w.field("bytes")
            w.int(o.bytes)
            w.field("checksum")
            CanonicalJSONEncoder.writeChecksum(o.storedChecksum, into: w)
            w.field("warnings")
            w.array(o.warnings) { w.string($0) }
            w.field("error")
            w.nullable(o.error) { e in
                w.raw("{")
                w.field("code", first: true)
                w.string(e.code.rawValue)
                w.field("offset")
                w.int(e.offset)
                w.field("message")
                w.string(e.message)
                w.field("key")
                w.nullable(e.key) { w.bytes($0) }
                w.field("db")
                w.nullable(e.db) { w.int($0) }
                w.field("description")
                w.string(e.description)
                w.raw("}")
            }
            w.raw("}")
        }
        w.raw("}")
    }
}
