import Base

/// What one compaction did.
public struct CompactionOutcome: Sendable, Equatable {
    /// The new base snapshot, as recorded in the manifest.
    public var snapshot: SnapshotRecord
    /// The old snapshot and the segments deleted.
    public var removedFiles: [String]
    /// Segments dropped from the manifest but kept on disk because a log reader (a downstream replica)
    /// still reads them; deleted when it has moved past them, or at the next writable open.
    public var retainedFiles: [String]
    /// Files that could not be deleted (they are leftovers now, deleted at the next writable open).
    public var removeFailures: [String]
}

/// **Compaction**: replacing the base snapshot and the log before it by a snapshot of the dataset at a
/// later command boundary, so the log does not grow until the next full sync.
///
/// The dataset is written by the caller (on its own thread; the store's lock is not held, so appends,
/// ACKs and rolls go on meanwhile), then the store switches. The sequence, and what a crash after each
/// step leaves (the manifest is the commit point; everything not named by it is a leftover that the next
/// writable open deletes):
///
/// 1. reserve `snapshot-NNNNNN.rdb.tmp`; the caller writes the RDB into it; fsync, close. Crash: a
///    leftover temp file; the old manifest names the old snapshot and the whole log: same position.
/// 2. read the file's header, AUX fields and CRC-64 trailer back: its `repl-id`/`repl-offset`/
///    `repl-stream-db` must be the position asked for, or it is deleted and nothing changes.
/// 3. fsync the log up to the snapshot's offset (the log must cover the new snapshot: recovery refuses
///    a log that ends before its snapshot).
/// 4. rename it to `snapshot-NNNNNN.rdb`, fsync the directory. Crash: an unnamed snapshot, a leftover.
/// 5. replace the manifest: the new snapshot, the segments from the one holding the snapshot's offset on,
///    `compaction` = time, offset, lineage, count. Written to `MANIFEST.compaction.tmp`, fsynced and
///    renamed over `MANIFEST` under `manifestLock` (no other manifest write comes in between) and
///    **outside the store's lock** (appends, ACKs and rolls go on); under the lock only the in-memory
///    switch, which keeps the segments rolled to meanwhile (the next manifest write names them; until
///    then recovery adopts them, SegmentRoll.swift); then the directory fsync. Crash before the rename:
///    the old state (the temp file is a leftover); after it, before or after the directory fsync: the old
///    or the new state. Both recover to the same position, because the log is the same bytes either way
///    and nothing is deleted before the directory fsync.
/// 6. delete the old snapshot and the segments wholly before the snapshot's offset (unless a log reader
///    still needs them, see `LogPins.swift`), fsync the directory. Crash: leftovers.
///
/// **The segment that straddles the snapshot's offset is kept whole**: its records before the offset stay
/// in it (the snapshot's offset is a command boundary, not necessarily a record boundary, and a sealed
/// segment is never rewritten). The manifest's first segment then starts at or before the snapshot's
/// offset; readers (`LogTail`, `StoreReadView`, recovery's position) start after the snapshot's offset.
/// The next compaction past it deletes it.
extension ReplicaStore {
    /// Stream bytes in the log after the snapshot's offset: what `follow --compact-after-bytes` compares.
    /// Read without the store's lock (StoreWatch.swift); while a full sync or compaction publishes, the two
    /// offsets may come from either side of it, which only moves the next threshold check.
    public var logStreamBytesSinceSnapshot: Int64 {
        let base = published.snapshotOffset.load(ordering: .acquiring)
        return base < 0 ? 0 : max(0, published.endOffset.load(ordering: .acquiring) - base)
    }

    /// Compacts: `write` writes an RDB of the dataset at `position` (a command boundary outside MULTI/EXEC
    /// of the lineage `lineage`, with AUX `repl-id`, `repl-offset` and `repl-stream-db` equal to it) into
    /// the file it is given, then the store makes it the base (see the type's steps). Throws without
    /// changing anything when the position is not in the log, the lineage was replaced by a full sync
    /// meanwhile, or the file's AUX fields differ; a failure after the manifest switch began poisons the
    /// store, as any failed manifest write does.
    public func compact(at position: ReplicationPosition, lineage: String,
                        write body: (DurableFile) throws -> Void) throws -> CompactionOutcome {
        try compact(at: position, lineage: lineage, beforeCommit: { _ in }, write: body)
    }

