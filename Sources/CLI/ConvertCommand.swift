import ArgumentParser
import RDB
import RDBTools

/// `redis-replica rdb convert IN OUT`: rewrite, filter or downgrade an RDB file.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Rewrite an RDB file: change its RDB version (7-12), keep some databases, keys or types.",
        discussion: """
        The output is written to a temporary file next to OUT, fsynced, and renamed over OUT only when \
        complete. The default target version is the input's (capped at 12; Valkey files become 11).

        Values the target cannot hold are an error naming the key: hash field TTLs need 12 (Redis 7.4), \
        functions need 10 (Redis 7.0), streams need 9 (Redis 5.0), modules need 8. Use --drop-field-ttl or \
        --drop-functions to write without them. Below 9, LRU/LFU hints are not written; below 11, consumer \
        active-times are not written (Redis derives them from seen-times).
        """
    )

    @Argument(help: "Input RDB file (plain or .gz).") var input: String
    @Argument(help: "Output RDB file.") var output: String
    @Option(name: .customLong("rdb-version"), help: "Target RDB version: 7 (Redis 3.2) ... 12 (Redis 7.4+), or 80 (Valkey 9, VALKEY080); default: the input's.")
    var rdbVersion: Int?
    @OptionGroup(title: "Key filters (docs/filters.md)") var filters: FilterOptions
    @OptionGroup var reader: ReaderFlags
    @Flag(name: .customLong("no-compress"), help: "Do not LZF-compress strings.") var noCompress = false
    @Flag(name: .customLong("drop-field-ttl"), help: "Below RDB 12: keep hash fields but drop their TTLs.")
    var dropFieldTTL = false
    @Flag(name: .customLong("drop-functions"), help: "Below RDB 10: leave function libraries out.")
    var dropFunctions = false
    @Flag(name: .customLong("quiet"), help: "Print nothing on success.") var quiet = false

    func validate() throws {
        if let v = rdbVersion, !RDBWriterOptions.isWritable(v) {
            throw ValidationError("--rdb-version must be \(RDBWriterOptions.writableVersionsText)")
        }
    }

    func run() throws {
        var options = RDBConvertOptions(
            rdbVersion: rdbVersion, compress: !noCompress, dropFieldTTL: dropFieldTTL, dropFunctions: dropFunctions)
        options.filter = filters.keyFilter
        let s = try RDBConvert.convert(input: input, output: output, options: options,
                                       readerOptions: reader.readerOptions())
        guard !quiet else { return }
        let from = s.inputHeader?.text ?? "?"
        print("\(output): RDB \(s.outputVersion) (from \(from)), \(s.keysWritten) of \(s.keysRead) keys, \(s.bytesWritten) bytes")
        for db in s.databases.keys.sorted() {
            let c = s.databases[db]!
            print("  db \(db): \(c.keys) keys, \(c.expires) with expiry")
        }
        let w = s.writer
        var notes: [String] = []
        if w.droppedFieldTTLs > 0 { notes.append("\(w.droppedFieldTTLs) hash field TTLs dropped") }
        if w.droppedFunctions > 0 { notes.append("\(w.droppedFunctions) function libraries dropped") }
        if w.droppedEvictionHints > 0 { notes.append("\(w.droppedEvictionHints) LRU/LFU hints not representable") }
        if w.droppedConsumerActiveTimes > 0 { notes.append("\(w.droppedConsumerActiveTimes) consumer active-times not representable") }
        if w.streamsWithoutV2Metadata > 0 { notes.append("\(w.streamsWithoutV2Metadata) streams written without v2 metadata") }
        if s.droppedRecords > 0 { notes.append("\(s.droppedRecords) slot-info/slot-import records left out") }
        for n in notes { print("  note: \(n)") }
    }
}
