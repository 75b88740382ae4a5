import ArgumentParser
import Foundation
import RDB
import RDBTools

/// `redis-replica rdb info FILE`: header, AUX fields, keys per database, counts per type and per
/// RDB encoding (type byte), and the largest keys by serialized size. Reads the whole file.
public struct InfoCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Summarize an RDB file: header, AUX fields, key counts, encodings, largest keys."
    )

    @Argument(help: "The RDB file (plain or gzip).")
    var file: String

    @Option(name: .long, help: "How many of the largest keys to list.")
    var top: Int = 10

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @OptionGroup(title: "Key filters (docs/filters.md)") var filters: FilterOptions
    @OptionGroup var reader: ReaderFlags

    public init() {}

    public func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be >= 0") }
    }

    public func run() throws {
        var stats = RDBFileStats(top: top)
        var filter = filters.keyFilter
        let outcome = try RDBFileScan.scan(path: file, options: reader.readerOptions()) { record in
            filter.observe(record)
            if case .entry(let e) = record, !filter.accepts(e) { return }
            stats.add(record)
        }
        try outcome.exitOnError()
        if json {
            StandardOutput.writeJSONLine { stats.writeJSON(outcome, into: $0) }
        } else {
            StandardOutput.write(stats.text(outcome))
        }
        fflush(standardOutput)
        outcome.printWarnings()
    }
}

/// The figures `rdb info` reports, gathered record by record in bounded memory.
struct RDBFileStats {
    struct DBStats { var keys: Int64 = 0; var expires: Int64 = 0; var resize: (UInt64, UInt64)? }
    struct EncodingStats { var keys: Int64 = 0; var bytes: Int64 = 0 }
    struct LargeKey { var db: Int; var key: Bytes; var type: String; var rdbType: UInt8; var size: Int64 }

    let top: Int
    var header: RDBHeader?
    var aux: [(Bytes, Bytes)] = []
    var functions = 0
    var moduleAux = 0
    var slotInfo = 0
    var dbs: [Int: DBStats] = [:]
    var types: [String: Int64] = [:]
    var encodings: [UInt8: EncodingStats] = [:]
    /// Ascending by size; at most `top` entries.
    var largest: [LargeKey] = []
    var currentDB = 0

    init(top: Int) { self.top = top }

    mutating func add(_ record: RDBRecord) {
        switch record {
        case .header(let h): header = h
        case .aux(let k, let v): aux.append((k, v))
        case .function: functions += 1
        case .moduleAux: moduleAux += 1
        case .slotInfo: slotInfo += 1
        case .selectDB(let db): currentDB = db
        case .resizeDB(let size, let expires): dbs[currentDB, default: DBStats()].resize = (size, expires)
        case .entry(let e):
            dbs[e.db, default: DBStats()].keys += 1
            if e.expireAtMs != nil { dbs[e.db, default: DBStats()].expires += 1 }
            types[e.value.typeName, default: 0] += 1
            encodings[e.rdbType, default: EncodingStats()].keys += 1
            encodings[e.rdbType, default: EncodingStats()].bytes += e.serializedSize
            noteSize(e)
        case .valkeySlotImport, .eof: break
        }
    }

    private mutating func noteSize(_ e: RDBEntry) {
        guard top > 0 else { return }
        if largest.count == top, let smallest = largest.first, e.serializedSize <= smallest.size { return }
        let item = LargeKey(db: e.db, key: e.key, type: e.value.typeName, rdbType: e.rdbType, size: e.serializedSize)
        let at = largest.firstIndex(where: { $0.size >= item.size }) ?? largest.count
        largest.insert(item, at: at)
        if largest.count > top { largest.removeFirst() }
    }

    private var magic: RDBMagic { header?.magic ?? .redis }

    private static func printable(_ b: Bytes) -> String {
        RDBError.quote(b)
    }