    /// `compact`, with `beforeCommit(attempt)` called (attempt 0) between writing the new manifest's temp
    /// file and renaming it (tests append and roll there: the switch keeps the new segments).
    func compact(at position: ReplicationPosition, lineage: String, beforeCommit: (Int) throws -> Void,
                 write body: (DurableFile) throws -> Void) throws -> CompactionOutcome {
        guard ReplicationID.isValid(position.replid) else {
            throw StoreError(.invalidArgument, file: nil, offset: nil, "replid \"\(position.replid)\" is not 40 hex characters")
        }
        let (tmpName, finalName): (String, String) = try lock.withLock {
            try checkUsable()
            try checkCompactable(position, lineage: lineage)
            let n = nextFileNumber
            nextFileNumber += 1
            return ("snapshot-\(format6(n)).rdb.tmp", "snapshot-\(format6(n)).rdb")
        }
        let tmpPath = joinPath(directory, tmpName)
        let finalPath = joinPath(directory, finalName)
        var renamed = false
        defer { if !renamed { try? fs.remove(tmpPath) } }

        // 1, 2: write, fsync, read the position back.
        try fs.writeSynced(tmpPath, body)
        let record = try inspectCompacted(tmpPath, name: finalName, position: position)

        // 3: the log covers the snapshot's offset durably.
        if durableOffset < position.offset { try sync() }

        // 4: the final name, durable; still a leftover until the manifest names it.
        try fs.rename(tmpPath, finalPath)
        renamed = true
        do {
            try fs.syncDirectory(directory)
        } catch {
            try? fs.remove(finalPath)
            throw error
        }

        // 5: the switch (see `switchManifest`): no fsync under the lock.
        let (oldSnapshot, dropped) = try switchManifest(position, lineage: lineage, record: record, finalPath: finalPath,
                                                         beforeCommit: beforeCommit)

        // 6: delete what is no longer needed.
        var removed: [String] = []
        var failures: [String] = []
        for name in [oldSnapshot] + releasableRetained() {
            do {
                try fs.remove(joinPath(directory, name))
                removed.append(name)
            } catch {
                failures.append(name)
            }
        }
        try? fs.syncDirectory(directory)
        let kept = lock.withLock { retained.map(\.record.file) }
        return CompactionOutcome(snapshot: record, removedFiles: removed,
                                 retainedFiles: dropped.map(\.file).filter { kept.contains($0) }, removeFailures: failures)
    }

