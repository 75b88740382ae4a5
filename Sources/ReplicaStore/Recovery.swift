import Base
/// What a recovery scan of a data directory found. Produced without modifying anything; a writable
/// open then applies it (cuts the torn tail, deletes leftovers).
///
/// Cost: the manifest, the snapshot's first records (header and AUX fields, not its keys) and one
/// sequential pass over the log with CRC-32; a writable open (`sealed: .trust`) reads only the last
/// segment, so its time grows with neither the log nor the dataset.
struct RecoveryResult {
    var manifest: Manifest?
    var scans: [SegmentScan]
    /// The snapshot's AUX replication fields as found in the file now.
    var snapshotAux: SnapshotAux?
    var snapshotHeader: String?
    /// The torn tail of the last segment, when there is one: where it is cut and why.
    var tornTail: TornTail?
    /// Files in the directory the manifest does not name (leftovers of interrupted operations).
    var leftovers: [String]
    /// The highest NNNNNN in any of our file names found, so new names never reuse one.
    var highestFileNumber: Int
    /// Sealed segments taken on trust (`sealed: .trust`): present and of a plausible size, but their
    /// records not read. `ReplicaStore.verifySealedSegments` reads them in the background.
    var unverified: [SegmentScan] = []
    /// A full sync received completely and fsynced but not yet published (its marker and RDB are not
    /// leftovers): a writable open hands it to the caller to publish (`ReplicaStore.receivedSnapshot`).
    var received: ReceivedSnapshot? = nil
    /// Received-snapshot markers that were not usable, and why (their files are leftovers).
    var discardedReceived: [String] = []
    /// Segments the manifest file did not name yet but that continue the log (a roll whose manifest write
    /// had not happened, SegmentRoll.swift): appended to `manifest.segments`; a writable open names them.
    var adopted: [SegmentRecord] = []
    /// What follows the last boundary in the segments before an adopted one (a discarded unfinished
    /// command whose truncation was not yet durable): cut by a writable open.
    var adoptionCuts: [TornTail] = []
    /// The segments before adopted ones, whose data a writable open fsyncs before naming them.
    var adoptionPredecessors: [String] = []

    var position: ReplicationPosition? {
        guard let m = manifest, let last = scans.last else { return nil }
        let db = scans.reversed().lazy.compactMap(\.lastStreamDB).first ?? m.snapshot.streamDB
        return ReplicationPosition(replid: m.replid, offset: last.endOffset, streamDB: db)
    }
}

/// A torn or corrupt tail of the last log segment, cut at recovery.
public struct TornTail: Sendable, Equatable, Codable {
    public var file: String
    /// File offset of the first invalid record (the file is truncated to this size).
    public var fileOffset: Int64
    /// Bytes after `fileOffset`.
    public var bytes: Int64
    public var reason: String
}

