import Base
import Foundation
import GRDB
import RDB
import RDBTools

/// Which SQLite layer runs the inserts. Both write the same rows; `cAPI` is the default because it
/// measured faster (README, "RDB to SQLite"; tools/bench-sqlite).
public enum SQLiteLayer: String, Sendable, CaseIterable {
    /// Raw `sqlite3_bind_*` through GRDBSQLite, bytes bound without copying.
    case cAPI = "c"
    /// GRDB cached statements with `StatementArguments`.
    case grdb
}

public struct SQLiteExportOptions: Sendable {
    public var filter = KeyFilter()
    public var layout = SQLiteLayoutOptions()
    public var layer = SQLiteLayer.cAPI
    /// Replace an existing output file.
    public var force = false
    public init(filter: KeyFilter = KeyFilter(), layout: SQLiteLayoutOptions = SQLiteLayoutOptions(),
                layer: SQLiteLayer = .cAPI, force: Bool = false) {
        self.filter = filter
        self.layout = layout
        self.layer = layer
        self.force = force
    }
}

/// Writes a stream of records to a new SQLite file safely: refuses to overwrite unless forced, writes
/// `OUT.tmp-<pid>` next to the output (through SQLite's own VFS), and after the final commit publishes it
/// through the durable-file seam (`FileSystem.publish`: fsync the file, rename it into place, fsync the
/// directory); it removes it on any error, so a failed export leaves no output file behind, and a crash
/// leaves the old output or the complete new one under the final name.
public enum SQLiteExporter {
    /// The temporary file an export of `outputPath` writes to.
    public static func temporaryPath(for outputPath: String) -> String {
        outputPath + ".tmp-\(getpid())"
    }

