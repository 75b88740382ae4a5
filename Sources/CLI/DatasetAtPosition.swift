import Base
import Foundation
import Keyspace
import RDB
import ReplicaStore

/// Why a dataset could not be rebuilt at the asked position.
public struct SnapshotBuildError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// `--at-offset` is before the base snapshot's offset: the log cannot go back in time.
        case beforeSnapshot
        /// `--at-offset` is past the last whole log record.
        case pastEnd
        /// The stream holds a command the dataset cannot take: the dataset is no longer the master's.
        case diverged
        /// The log's bytes are not RESP commands.
        case badStream
        /// The base snapshot could not be loaded.
        case badSnapshot
    }

    public var code: Code
    public var message: String
    public var description: String { message }
}

/// The master's dataset as it was at a command boundary of a data directory: the base snapshot loaded
/// into a `Keyspace`, then the log's commands applied by a `ReplicaApplier` (the stream's SELECTs
/// included; the log starts at the snapshot's offset with the snapshot's `repl-stream-db` selected), as
/// a Redis replica loads its RDB and then applies what its master streams.
public struct DatasetAtPosition: Sendable {
    public var keyspace: Keyspace
    /// Where the dataset stands: the directory's current replid, the offset of the last command applied
    /// (a boundary outside MULTI/EXEC), and the db the stream has selected there. This is what goes into
    /// the RDB's `repl-id`/`repl-offset`/`repl-stream-db` AUX fields, so a Redis replica started on the
    /// file asks its master `PSYNC <replid> <offset+1>`.
    public var position: ReplicationPosition
    /// The base snapshot's header (version and magic), for the default output version.
    public var snapshotHeader: RDBHeader?
    /// The directory's end when it was read (the default position).
    public var directoryEnd: Int64
    public var snapshotOffset: Int64
    /// Commands applied from the log.
    public var commandsApplied: Int64

    /// Rebuilds the dataset of `directory` at its latest position, or at the last command boundary at or
    /// before `atOffset`. Reads the directory through `StoreReadView`: no lock, nothing changed, safe while
    /// `follow` runs.
    /// - Parameter nowMs: the clock for relative expiries that Redis 6.2 masters propagate (`EXPIRE`,
    ///   `SETEX`) where the log does not say when they arrived: a log with clock records (`LogRecord`) makes
    ///   them absolute at their arrival time, as a 6.2 replica does when it applies them; an older log at `nowMs`.
    public static func build(directory: String, atOffset: Int64? = nil,
                             fileSystem: FileSystem = POSIXFileSystem(),
                             nowMs: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) throws -> DatasetAtPosition {
        let view = try StoreReadView.open(directory: directory, fileSystem: fileSystem)
        defer { view.close() }
        let snap = view.manifest.snapshot
        let end = view.position.offset
        let target = atOffset ?? end
        if target < snap.offset {
            throw SnapshotBuildError(code: .beforeSnapshot, message:
                "offset \(target) is before the base snapshot's offset \(snap.offset) (\(snap.file)): the log starts there; choose an offset from \(snap.offset) to \(end)")
        }
        if target > end {
            throw SnapshotBuildError(code: .pastEnd, message:
                "offset \(target) is past the end of the log (the directory's position is offset \(end)); choose an offset from \(snap.offset) to \(end)")
        }

        // The base snapshot.
        let loader: KeyspaceLoader
        do {
            let reader = RDBReader(source: view.snapshotSource(), fileName: view.snapshotPath)
            loader = try KeyspaceLoader.load(reader)
        } catch {
            throw SnapshotBuildError(code: .badSnapshot, message: "\(view.snapshotPath): cannot load the base snapshot: \(error)")
        }

        // The log, command by command, up to the last boundary at or before the target (`StreamReplay`, the
        // replay `follow`'s dataset uses too).
        var replay = StreamReplay(keyspace: loader.keyspace, selectedDB: snap.streamDB, offset: snap.offset)
        if target > snap.offset {
            try view.forEachLogRecord { record in
                replay.feed(record.payload, nowMs: record.arrivalMs ?? nowMs, upTo: target)
                if let e = replay.streamError {
                    throw SnapshotBuildError(code: .badStream, message: "\(directory): log: \(e)")
                }
                if let d = replay.divergence {
                    throw SnapshotBuildError(code: .diverged, message:
                        "the dataset diverged from the master at offset \(d.offset) on command \(d.command) (\(d.reason)); no snapshot is written from a diverged dataset")
                }
                return !(replay.stoppedAtLimit || replay.appliedOffset >= target)
            }
        }
        let reachedTarget = replay.stoppedAtLimit || replay.appliedOffset >= target
        // The log ends on a complete command outside MULTI, so its end is always reached as a boundary.
        if !reachedTarget && target == end && replay.bufferedBytes > 0 {
            throw SnapshotBuildError(code: .badStream, message:
                "\(directory): the log ends inside a command at offset \(replay.appliedOffset) (\(replay.bufferedBytes) bytes)")
        }
        let boundary = replay.boundary
        let applier = replay.applier
        let applied = replay.commands
        return DatasetAtPosition(
            keyspace: applier.keyspace,
            position: ReplicationPosition(replid: view.manifest.replid, offset: boundary.offset, streamDB: boundary.streamDB),
            snapshotHeader: loader.header, directoryEnd: end, snapshotOffset: snap.offset, commandsApplied: applied)
    }
}