/// Recovery of a data directory at open: what each finding leads to. Nothing is guessed: a case either has
/// one safe reading (then recovery applies it) or is refused with an error naming the file and byte offset.
///
/// | finding                                                       | action                                            |
/// |---------------------------------------------------------------|---------------------------------------------------|
/// | no `MANIFEST`                                                 | empty store (PSYNC ? -1); our files are leftovers, deleted |
/// | `MANIFEST.tmp` or `MANIFEST.compaction.tmp` present (with or without `MANIFEST`) | leftover of a replacement that never returned (nothing acknowledged depends on it, whatever its sequence): deleted |
/// | `MANIFEST` without the checksum field, or a malformed/duplicated one | refused (`badManifest`, the field's offset) |
/// | `MANIFEST` checksum mismatch (any changed byte)               | refused (`badManifest`, offset of the checksum)   |
/// | `MANIFEST` version 1 (no checksum)                            | refused, telling the user to full-sync into a new directory |
/// | `MANIFEST` version > 2, other format, sequence < 1, bad fields | refused (`badManifest`)                          |
/// | sequence older than a `MANIFEST.tmp`'s                        | not a conflict: the temp file is a leftover (row 2); `MANIFEST` is the last acknowledged state |
/// | snapshot file missing                                         | refused (`missingFile`)                           |
/// | snapshot size differs from the manifest's                     | refused (`badSnapshot`)                           |
/// | snapshot not an RDB / unreadable header or AUX                | refused (`badSnapshot`, offset in the snapshot)   |
/// | snapshot AUX differ from the AUX recorded at publish          | refused (`snapshotMismatch`)                      |
/// | snapshot AUX repl-id/repl-offset/repl-stream-db differ from the manifest's snapshot replid/offset/streamDB | refused (`snapshotMismatch`) |
/// | snapshot CRC-64 trailer differs from the manifest's `crc64`   | refused (`badSnapshot`, offset of the trailer)    |
/// | a log segment missing                                         | refused (`missingFile`)                           |
/// | damage in a segment before the last, or a gap between segments | refused (`logDamage`, file offset)              |
/// | invalid records at the end of the last segment, no valid record after them | torn tail: cut (truncate + fsync); only unacknowledged bytes are lost |
/// | invalid record in the last segment with a valid record after it | refused (`logDamage`): damage, not a torn write |
/// | `continues` records at the end of the last segment without their closing record (an unfinished command) | torn tail: cut at the first record of the run, so the log ends at the boundary before the command; only unacknowledged bytes are lost (the ACKed offset never passes a boundary) |
/// | a segment before the last ending on a `continues` record      | refused (`logDamage`): a run never spans segments |
/// | the log ends before a compacted snapshot's offset               | refused (`logDamage`): compaction fsyncs the log past it first |
/// | a sealed segment shorter than its stream bytes (writable open, which takes sealed segments on trust) | refused (`logDamage`) |
/// | `DAMAGED` present (the background verification found a damaged sealed segment) | refused (`logDamage`, the file and offset it names) |
/// | a `log-N.seg` the manifest does not name, numbered after its last segment, whose first record starts exactly where the log ends | a segment rolled to before the manifest write naming it (SegmentRoll.swift): adopted, and so is each further one that continues it; a writable open cuts what follows the last boundary in the segments before it, fsyncs them and writes the manifest; the torn-tail rules apply to the last one adopted |
/// | such a file that is empty or does not continue the log         | the next segment created ahead of a roll, or a roll whose first records were not fsynced before a power loss: a leftover |
/// | files of ours the manifest does not name (`fullsync-*.tmp`, old snapshots/segments, temp files) | deleted at a writable open |
/// | `snapshot-N.received` valid, naming `snapshot-N.rdb` of the recorded size, CRC-64 trailer and AUX position, not the manifest's snapshot (with or without `MANIFEST`) | a full sync received and fsynced before a crash: kept; `follow` verifies it (unless the marker says it was) and publishes it, then PSYNCs at its position (+CONTINUE) |
/// | several such markers                                          | the highest N is kept, the others are leftovers   |
/// | `snapshot-N.received` naming the manifest's snapshot          | a publish that crashed before deleting its marker: the marker is a leftover |
/// | `snapshot-N.received` unreadable, checksum mismatch, or its RDB missing, of another size, trailer or AUX | not a complete transfer: marker and RDB are leftovers (reason in `discardedReceived`); the manifest's state is untouched, the master sends a new full sync |
/// | `snapshot-N.received.tmp`, `fullsync-N.rdb.tmp`, `snapshot-N.rdb` without a marker (not named) | partial transfer or marker never written: leftovers, deleted |
enum Recovery {
    static let ourFilePrefixes = ["snapshot-", "log-", "fullsync-"]

    /// How sealed segments (every segment but the last) are checked at open.
    enum Sealed {
        /// Every record read and CRC-checked (read-only looks: `status`, `StoreReadView`).
        case scan
        /// Taken on trust when the manifest records the next segment's start db: the file must exist and
        /// hold at least its stream bytes; the records are verified later, in the background, so a
        /// writable open costs the same at any log size. A segment was fsynced before the next one was
        /// created, and every record carries a CRC, so what the background finds is damage, not a torn write.
        case trust
    }

    static func isOurs(_ name: String) -> Bool {
        ourFilePrefixes.contains { name.hasPrefix($0) } || name == Manifest.tempFileName || name == Manifest.compactionTempFileName || name == FollowerState.tempFileName
    }

    /// The number in `prefix-NNNNNN.ext`, if any.
    static func fileNumber(_ name: String) -> Int? {
        guard let dash = name.firstIndex(of: "-") else { return nil }
        let digits = name[name.index(after: dash)...].prefix { $0.isNumber }
        return Int(digits)
    }