    func text(_ o: RDBFileScan.Outcome) -> String {
        var s = ""
        s += "file:       \(o.path)\n"
        s += "format:     \(header?.text ?? "?") (RDB version \(header.map { String($0.version) } ?? "?"))\n"
        s += "bytes:      \(o.bytes)\n"
        switch (o.storedChecksum, o.computedChecksum) {
        case (nil, _): s += "checksum:   none (RDB < 5)\n"
        case (0?, _): s += "checksum:   disabled (stored 0)\n"
        case (let c?, _): s += "checksum:   \(CanonicalJSONEncoder.hex16(c)) (verified)\n"
        }
        s += "keys:       \(o.keys)\n"
        if !aux.isEmpty {
            s += "aux:\n"
            for (k, v) in aux { s += "  \(String(decoding: k, as: UTF8.self)) = \(RDBFileStats.printable(v))\n" }
        }
        if functions > 0 { s += "functions:  \(functions) librar\(functions == 1 ? "y" : "ies")\n" }
        if moduleAux > 0 { s += "module aux: \(moduleAux) record(s)\n" }
        if slotInfo > 0 { s += "slot info:  \(slotInfo) record(s)\n" }
        if !dbs.isEmpty {
            s += "databases:\n"
            for db in dbs.keys.sorted() {
                let d = dbs[db]!
                var line = "  db \(db): \(d.keys) keys, \(d.expires) with expiry"
                if let r = d.resize { line += " (RESIZEDB \(r.0)/\(r.1))" }
                s += line + "\n"
            }
        }
        if !types.isEmpty {
            s += "types:\n"
            for (t, n) in types.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                s += "  " + pad(t, 12) + padLeft(String(n), 10) + "\n"
            }
        }
        if !encodings.isEmpty {
            s += "encodings (RDB type byte):          keys       bytes\n"
            for t in encodings.keys.sorted() {
                let e = encodings[t]!
                s += "  " + padLeft(String(t), 3) + " " + pad(RDBTypeNames.name(of: t, magic: magic), 22)
                    + padLeft(String(e.keys), 10) + padLeft(String(e.bytes), 12) + "\n"
            }
        }
        if !largest.isEmpty {
            s += "largest keys (serialized bytes in the file):\n"
            for (i, k) in largest.reversed().enumerated() {
                s += padLeft("\(i + 1).", 5) + padLeft(String(k.size), 12) + "  db \(k.db)  "
                    + pad(k.type, 7) + " " + pad(RDBTypeNames.name(of: k.rdbType, magic: magic), 18) + " "
                    + RDBFileStats.printable(k.key) + "\n"
            }
        }
        return s
    }

    func writeJSON(_ o: RDBFileScan.Outcome, into w: JSONWriter) {
        w.raw("{")
        w.field("path", first: true)
        w.string(o.path)
        CanonicalJSONEncoder.writeHeaderFields(header, first: false, into: w)
        w.field("bytes")
        w.int(o.bytes)
        w.field("checksum")
        CanonicalJSONEncoder.writeChecksum(o.storedChecksum, into: w)
        w.field("keys")
        w.int(o.keys)
        w.field("aux")
        w.array(aux) { w.pair($0.0, $0.1) }
        w.field("functions")
        w.int(functions)
        w.field("module_aux")
        w.int(moduleAux)
        w.field("slot_info")
        w.int(slotInfo)
        w.field("databases")
        w.array(dbs.sorted { $0.key < $1.key }) { db, d in
            w.raw("{")
            w.field("db", first: true)
            w.int(db)
            w.field("keys")
            w.int(d.keys)
            w.field("expires")
            w.int(d.expires)
            w.field("resizedb")
            w.nullable(d.resize) { r in
                w.raw("[")
                w.uint(r.0)
                w.raw(",")
                w.uint(r.1)
                w.raw("]")
            }
            w.raw("}")
        }
        w.field("types")
        w.object(types.sorted { $0.key < $1.key }) { t, n in
            w.string(t)
            w.raw(":")
            w.int(n)
        }
        w.field("encodings")
        w.array(encodings.sorted { $0.key < $1.key }) { t, e in
            w.raw("{")
            w.field("type", first: true)
            w.int(Int(t))
            w.field("name")
            w.string(RDBTypeNames.name(of: t, magic: magic))
            w.field("keys")
            w.int(e.keys)
            w.field("bytes")
            w.int(e.bytes)
            w.raw("}")
        }
        w.field("largest_keys")
        w.array(largest.reversed()) { k in
            w.raw("{")
            w.field("db", first: true)
            w.int(k.db)
            w.field("key")
            w.bytes(k.key)
            w.field("type")
            w.string(k.type)
            w.field("rdb_type")
            w.int(Int(k.rdbType))
            w.field("bytes")
            w.int(k.size)
            w.raw("}")
        }
        w.field("warnings")
        w.array(o.warnings) { w.string($0) }
        w.raw("}")
    }
}

private func pad(_ s: String, _ n: Int) -> String {
    s.count >= n ? s : s + String(repeating: " ", count: n - s.count)
}

private func padLeft(_ s: String, _ n: Int) -> String {
    s.count >= n ? s : String(repeating: " ", count: n - s.count) + s
}
