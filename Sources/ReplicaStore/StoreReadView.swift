import Base
import RDB

/// A read-only, lock-free view of a data directory at the position it had when the view was opened:
/// the base snapshot and the log records up to that position, each file opened once.
///
/// It runs the same checks as `ReplicaStore.inspect` (manifest, snapshot header and AUX against the
/// manifest, a CRC scan of every log segment) and changes nothing: no lock is taken, no torn tail cut,
/// no leftover deleted, so it is safe while `follow` appends to the directory. The files stay open for
/// the view's life, so a publish or roll by the follower that deletes them afterwards (POSIX unlink keeps
/// open files readable) does not disturb the reader; the log is read only up to the records the scan
/// found whole, and segments are append-only, so what it reads does not change under it.
public final class StoreReadView {
    struct Segment {
        var name: String
        var file: DurableFile
        var start: Int64
        var validBytes: Int64
    }

    public let directory: String
    public let manifest: Manifest
    /// The position of the last whole log record (what `status` shows as the offset).
    public let position: ReplicationPosition
    /// The snapshot file's header text (e.g. `REDIS0010`).
    public let snapshotHeader: String
    let snapshotFile: DurableFile
    let segments: [Segment]
    private var closed = false

    private init(directory: String, manifest: Manifest, position: ReplicationPosition, snapshotHeader: String,
                 snapshotFile: DurableFile, segments: [Segment]) {
        self.directory = directory
        self.manifest = manifest
        self.position = position
        self.snapshotHeader = snapshotHeader
        self.snapshotFile = snapshotFile
        self.segments = segments
    }

    deinit { close() }

    /// The path of the base snapshot (as named when the view was opened).
    public var snapshotPath: String { joinPath(directory, manifest.snapshot.file) }

    /// Opens the view. Throws `StoreError` when the directory holds no full sync yet (`.invalidState`) or
    /// cannot be trusted (as `open` and `inspect` would). When the follower replaces files while the view
    /// is being opened (the manifest changed meanwhile), it looks again.
    public static func open(directory: String, fileSystem: FileSystem = POSIXFileSystem()) throws -> StoreReadView {
        var attempt = 0
        while true {
            let before = Manifest.currentBytes(directory: directory, fileSystem: fileSystem)
            var opened: [DurableFile] = []
            do {
                let r = try Recovery.run(fs: fileSystem, directory: directory)
                guard let m = r.manifest, let pos = r.position else {
                    throw StoreError(.invalidState, file: joinPath(directory, Manifest.fileName), offset: nil,
                                     "the data directory holds no full sync yet (nothing to read)")
                }
                let snap = try fileSystem.openForReading(joinPath(directory, m.snapshot.file))
                opened.append(snap)
                var segs: [Segment] = []
                for scan in r.scans {
                    let f = try fileSystem.openForReading(joinPath(directory, scan.file))
                    opened.append(f)
                    segs.append(Segment(name: scan.file, file: f, start: scan.startOffset, validBytes: scan.validBytes))
                }
                // The files opened are the ones the scan saw only if the manifest did not change meanwhile.
                guard Manifest.currentBytes(directory: directory, fileSystem: fileSystem) == before else {
                    throw StoreError(.invalidState, file: joinPath(directory, Manifest.fileName), offset: nil, "the manifest changed while the directory was opened")
                }
                if try snap.size() != m.snapshot.size {
                    throw StoreError(.badSnapshot, file: joinPath(directory, m.snapshot.file), offset: nil,
                                     "snapshot changed size while the directory was opened")
                }
                return StoreReadView(directory: directory, manifest: m, position: pos,
                                     snapshotHeader: r.snapshotHeader ?? "", snapshotFile: snap, segments: segs)
            } catch {
                for f in opened { f.close() }
                attempt += 1
                if attempt >= 20 || Manifest.currentBytes(directory: directory, fileSystem: fileSystem) == before { throw error }
            }
        }
    }

    /// The snapshot's bytes from its first byte, for an `RDBReader`.
    public func snapshotSource() -> FileByteSource { FileByteSource(file: snapshotFile) }

    /// Reads the log records in order, from the snapshot's offset up to the view's position, calling
    /// `body` with each; stops early when it returns false. Each record's CRC is checked again. After a
    /// compaction the first segment may begin before the snapshot's offset: records (and the part of a
    /// record) up to that offset are skipped, so the first entry starts exactly at the snapshot's offset. Clock
    /// records are not entries: their time comes with the entries after them (`LogEntry.arrivalMs`).
    public func forEachLogRecord(_ body: (LogEntry) throws -> Bool) throws {
        var clock: Int64?
        for seg in segments {
            guard try LogScanner.forEachEntry(file: seg.file, path: joinPath(directory, seg.name), start: seg.start,
                                              fileSize: seg.validBytes, base: manifest.snapshot.offset, end: .max,
                                              clock: &clock, body) else { return }
        }
    }

    /// Closes the files (also done at deinit).
    public func close() {
        guard !closed else { return }
        closed = true
        snapshotFile.close()
        for s in segments { s.file.close() }
    }
}