    static func run(fs: FileSystem, directory: String, sealed: Sealed = .scan) throws -> RecoveryResult {
        let names = try fs.list(directory)
        if names.contains(DamageMarker.fileName) { throw try DamageMarker.refusal(fs: fs, directory: directory) }
        let highest = names.filter(isOurs).compactMap(fileNumber).max() ?? 0
        let manifestPath = joinPath(directory, Manifest.fileName)
        guard names.contains(Manifest.fileName) else {
            let (received, discarded) = findReceived(fs: fs, directory: directory, names: names, manifestSnapshot: nil)
            let keep = Set(received.map { [$0.file, ReceivedSnapshot.markerName(forSnapshot: $0.file)] } ?? [])
            return RecoveryResult(manifest: nil, scans: [], snapshotAux: nil, snapshotHeader: nil, tornTail: nil,
                                  leftovers: names.filter { isOurs($0) && !keep.contains($0) }.sorted(), highestFileNumber: highest,
                                  received: received, discardedReceived: discarded)
        }
        let mfile = try fs.openForReading(manifestPath)
        let msize = try mfile.size()
        guard msize <= 64 << 20 else {
            throw StoreError(.badManifest, file: manifestPath, offset: nil, "manifest is \(msize) bytes, not plausible")
        }
        var manifest = try Manifest.decode(try mfile.readFully(at: 0, count: Int(msize)), path: manifestPath)
        mfile.close()

        // The snapshot: present, the size recorded, and AUX fields equal to what was recorded at publish.
        let snapPath = joinPath(directory, manifest.snapshot.file)
        guard names.contains(manifest.snapshot.file) else {
            throw StoreError(.missingFile, file: snapPath, offset: nil, "the snapshot named by \(Manifest.fileName) is missing")
        }
        let snap = try fs.openForReading(snapPath)
        defer { snap.close() }
        let snapSize = try snap.size()
        if snapSize != manifest.snapshot.size {
            throw StoreError(.badSnapshot, file: snapPath, offset: nil,
                             "snapshot is \(snapSize) bytes but \(Manifest.fileName) recorded \(manifest.snapshot.size)")
        }
        let (header, aux) = try SnapshotInspector.readPosition(file: snap, name: snapPath)
        if aux != manifest.snapshot.aux {
            throw StoreError(.snapshotMismatch, file: snapPath, offset: nil,
                             "snapshot AUX (\(aux.map(\.description) ?? "no replication AUX fields")) does not match \(Manifest.fileName) (\(manifest.snapshot.aux.map(\.description) ?? "no replication AUX fields"); position replid \(manifest.snapshot.replid) offset \(manifest.snapshot.offset))")
        }

        // The manifest's own snapshot fields against the file's AUX, then the CRC-64 trailer.
        let expectedDB = aux?.streamDB ?? 0
        if let problem = aux?.disagreement(replid: manifest.snapshot.replid, offset: manifest.snapshot.offset) ?? (
            manifest.snapshot.streamDB != expectedDB
                ? "repl-stream-db \(aux?.streamDB.map(String.init) ?? "(none, so 0)") differs from \(manifest.snapshot.streamDB)" : nil
        ) {
            throw StoreError(.snapshotMismatch, file: snapPath, offset: nil,
                             "snapshot AUX \(problem) in \(Manifest.fileName)'s snapshot record (refusing to resume from a position the snapshot does not have)")
        }
        let trailer = try SnapshotInspector.trailerCRC64(file: snap, size: snapSize, header: header).map { hexDigits($0, 16) }
        if trailer != manifest.snapshot.crc64 {
            throw StoreError(.badSnapshot, file: snapPath, offset: max(0, snapSize - 8),
                             "snapshot CRC-64 trailer \(trailer ?? "(none)") differs from \(Manifest.fileName)'s \(manifest.snapshot.crc64 ?? "(none)") (the file was replaced or damaged)")
        }

        // The log, segment by segment.
        var scans: [SegmentScan] = []
        var unverified: [SegmentScan] = []
        var torn: TornTail?
        for (i, seg) in manifest.segments.enumerated() {
            let path = joinPath(directory, seg.file)
            guard names.contains(seg.file) else {
                throw StoreError(.missingFile, file: path, offset: nil, "the log segment named by \(Manifest.fileName) is missing")
            }
            let file = try fs.openForReading(path)
            defer { file.close() }
            if sealed == .trust, i + 1 < manifest.segments.count, let db = manifest.segments[i + 1].startStreamDB {
                let next = manifest.segments[i + 1].start
                let size = try file.size()
                // At least one header per record and every stream byte: a shorter file cannot hold them.
                if size < next - seg.start {
                    throw StoreError(.logDamage, file: path, offset: size,
                                     "sealed segment is \(size) bytes, fewer than the \(next - seg.start) stream bytes it must hold (it starts at \(seg.start), the next segment starts at \(next)); refusing to start")
                }
                let scan = SegmentScan(file: seg.file, startOffset: seg.start, fileSize: size, validBytes: size,
                                       endOffset: next, lastStreamDB: db, records: 0, damage: nil)
                scans.append(scan)
                unverified.append(scan)
                continue
            }
            let scan = try LogScanner.scan(file: file, name: seg.file, startOffset: seg.start)
            let isLast = i == manifest.segments.count - 1
            if isLast {
                torn = try lastSegmentTail(scan, file: file, path: path)
            } else if let damage = scan.damage {
                throw StoreError(.logDamage, file: path, offset: damage.fileOffset,
                                 "\(damage.reason); this is not the last segment, so it is not a torn tail (refusing to start; \(scan.records) whole records before it)")
            } else if let run = scan.unfinished {
                throw StoreError(.logDamage, file: path, offset: scan.validBytes,
                                 "the segment ends inside a command (\(run.records) record(s) flagged continues, \(run.payloadBytes) bytes, without their closing record); this is not the last segment, so it is not a torn tail (refusing to start)")
            } else if !isLast {
                let next = manifest.segments[i + 1]
                if scan.endOffset != next.start {
                    throw StoreError(.logDamage, file: path, offset: scan.validBytes,
                                     "segment ends at offset \(scan.endOffset) but the next segment \(next.file) starts at \(next.start) (refusing to start)")
                }
            }
            scans.append(scan)
        }

        // Segments rolled to after MANIFEST was written (SegmentRoll.swift, rule 3): a log segment the
        // manifest does not name, numbered after its last one, whose first record starts exactly where the
        // log ends, continues the log; adopted in number order while each continues the one before.
        var adopted: [SegmentRecord] = []
        var cuts: [TornTail] = []
        var predecessors: [String] = []
        if let lastRecord = manifest.segments.last, let lastNumber = fileNumber(lastRecord.file) {
            let listed = Set(manifest.segments.map(\.file))
            let candidates = names.filter { $0.hasPrefix("log-") && $0.hasSuffix(".seg") && !listed.contains($0) }
                .compactMap { n in fileNumber(n).map { (n, $0) } }
                .filter { $0.1 > lastNumber }
                .sorted { $0.1 < $1.1 }
            for (name, _) in candidates {
                guard let prev = scans.last else { break }
                let path = joinPath(directory, name)
                let file = try fs.openForReading(path)
                defer { file.close() }
                let scan = try LogScanner.scan(file: file, name: name, startOffset: prev.endOffset)
                guard scan.endOffset > prev.endOffset else { break }
                let db = scans.reversed().lazy.compactMap(\.lastStreamDB).first ?? manifest.snapshot.streamDB
                if let t = torn { cuts.append(t) }
                predecessors.append(prev.file)
                torn = try lastSegmentTail(scan, file: file, path: path)
                scans.append(scan)
                adopted.append(SegmentRecord(file: name, start: prev.endOffset, startStreamDB: db))
            }
            manifest.segments += adopted
        }

        // A compacted snapshot's offset lies inside the log: the log must reach it (compaction fsyncs the
        // log up to it before switching the manifest).
        if let last = scans.last, last.endOffset < manifest.snapshot.offset {
            throw StoreError(.logDamage, file: joinPath(directory, last.file), offset: last.validBytes,
                             "the log ends at offset \(last.endOffset), before the snapshot's offset \(manifest.snapshot.offset) (refusing to start)")
        }

        var named: Set<String> = [Manifest.fileName, manifest.snapshot.file]
        for s in manifest.segments { named.insert(s.file) }
        let (received, discarded) = findReceived(fs: fs, directory: directory, names: names, manifestSnapshot: manifest.snapshot.file)
        if let received {
            named.insert(received.file)
            named.insert(ReceivedSnapshot.markerName(forSnapshot: received.file))
        }
        let leftovers = names.filter { isOurs($0) && !named.contains($0) }.sorted()
        return RecoveryResult(manifest: manifest, scans: scans, snapshotAux: aux, snapshotHeader: header,
                              tornTail: torn, leftovers: leftovers, highestFileNumber: max(highest, manifest.nextFileNumber - 1),
                              unverified: unverified, received: received, discardedReceived: discarded,
                              adopted: adopted, adoptionCuts: cuts, adoptionPredecessors: predecessors)
    }

