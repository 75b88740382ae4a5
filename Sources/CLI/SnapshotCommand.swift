import ArgumentParser
import Foundation
import Keyspace
import RDB
import RDBTools
import ReplicaStore
import SQLiteExport

/// `redis-replica snapshot --dir DIR --out FILE`: the master's dataset at a data directory's position,
/// as an RDB file a Redis replica can start from with `+CONTINUE`, or as SQLite.
public struct SnapshotCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Write the dataset at a data directory's position (or an earlier offset) as RDB or SQLite.",
        discussion: """
        Loads the directory's base snapshot, applies the log's commands up to the latest committed position \
        (or the last command boundary outside MULTI/EXEC at or before --at-offset), and writes the result. \
        Read-only and lock-free: safe while `follow` runs on DIR, and when it is stopped.

        An RDB carries the AUX fields repl-id, repl-offset and repl-stream-db of that position: a \
        redis-server started on it with `replicaof <master>` in its configuration resumes with PSYNC and \
        gets +CONTINUE while the master's backlog still holds the offset. SQLite output records the same \
        position in meta (repl_id, repl_offset, repl_stream_db).

        The output goes to a temporary file next to FILE, is fsynced, renamed over FILE and the directory \
        fsynced. An existing FILE is refused without --force. Exit status 0, or 1 with an error naming \
        the file, offset or command (an offset outside the log, a dataset that diverged from the master).
        """
    )

    public enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        case rdb, sqlite
    }

    @Option(name: .long, help: "The data directory (of `follow`).")
    var dir: String

    @Option(name: .long, help: "The file to write.")
    var out: String

    @Option(name: .long, help: "rdb or sqlite.")
    var format: Format = .rdb

    @Option(name: .customLong("rdb-version"), help: "Target RDB version: 7 (Redis 3.2) ... 12 (Redis 7.4+), or 80 (Valkey 9); default: the base snapshot's, as `rdb convert` picks it.")
    var rdbVersion: Int?

    @Option(name: .customLong("at-offset"), help: "Write the dataset at the last command boundary at or before this replication offset.")
    var atOffset: Int64?

    @Flag(help: "Replace FILE if it exists.")
    var force = false

    @Flag(name: .customLong("quiet"), help: "Print nothing on success.")
    var quiet = false

    public init() {}

    public func validate() throws {
        if let v = rdbVersion, !RDBWriterOptions.isWritable(v) {
            throw ValidationError("--rdb-version must be \(RDBWriterOptions.writableVersionsText)")
        }
        if rdbVersion != nil && format == .sqlite {
            throw ValidationError("--rdb-version applies to --format rdb only")
        }
        if let o = atOffset, o < 0 { throw ValidationError("--at-offset must be 0 or more") }
    }

    public func run() throws {
        do {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw SnapshotBuildError(code: .badSnapshot, message: "no such directory: \(dir)")
            }
            // Refuse an existing output before the (possibly long) load.
            if !force && FileManager.default.fileExists(atPath: out) {
                throw SnapshotBuildError(code: .badSnapshot, message: "\(out) already exists (use --force to replace it)")
            }
            let start = Date()
            let dataset = try DatasetAtPosition.build(directory: dir, atOffset: atOffset)
            let summary: String
            switch format {
            case .rdb:
                let version = rdbVersion ?? dataset.defaultRDBVersion
                let bytes = try Self.writeRDB(dataset, to: out, rdbVersion: version, force: force)
                summary = "RDB \(version), \(bytes) bytes"
            case .sqlite:
                let s = try Self.writeSQLite(dataset, to: out, sourceName: dir, force: force)
                summary = "SQLite, \(s.rows) rows"
            }
            guard !quiet else { return }
            let p = dataset.position
            var line = "\(out): \(dataset.keyspace.keyCount) keys at replid \(p.replid) offset \(p.offset) stream db \(p.streamDB)"
            if let asked = atOffset, asked != p.offset { line += " (last command boundary at or before \(asked))" }
            line += "; \(summary); snapshot offset \(dataset.snapshotOffset) + \(dataset.commandsApplied) commands from the log"
            line += String(format: " (%.2f s)", Date().timeIntervalSince(start))
            print(line)
        } catch {
            FileHandle.standardError.write(Data("redis-replica snapshot: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Writes `dataset` as an RDB with its position in the AUX fields, through `AtomicOutputFile`
    /// (temporary file, fsync, rename, directory fsync). Returns the bytes written.
    public static func writeRDB(_ dataset: DatasetAtPosition, to path: String, rdbVersion: Int, force: Bool) throws -> Int64 {
        let file = try AtomicOutputFile(path: path, force: force)
        do {
            let writer = try RDBWriter(sink: AtomicOutputSink(file: file), options: RDBWriterOptions(rdbVersion: rdbVersion))
            try dataset.keyspace.write(to: writer, aux: RDBAuxInfo(replication: dataset.position))
            try file.commit()
            return writer.bytesWritten
        } catch {
            file.discard()
            throw error
        }
    }

    /// Writes `dataset` with the SQLite exporter (temporary file, renamed into place); the position is in
    /// `meta` as repl_id, repl_offset and repl_stream_db.
    public static func writeSQLite(_ dataset: DatasetAtPosition, to path: String, sourceName: String, force: Bool) throws -> SQLiteExportSummary {
        let records = dataset.records(rdbVersion: dataset.defaultRDBVersion)
        let name = "\(sourceName) at offset \(dataset.position.offset)"
        return try SQLiteExporter.export(to: path, sourceFileName: name, options: SQLiteExportOptions(force: force),
                                         next: { records.next() })
    }
}

/// A `ByteSink` into an `AtomicOutputFile`.
struct AtomicOutputSink: ByteSink {
    let file: AtomicOutputFile
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws { try file.write(bytes) }
}
