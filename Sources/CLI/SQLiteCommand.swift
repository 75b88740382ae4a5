import ArgumentParser
import Foundation
import RDB
import RDBTools
import SQLiteExport

/// `redis-replica rdb sqlite FILE.rdb[.gz] OUT.db`: convert an RDB file to a queryable SQLite database.
public struct SQLiteCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sqlite",
        abstract: "Convert an RDB file (plain or .gz) to a SQLite database.",
        discussion: """
            Tables: meta, keys, strings, list_items, set_members, zset_members, hash_fields, streams, \
            stream_entries, stream_groups, stream_consumers, stream_pending, modules, functions, aux, \
            module_aux, resize_db, slot_info, valkey_slot_import. Views with text columns (NULL where the \
            bytes are not UTF-8): keys_text, strings_text, list_items_text, set_members_text, \
            zset_members_text, hash_fields_text, stream_entries_text, aux_text. See README.md.

            The output is written to OUT.tmp-<pid> and renamed into place at the end; on any error \
            nothing is left behind and the exit status is 1. A progress bar is drawn on stderr when \
            it is a terminal.
            """
    )

    @Argument(help: "The RDB file to read (gzip-compressed files are inflated on the fly).")
    var input: String

    @Argument(help: "The SQLite database to create.")
    var output: String

    @OptionGroup(title: "Key filters (docs/filters.md)") var filters: FilterOptions
    @OptionGroup var reader: ReaderFlags

    @Flag(help: "Replace OUT.db if it exists.")
    var force = false

    @Flag(help: "Print a summary line (keys, rows, seconds) on stdout.")
    var summary = false

    @Option(name: .customLong("sqlite-layer"), help: ArgumentHelp("SQLite layer: c (raw C API) or grdb.", visibility: .hidden))
    var layer: SQLiteLayer = .cAPI

    @Flag(name: .customLong("keys-without-rowid"), help: ArgumentHelp("keys as a WITHOUT ROWID table.", visibility: .hidden))
    var keysWithoutRowID = false

    @Option(name: .customLong("cache-mib"), help: ArgumentHelp("SQLite page cache, MiB.", visibility: .hidden))
    var cacheMiB: Int = 16

    @Option(name: .customLong("batch-rows"), help: ArgumentHelp("Rows per multi-row INSERT of elements.", visibility: .hidden))
    var batchRows: Int = 16

    @Flag(name: .customLong("no-progress"), help: "Never show the progress bar (it is shown only when stderr is a terminal).")
    var noProgress = false

    public init() {}

    public func run() throws {
        var options = SQLiteExportOptions(force: force)
        options.filter = filters.keyFilter
        options.layer = layer
        options.layout.keysWithoutRowID = keysWithoutRowID
        options.layout.cacheSizeKiB = max(1, cacheMiB) * 1024
        options.layout.batchRows = batchRows

        var bar: ExportProgressBar?
        if !noProgress && ExportProgressBar.stderrIsTerminal {
            let size = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? NSNumber)?.int64Value
            // For gzip input the reader counts inflated bytes, so the file size is not the total.
            bar = ExportProgressBar(total: SQLiteExporter.isGzip(input) ? nil : size)
        }
        let start = Date()
        do {
            let result = try SQLiteExporter.exportFile(
                inputPath: input, outputPath: output, options: options, readerOptions: reader.readerOptions(),
                progress: { bytes, keys in bar?.update(bytes: bytes, keys: keys) },
                loaded: { bytes, keys in bar?.finish(bytes: bytes, keys: keys, note: "  building indexes...") })
            let seconds = Date().timeIntervalSince(start)
            let types = result.keysByType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let line = "\(output): \(result.keysExported) of \(result.keysSeen) keys (\(types)), \(result.rows) rows, "
                + String(format: "%.2f s (indexes %.2f s)", seconds, result.indexSeconds)
            if summary {
                print(line)
            } else if bar != nil {
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        } catch {
            bar?.clear()
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