    /// The last segment's torn tail (invalid records, or an unfinished command, after the last boundary
    /// with no valid record after them), or a refusal when a whole valid record follows the damage.
    private static func lastSegmentTail(_ scan: SegmentScan, file: DurableFile, path: String) throws -> TornTail? {
        if let damage = scan.damage {
            if let (at, start) = try LogScanner.findValidRecord(file: file, from: damage.fileOffset + 1,
                                                                 fileSize: scan.fileSize, minStart: scan.endOffset) {
                throw StoreError(.logDamage, file: path, offset: damage.fileOffset,
                                 "\(damage.reason); a whole valid record follows at byte \(at) (start offset \(start)), so this is damage inside the log, not a torn tail (refusing to start; to give up everything from byte \(damage.fileOffset) on, truncate the file to \(damage.fileOffset) bytes and start again)")
            }
            let reason = scan.unfinished.map { "\(damage.reason), after \($0.records) record(s) of an unfinished command (\($0.payloadBytes) bytes)" } ?? damage.reason
            return TornTail(file: scan.file, fileOffset: scan.validBytes, bytes: scan.fileSize - scan.validBytes, reason: reason)
        }
        if let run = scan.unfinished {
            return TornTail(file: scan.file, fileOffset: scan.validBytes, bytes: scan.fileSize - scan.validBytes,
                            reason: "unfinished command: \(run.records) record(s) flagged continues (\(run.payloadBytes) bytes) without their closing record")
        }
        return nil
    }
}
