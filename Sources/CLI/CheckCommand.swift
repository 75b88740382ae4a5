import ArgumentParser
import Foundation
import RDB

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

    public init() {}

    public func run() throws {
        var outcomes: [RDBFileScan.Outcome] = []
        for path in files {
            let started = DispatchTime.now().uptimeNanoseconds
            // Every value is still read and validated completely; only building it in memory is skipped.
            let options = RDBReaderOptions(verifyChecksum: true, decodeValues: decodeValues)
            let outcome = try RDBFileScan.scan(path: path, options: options)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            if !json { printText(outcome, seconds: seconds) }
            outcomes.append(outcome)
        }
        if json {
            let w = JSONWriter()
            CheckCommand.writeReport(outcomes, into: w)
            w.raw("\n")
            w.buffer.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, stdout) }
        }
        fflush(stdout)
        if outcomes.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }

    private func printText(_ o: RDBFileScan.Outcome, seconds: Double) {
        for w in o.warnings { StandardOutput.error("\(o.path): warning: \(w)") }
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
        w.raw("{\"ok\":")
        w.bool(!outcomes.contains(where: { !$0.ok }))
        w.raw(",\"files\":[")
        for (i, o) in outcomes.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"path\":")
            w.string(o.path)
            w.raw(",\"ok\":")
            w.bool(o.ok)
            w.raw(",\"magic\":")
            if let h = o.header { w.string(h.text) } else { w.null() }
            w.raw(",\"rdb_version\":")
            if let h = o.header { w.int(h.version) } else { w.null() }
            w.raw(",\"keys\":")
            w.int(o.keys)
            w.raw(",\"bytes\":")
            w.int(o.bytes)
            w.raw(",\"checksum\":")
            if let c = o.storedChecksum { w.string(CanonicalJSONEncoder.hex16(c)) } else { w.null() }
            w.raw(",\"warnings\":[")
            for (j, s) in o.warnings.enumerated() {
                if j > 0 { w.raw(",") }
                w.string(s)
            }
            w.raw("],\"error\":")
            if let e = o.error {
                w.raw("{\"code\":")
                w.string(e.code.rawValue)
                w.raw(",\"offset\":")
                w.int(e.offset)
                w.raw(",\"message\":")
                w.string(e.message)
                w.raw(",\"key\":")
                if let k = e.key { w.bytes(k) } else { w.null() }
                w.raw(",\"db\":")
                if let db = e.db { w.int(db) } else { w.null() }
                w.raw(",\"description\":")
                w.string(e.description)
                w.raw("}")
            } else {
                w.null()
            }
            w.raw("}")
        }
        w.raw("]}")
    }
}