    /// Checks the output path before any input is read.
    public static func checkOutput(_ outputPath: String, force: Bool) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: outputPath, isDirectory: &isDir) {
            if isDir.boolValue { throw SQLiteExportError("\(outputPath): is a directory") }
            if !force { throw SQLiteExportError("\(outputPath): already exists (use --force to replace it)") }
        }
        let dir = (outputPath as NSString).deletingLastPathComponent
        let parent = dir.isEmpty ? "." : dir
        if !FileManager.default.isWritableFile(atPath: parent) {
            throw SQLiteExportError("\(outputPath): cannot write to directory \(parent)")
        }
    }

    /// Pulls records from `next` until it returns nil, writing them to `outputPath`.
    /// - Parameters:
    ///   - sourceFileName: recorded in `meta.source_file`.
    ///   - onRecord: called after every record (progress reporting).
    ///   - onLoaded: called once all records are in, before the indexes are built.
    ///   - rereadRecords: a fresh source of the same records, read only when the default layout's UNIQUE index
    ///     finds a key twice, to name the byte offset of its second occurrence in the error.
    public static func export(to outputPath: String, sourceFileName: String?, options: SQLiteExportOptions,
                              next: () throws -> RDBRecord?, onRecord: (SQLiteExportSummary) -> Void = { _ in },
                              onLoaded: (SQLiteExportSummary) -> Void = { _ in },
                              rereadRecords: (() throws -> () throws -> RDBRecord?)? = nil,
                              fileSystem: FileSystem = POSIXFileSystem())
        throws -> SQLiteExportSummary
    {
        do {
            return try exportRecords(to: outputPath, sourceFileName: sourceFileName, options: options, next: next,
                                     onRecord: onRecord, onLoaded: onLoaded, fileSystem: fileSystem)
        } catch let e as SQLiteExportError {
            guard let duplicate = e.duplicate, duplicate.offset == nil, let rereadRecords,
                  let offset = secondOccurrence(of: duplicate, filter: options.filter, in: rereadRecords)
            else { throw e }
            var located = duplicate
            located.offset = offset
            throw located.error(sourceFileName: sourceFileName)
        }
    }

    /// The start offset of the second entry with the duplicate's db and key that `filter` accepts (what the
    /// loader inserted), or nil when the records cannot be read again or do not show it.
    static func secondOccurrence(of duplicate: SQLiteDuplicateKey, filter: KeyFilter,
                                 in rereadRecords: () throws -> () throws -> RDBRecord?) -> Int64? {
        var filter = filter
        var seen = false
        do {
            let next = try rereadRecords()
            while let record = try next() {
                filter.observe(record)
                guard case .entry(let entry) = record, entry.db == duplicate.db, entry.key == duplicate.key,
                      filter.isEmpty || filter.accepts(entry) else { continue }
                if seen { return entry.startOffset }
                seen = true
            }
        } catch {
            return nil
        }
        return nil
    }

    private static func exportRecords(to outputPath: String, sourceFileName: String?, options: SQLiteExportOptions,
                                      next: () throws -> RDBRecord?, onRecord: (SQLiteExportSummary) -> Void,
                                      onLoaded: (SQLiteExportSummary) -> Void, fileSystem: FileSystem)
        throws -> SQLiteExportSummary
    {
        try checkOutput(outputPath, force: options.force)
        let tmp = temporaryPath(for: outputPath)
        removeTemporary(tmp, fileSystem: fileSystem)
        TemporaryFileCleanup.register(tmp)
        defer { TemporaryFileCleanup.unregister() }
        do {
            let summary: SQLiteExportSummary
            switch options.layer {
            case .cAPI:
                let sink = try SQLiteSink(path: tmp, sourceFileName: sourceFileName, filter: options.filter,
                                          layout: options.layout)
                defer { sink.close() }
                while let record = try next() {
                    try sink.consume(record)
                    onRecord(sink.summary)
                }
                onLoaded(sink.summary)
                summary = try sink.finish()
            case .grdb:
                var config = Configuration()
                config.label = "sqlite-export"
                let queue = try DatabaseQueue(path: tmp, configuration: config)
                summary = try queue.inDatabase { db in
                    let loader = try SQLiteLoader(backend: GRDBBackend(db), filter: options.filter,
                                                  layout: options.layout, sourceFileName: sourceFileName)
                    do {
                        while let record = try next() {
                            try loader.consume(record)
                            onRecord(loader.summary)
                        }
                        onLoaded(loader.summary)
                        try loader.finish()
                    } catch {
                        loader.abandon()
                        throw error
                    }
                    return loader.summary
                }
                try queue.close()
            }
            try publish(temporary: tmp, as: outputPath, fileSystem: fileSystem)
            return summary
        } catch {
            removeTemporary(tmp, fileSystem: fileSystem)
            throw error
        }
    }

    /// Puts a complete, closed database file under its final name: fsync, rename, directory fsync
    /// (`FileSystem.publish`), the temporary file removed if any step fails.
    public static func publish(temporary tmp: String, as outputPath: String,
                               fileSystem: FileSystem = POSIXFileSystem()) throws {
        do {
            try fileSystem.publish(temporary: tmp, as: outputPath)
        } catch let e as FileIOError {
            throw SQLiteExportError("\(outputPath): cannot publish \(tmp): \(e)")
        }
    }

    /// Removes the temporary database and any journal SQLite left next to it.
    static func removeTemporary(_ tmp: String, fileSystem: FileSystem) {
        for suffix in ["", "-journal", "-wal", "-shm"] { try? fileSystem.remove(tmp + suffix) }
    }
}

/// Removes the export's temporary file when the process is interrupted (SIGINT/SIGTERM/SIGHUP).
/// The path is kept as a C string so the signal handler only calls async-signal-safe functions.
enum TemporaryFileCleanup {
    nonisolated(unsafe) static var path: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) static var installed = false

    static func register(_ tmp: String) {
        let old = path
        path = strdup(tmp)
        free(old)
        if !installed {
            installed = true
            for sig in [SIGINT, SIGTERM, SIGHUP] {
                signal(sig) { sig in
                    if let p = TemporaryFileCleanup.path { unlink(p) }
                    signal(sig, SIG_DFL)
                    raise(sig)
                }
            }
        }
    }

    static func unregister() {
        let old = path
        path = nil
        free(old)
    }
}