    /// Step 5, under `manifestLock` (no other manifest write can come in between; see SegmentRoll.swift):
    /// prepares the new manifest under the lock, writes and fsyncs it and renames it over MANIFEST outside
    /// the lock, then switches in memory under the lock (rolls meanwhile only appended segments: they stay),
    /// and fsyncs the directory. Returns the old snapshot and the dropped segments.
    private func switchManifest(_ position: ReplicationPosition, lineage: String, record: SnapshotRecord, finalPath: String,
                                beforeCommit: (Int) throws -> Void) throws -> (String, [SegmentRecord]) {
        let tmpPath = joinPath(directory, Manifest.compactionTempFileName)
        let manifestPath = joinPath(directory, Manifest.fileName)
        return try manifestLock.withLock {
            // 5a (lock): the manifest to write, from the current one.
            let (base, dropCount, written, bytes): (Manifest, Int, Manifest, [UInt8])
            do {
                (base, dropCount, written, bytes) = try lock.withLock {
                    try checkUsable()
                    try checkCompactable(position, lineage: lineage)
                    guard let m = manifest, durable >= position.offset else {
                        throw StoreError(.invalidState, file: directory, offset: position.offset, "the log is not durable up to the compaction's offset")
                    }
                    let keepFrom = m.segments.lastIndex { $0.start <= position.offset } ?? 0
                    var new = m
                    new.snapshot = record
                    new.segments = Array(m.segments[keepFrom...])
                    new.compaction = CompactionRecord(unixMs: options.clock(), offset: position.offset,
                                                      fullSyncSnapshot: m.lineage, count: (m.compaction?.count ?? 0) + 1)
                    let bytes = try diskForm(sequenced(new)).encoded()
                    return (m, keepFrom, try Manifest.decode(bytes, path: manifestPath), bytes)
                }
            } catch {
                try? fs.remove(finalPath)
                throw error
            }
            let dropped = Array(base.segments[..<dropCount])
            // 5b (no lock): the temp file, durable; sizes of the segments it drops (sealed, so fixed).
            do {
                try fs.writeSynced(tmpPath) { try $0.write(bytes) }
                try beforeCommit(0)
                try lock.withLock { try checkUsable() }
            } catch {
                try? fs.remove(tmpPath)
                try? fs.remove(finalPath)
                throw error
            }
            let sizes = dropped.map { fileSize($0.file) }
            // 5c: the rename (no lock: `manifestLock` keeps other manifest writes and `close` out), then the
            // in-memory switch under the lock.
            do {
                try fs.rename(tmpPath, manifestPath)
            } catch {
                throw lock.withLock { poison(error, "switching the manifest to the compacted snapshot") }
            }
            lock.withLock {
                guard var m = manifest else { return }
                m.snapshot = written.snapshot
                m.segments.removeFirst(dropCount)
                m.compaction = written.compaction
                m.sequence = written.sequence
                m.nextFileNumber = max(m.nextFileNumber, written.nextFileNumber)
                manifest = m
                manifestBehind = written.segments.count != m.segments.count
                for (i, s) in dropped.enumerated() {
                    retained.append(RetainedSegment(record: s, end: base.segments[i + 1].start))
                    earlierSegmentsBytes = max(0, earlierSegmentsBytes - sizes[i])
                }
            }
            // 5d (no lock): the rename durable. Nothing is deleted before this.
            do {
                try fs.syncDirectory(directory)
            } catch {
                throw lock.withLock { poison(error, "fsync of the directory after the compaction's manifest switch") }
            }
            return (base.snapshot.file, dropped)
        }
    }

    /// Lock held. The position lies after the snapshot, within the log, on the current lineage.
    private func checkCompactable(_ position: ReplicationPosition, lineage: String) throws {
        guard let m = manifest else {
            throw StoreError(.invalidState, file: directory, offset: nil, "compaction before the first full sync")
        }
        guard m.lineage == lineage else {
            throw StoreError(.invalidState, file: directory, offset: position.offset,
                             "a full sync replaced the dataset (\(m.lineage), was \(lineage)); the compaction is dropped")
        }
        guard unverifiedSealed.isEmpty else {
            throw StoreError(.invalidState, file: directory, offset: position.offset,
                             "the sealed log segments are still being verified (a dataset built from them is not compacted before)")
        }
        guard position.offset > m.snapshot.offset, position.offset <= endOffset else {
            throw StoreError(.invalidArgument, file: directory, offset: position.offset,
                             "compaction offset \(position.offset) is not after the snapshot (\(m.snapshot.offset)) and within the log (up to \(endOffset))")
        }
    }

    /// The written file's record for the manifest; its AUX must be exactly `position`.
    private func inspectCompacted(_ path: String, name: String, position: ReplicationPosition) throws -> SnapshotRecord {
        let reader = try fs.openForReading(path)
        defer { reader.close() }
        let (header, aux) = try SnapshotInspector.readPosition(file: reader, name: path)
        let size = try reader.size()
        let crc = try SnapshotInspector.trailerCRC64(file: reader, size: size, header: header)
        guard let aux, aux.replid == position.replid, aux.offset == position.offset, aux.streamDB == position.streamDB else {
            throw StoreError(.snapshotMismatch, file: path, offset: nil,
                             "the compacted snapshot's AUX (\(aux.map(\.description) ?? "none")) is not its position \(position.replid):\(position.offset) db \(position.streamDB)")
        }
        return SnapshotRecord(file: name, replid: position.replid, offset: position.offset, streamDB: position.streamDB,
                              aux: aux, size: size, crc64: crc.map { hexDigits($0, 16) })
    }

    private func fileSize(_ name: String) -> Int64 {
        guard let f = try? fs.openForReading(joinPath(directory, name)) else { return 0 }
        defer { f.close() }
        return (try? f.size()) ?? 0
    }
}