extension DatasetAtPosition {
    /// The RDB version `rdb convert` would pick for the base snapshot (the same, capped at 12; Valkey's
    /// files become 11).
    public var defaultRDBVersion: Int {
        guard let h = snapshotHeader else { return RDBWriterOptions.newestVersion }
        return RDBWriterOptions.defaultVersion(forInput: h.version, magic: h.magic)
    }

    /// The dataset as RDB records in file order, for a record consumer such as `SQLiteSink`: header,
    /// the replication AUX fields of `position`, function libraries, module AUX, then each database
    /// ascending (SELECTDB, RESIZEDB, its keys), then EOF. Keys are materialized one database at a time.
    public func records(rdbVersion: Int) -> AnyIterator<RDBRecord> {
        var queue: [RDBRecord] = [.header(RDBHeader(magic: .redis, version: rdbVersion))]
        queue.append(.aux(key: Array("repl-stream-db".utf8), value: Array(String(position.streamDB).utf8)))
        queue.append(.aux(key: Array("repl-id".utf8), value: Array(position.replid.utf8)))
        queue.append(.aux(key: Array("repl-offset".utf8), value: Array(String(position.offset).utf8)))
        for f in keyspace.functions { queue.append(.function(code: f)) }
        for m in keyspace.moduleAux { queue.append(.moduleAux(m)) }
        var dbs = keyspace.databases.keys.sorted()[...]
        var i = 0
        var done = false
        var current: (db: Int, keys: Database.Iterator)?
        let ks = keyspace
        return AnyIterator {
            if i < queue.count {
                defer { i += 1 }
                return queue[i]
            }
            while true {
                if current != nil, let kv = current!.keys.next() {
                    let e = kv.value
                    return .entry(RDBEntry(db: current!.db, key: kv.key, value: e.value.rdbValue, expireAtMs: e.expireAtMs,
                                           lruIdleSeconds: e.lruIdleSeconds, lfuFreq: e.lfuFreq, rdbType: 0))
                }
                current = nil
                if done { return nil }
                guard let db = dbs.popFirst() else {
                    done = true
                    return .eof(storedChecksum: nil, computedChecksum: nil)
                }
                let d = ks.database(db)
                var expires: UInt64 = 0
                for (_, e) in d where e.expireAtMs != nil { expires += 1 }
                current = (db, d.makeIterator())
                queue = [.resizeDB(dbSize: UInt64(d.count), expiresSize: expires)]
                i = 0
                return .selectDB(db)
            }
        }
    }
}
