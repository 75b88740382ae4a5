import ArgumentParser
import Foundation
import RDB
import RDBTools

/// `redis-replica rdb memory FILE [--top N] [--by key|prefix|type|db] [--prefix-separator :] [--format text|csv|json]`:
/// per-key memory estimates (what Redis 7.0's `MEMORY USAGE key SAMPLES 0` reports after loading the file).
struct MemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Estimate each key's memory in Redis 7 (MEMORY USAGE): the largest keys, sums by prefix, type and db.",
        discussion: """
            The estimate follows Redis 7.0's object.c objectComputeSize with SAMPLES 0 (every element), the \
            encodings Redis picks on load (int/embstr/raw strings, listpack/quicklist/intset/hashtable/skiplist) \
            and jemalloc's size classes. See docs/rdb-tools.md for the model and its measured error. \
            --by key lists the --top largest keys (--top 0: every key, in file order, streamed); --by prefix, type \
            or db lists sums, largest first (--top 0: all rows).
            """
    )

    enum Grouping: String, ExpressibleByArgument, CaseIterable { case key, prefix, type, db }
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, csv, json }

    @Argument(help: "The RDB file (plain or gzip).") var file: String
    @Option(name: .customLong("top"), help: "Rows to show (0: all).") var top: Int = 10
    @Option(name: .customLong("by"), help: "key, prefix, type or db.") var by: Grouping = .key
    @Option(name: .customLong("prefix-separator"), help: "Prefix = the key up to and including this separator.")
    var separator: String = ":"
    @Option(name: .customLong("format"), help: "text, csv or json.") var format: Format = .text
    @OptionGroup(title: "Key filters (docs/filters.md)") var filters: FilterOptions
    @OptionGroup var reader: ReaderFlags

    func validate() throws {
        if top < 0 { throw ValidationError("--top must be >= 0") }
        if separator.isEmpty { throw ValidationError("--prefix-separator must not be empty") }
    }

    func run() throws {
        let streamAll = by == .key && top == 0
        // Prefix sums only when shown (`--by prefix`): they cost an array and a hash per key.
        let report = MemoryReport(top: streamAll ? 0 : (by == .key ? top : 0),
                                  separator: by == .prefix ? Array(separator.utf8) : nil)
        let out = JSONWriter(flushThreshold: 1 << 20, sink: StandardOutput.sink())
        var first = true
        if streamAll { header(out) }
        var filter = filters.keyFilter
        let arena = RDBValueArena()
        arena.summarizesIntsets = true  // the estimate needs an intset's count and extremes only
        // Keys lent too (no array per key) when nothing else reads the entry's key: no filter, no per-key rows.
        arena.lendsKeys = filters.keyFilter.isEmpty && !streamAll
        let outcome = try RDBFileScan.scan(path: file, options: reader.readerOptions(), lending: arena) { record in
            filter.observe(record)
            guard case .entry(let e) = record else { return }
            if !filter.isEmpty && !filter.accepts(e) { return }
            guard streamAll else {
                report.account(e, lent: arena)
                return
            }
            row(out, report.add(e, lent: arena), first: first)
            first = false
            try out.flushIfNeeded()
        }
        if let error = outcome.error {
            try? out.flush()
            fflush(standardOutput)
            StandardOutput.error(error.description)
            throw ExitCode(1)
        }
        if streamAll {
            if format == .json { out.raw("\n]}\n") }
        } else {
            write(report, out)
        }
        try out.flush()
        fflush(standardOutput)
        outcome.printWarnings()
    }

    private func header(_ out: JSONWriter) {
        switch format {
        case .text: out.raw("bytes\tdb\ttype\tkey\n")
        case .csv: out.raw("db,key,type,bytes\n")
        case .json: out.raw("{\"keys\":[")
        }
    }

    private func row(_ out: JSONWriter, _ u: MemoryReport.KeyUsage, first: Bool) {
        switch format {
        case .text: out.raw("\(u.bytes)\t\(u.db)\t\(u.type)\t\(RDBError.quote(u.key))\n")
        case .csv:
            out.raw("\(u.db),")
            csvField(out, u.key)
            out.raw(",\(u.type),\(u.bytes)\n")
        case .json:
            out.raw(first ? "\n" : ",\n")
            out.raw("{")
            out.field("db", first: true); out.int(u.db)
            out.field("key"); out.bytes(u.key)
            out.field("type"); out.string(u.type)
            out.field("bytes"); out.int(u.bytes)
            out.raw("}")
        }
    }

    private func csvField(_ out: JSONWriter, _ b: Bytes) {
        out.raw("\"")
        for c in b {
            if c == UInt8(ascii: "\"") { out.raw("\"\"") } else { out.raw(c) }
        }
        out.raw("\"")
    }

    private func groups(_ report: MemoryReport) -> [(label: Bytes, sum: MemoryReport.Sum)] {
        var rows: [(Bytes, MemoryReport.Sum)]
        switch by {
        case .key: rows = []
        case .prefix: rows = report.byPrefix.map { ($0.key, $0.value) }
        case .type: rows = report.byType.map { (Array($0.key.utf8), $0.value) }
        case .db: rows = report.byDB.map { (Array(String($0.key).utf8), $0.value) }
        }
        rows.sort { $0.1.bytes != $1.1.bytes ? $0.1.bytes > $1.1.bytes : $0.0.lexicographicallyPrecedes($1.0) }
        return top > 0 ? Array(rows.prefix(top)) : rows
    }

    private func write(_ report: MemoryReport, _ out: JSONWriter) {
        let rows = groups(report)
        switch format {
        case .text:
            out.raw("\(file): \(report.keys) keys, \(report.totalBytes) bytes estimated (Redis 7 MEMORY USAGE)\n")
            if by == .key {
                out.raw("largest \(report.largest.count) keys:\n")
                for u in report.largest { out.raw("  \(u.bytes)\tdb \(u.db)\t\(u.type)\t\(RDBError.quote(u.key))\n") }
                for (name, t) in [("type", report.byType.map { ($0.key, $0.value) }),
                                  ("db", report.byDB.map { ("db \($0.key)", $0.value) })] {
                    out.raw("by \(name):\n")
                    for (label, s) in t.sorted(by: { $0.1.bytes > $1.1.bytes }) {
                        out.raw("  \(s.bytes)\t\(s.keys) keys\t\(label)\n")
                    }
                }
            } else {
                out.raw("bytes\tkeys\t\(by.rawValue)\n")
                for (label, s) in rows { out.raw("\(s.bytes)\t\(s.keys)\t\(RDBError.quote(label))\n") }
            }
        case .csv:
            if by == .key {
                header(out)
                for u in report.largest { row(out, u, first: false) }
            } else {
                out.raw("\(by.rawValue),keys,bytes\n")
                for (label, s) in rows {
                    csvField(out, label)
                    out.raw(",\(s.keys),\(s.bytes)\n")
                }
            }
        case .json:
            out.raw("{")
            out.field("keys_total", first: true); out.int(report.keys)
            out.field("bytes_total"); out.int(report.totalBytes)
            if by == .key {
                out.field("largest")
                out.array(report.largest) { u in
                    out.raw("{")
                    out.field("db", first: true); out.int(u.db)
                    out.field("key"); out.bytes(u.key)
                    out.field("type"); out.string(u.type)
                    out.field("bytes"); out.int(u.bytes)
                    out.raw("}")
                }
            } else {
                out.field("groups")
                out.array(rows) { r in
                    out.raw("{")
                    out.field("name", first: true); out.bytes(r.label)
                    out.field("keys"); out.int(r.sum.keys)
                    out.field("bytes"); out.int(r.sum.bytes)
                    out.raw("}")
                }
            }
            out.raw("}\n")
        }
    }
}
