import Base
import Dispatch

/// A segment rolled away from whose data is not yet fsynced (`ReplicaStore.unsealed`).
struct UnsealedSegment {
    var file: DurableFile
    var name: String
    /// The offset after its last record (where the next segment starts).
    var end: Int64
}

/// The next log segment, created empty with its name made durable before the roll needs it.
struct SpareSegment {
    var file: DurableFile
    var name: String
    var number: Int
}

/// **Rolling segments without waiting for the disk.** The link's thread appends and ACKs; a roll used to
/// fsync the full segment, create the next one, fsync the directory and write the manifest (two more
/// fsyncs and a rename) on that thread, 20–30 ms on a quiet disk and far more while a compaction writes.
/// Now the roll only switches files; the slow steps run on the store's background queue:
///
/// - **ahead of the roll**: the next segment (`spare`) is created empty and the directory fsynced, so its
///   name is durable before a byte is written to it (if none is ready, the roll creates one itself);
/// - **the roll** (under the lock, no fsync): the new segment is appended to the in-memory manifest and the
///   old one is listed as `unsealed` (under `--fsync always` it is fsynced on the spot, as every append is);
/// - **the seal** (background, `syncPass`): fsync the unsealed segments oldest first, then the current one
///   (the `everysec` fsync is the same pass), then write the manifest naming the new segment;
/// - **a roll before the `everysec` fsync**: when the current segment holds `Options.rollBeforeSyncBytes`
///   or more not yet fsynced and a spare is ready, the pass rolls first and fsyncs the sealed file, which
///   no append touches any more. On Linux ext4 an append into a file whose pages are being written back
///   waits for the lock of its last page and for the file's block allocation (kernel stacks sampled with
///   tools/thread-waits: `__filemap_get_folio` 43 ms, `ext4_da_get_block_prep` 36 ms during a
///   compaction); a write into another file waits for neither.
///
/// Rules that keep this exact:
/// 1. `durable` passes the start of a segment only once every segment before it is fsynced: the pass
///    fsyncs them in order and advances `durable` to a segment's end only after its own fsync and theirs.
/// 2. A manifest on disk never names a segment whose predecessor is not fsynced (`diskForm`): recovery
///    accepts a torn tail only in the last segment it names, so after a power loss the segment whose tail
///    was not yet fsynced is that last one.
/// 3. A segment the on-disk manifest does not name yet is **adopted** by recovery when it continues the
///    log: its name is durable (rule "ahead of the roll"), its file number is higher than the manifest's
///    last segment's, and its first record starts exactly where the log ends (see `Recovery`). So a crash
///    between the roll and the manifest write (kill -9: every written byte is in the page cache) recovers
///    to the same position, and a power loss loses only what was not fsynced, as `everysec` allows.
/// 4. Every manifest file write holds `manifestLock` (taken before `lock`, never while holding it), so the
///    background's write does not hold the store's lock while it fsyncs and renames.
extension ReplicaStore {
    /// Lock held. Switches appends to a new segment (see the type's comment): no fsync here unless the
    /// policy is `.always` or no spare segment was ready.
    func rollLocked() throws {
        guard var m = manifest, let old = segment, let oldRecord = m.segments.last else { return }
        let lastNumber = Recovery.fileNumber(oldRecord.file) ?? 0
        let next: (DurableFile, String)
        if let s = spare, s.number > lastNumber {
            spare = nil
            next = (s.file, s.name)
        } else {
            if let s = spare {
                s.file.close()
                try? fs.remove(joinPath(directory, s.name))
                spare = nil
            }
            let name = "log-\(format6(nextFileNumber)).seg"
            nextFileNumber += 1
            let f = try fs.openForWriting(joinPath(directory, name), truncate: true)
            try fs.syncDirectory(directory)
            next = (f, name)
        }
        if fsyncPolicy == .always {
            try old.sync()
            durable = endOffset
        } else {
            unsealed.append(UnsealedSegment(file: old, name: oldRecord.file, end: endOffset))
        }
        m.segments.append(SegmentRecord(file: next.1, start: endOffset, startStreamDB: currentDB))
        m.nextFileNumber = max(m.nextFileNumber, nextFileNumber)
        manifest = m
        manifestBehind = true
        segment = next.0
        earlierSegmentsBytes += segmentBytes
        segmentBytes = 0
        scheduleBackgroundPass()
    }

    /// Runs `syncPass` on the background queue, or (tests: `Options.backgroundSync` off) leaves it to the
    /// next `sync()`, `runPendingWork()` or `close()`.
    func scheduleBackgroundPass() {
        guard options.backgroundSync else {
            pendingWork = true
            return
        }
        syncQueue.async { [weak self] in self?.backgroundPass() }
    }

    /// The background's work without its timer (tests that turn `backgroundSync` off call it to run
    /// the seal, the manifest write and the spare segment's creation at a chosen point).
    func runPendingWork() throws {
        try syncPass(current: false, spare: true)
    }

    func backgroundPass() {
        do {
            try syncPass(current: fsyncPolicy != .no, spare: true, rollsBeforeSync: fsyncPolicy == .everysec)
        } catch {
            lock.withLock { _ = poison(error, "background fsync of the log") }
        }
    }

    /// fsync the unsealed segments oldest first, then (if `current`) the current segment; advance
    /// `durable`; write the manifest if it lags behind the rolls; create the spare segment if none (if
    /// `spare`). Never holds the lock while it does file operations.
    func syncPass(current: Bool, spare makeSpare: Bool, rollsBeforeSync: Bool = false) throws {
        lock.withLock { pendingWork = false }
        while true {
            let job: (UnsealedSegment?, (DurableFile, Int64)?, Int)? = lock.withLock {
                guard !closed, failure == nil, manifest != nil else { return nil }
                if let u = unsealed.first { return (u, nil, epoch) }
                guard current, segment != nil, endOffset > durable else { return nil }
                if rollsBeforeSync, options.rollBeforeSyncBytes > 0, spare != nil, unfinishedBytes == 0,
                   endOffset - max(durable, manifest?.segments.last?.start ?? 0) >= options.rollBeforeSyncBytes {
                    // Seal this segment instead of fsyncing it while appends go on into it.
                    do { try rollLocked() } catch { _ = poison(error, "rolling the log before its fsync"); return nil }
                    if let u = unsealed.first { return (u, nil, epoch) }
                }
                guard let s = segment else { return nil }
                return (nil, (s, endOffset), epoch)
            }
            guard let (u, cur, ep) = job else { break }
            if let u {
                try u.file.sync()
                lock.withLock {
                    guard epoch == ep else { return }
                    if unsealed.first?.name == u.name { unsealed.removeFirst() }
                    durable = max(durable, u.end)
                }
                continue
            }
            if let (file, end) = cur {
                try file.sync()
                // A roll meanwhile left `file` unsealed: fsynced now, so `end` (in it) is durable once
                // every segment before it is, which the job's check above made sure of.
                lock.withLock { if epoch == ep { durable = max(durable, end) } }
                break
            }
        }
        try writeManifestIfBehind()
        if makeSpare { try createSpareIfNone() }
    }

    /// The background's manifest write: the in-memory manifest as `diskForm` allows, under
    /// `manifestLock` only (the store's lock is taken just to read the state and to record the sequence).
    func writeManifestIfBehind() throws {
        try manifestLock.withLock {
            let prepared: ([UInt8], Int64, Bool, Int)? = try lock.withLock {
                guard manifestBehind, !closed, failure == nil, let m = manifest else { return nil }
                let d = diskForm(sequenced(m))
                return (try d.encoded(), d.sequence, d.segments.count == m.segments.count, epoch)
            }
            guard let (bytes, sequence, complete, ep) = prepared else { return }
            let tmp = joinPath(directory, Manifest.tempFileName)
            do {
                try fs.writeSynced(tmp) { try $0.write(bytes) }
            } catch {
                try? fs.remove(tmp)
                throw error
            }
            try fs.rename(tmp, joinPath(directory, Manifest.fileName))
            lock.withLock {
                guard epoch == ep else { return }
                manifest?.sequence = sequence
                if complete { manifestBehind = false }
            }
            try fs.syncDirectory(directory)
        }
    }

    /// Creates the next segment ahead of the roll: an empty file whose name is made durable now.
    func createSpareIfNone() throws {
        let planned: (String, Int, Int)? = lock.withLock {
            guard spare == nil, !closed, failure == nil, manifest != nil else { return nil }
            let n = nextFileNumber
            nextFileNumber += 1
            return ("log-\(format6(n)).seg", n, epoch)
        }
        guard let (name, number, ep) = planned else { return }
        let path = joinPath(directory, name)
        let file = try fs.openForWriting(path, truncate: true)
        try fs.syncDirectory(directory)
        let kept: Bool = lock.withLock {
            guard spare == nil, epoch == ep, !closed else { return false }
            spare = SpareSegment(file: file, name: name, number: number)
            return true
        }
        if !kept {
            file.close()
            try? fs.remove(path)
        }
    }

    /// Lock held. `m` as a manifest file may show it (rule 2): its segments up to the first unsealed one.
    func diskForm(_ m: Manifest) -> Manifest {
        guard let first = unsealed.first, let i = m.segments.firstIndex(where: { $0.file == first.name }) else { return m }
        var d = m
        d.segments = Array(m.segments[...i])
        return d
    }

    /// Lock held (and `manifestLock`, taken before it). Writes `m` (as `diskForm` allows: MANIFEST.tmp,
    /// fsync, rename over MANIFEST, fsync the directory) with the next sequence number and the checksum.
    /// Returns `m` with that sequence (all of its segments, also the ones the file does not name yet).
    func writeManifest(_ m: Manifest) throws -> Manifest {
        let full = sequenced(m)
        let d = diskForm(full)
        let bytes = try d.encoded()
        try fs.writeAtomically(joinPath(directory, Manifest.fileName), bytes: bytes,
                               temporary: joinPath(directory, Manifest.tempFileName))
        manifestBehind = d.segments.count != full.segments.count
        _ = try Manifest.decode(bytes, path: joinPath(directory, Manifest.fileName))
        return full
    }

    /// `m` as the next manifest: the next sequence number and file number.
    func sequenced(_ m: Manifest) -> Manifest {
        var m = m
        m.nextFileNumber = max(m.nextFileNumber, nextFileNumber)
        m.sequence = (manifest?.sequence ?? 0) + 1
        m.version = Manifest.currentVersion
        return m
    }

    func startTimer() {
        let t = DispatchSource.makeTimerSource(queue: syncQueue)
        t.schedule(deadline: .now() + 1, repeating: 1.0, leeway: .milliseconds(100))
        t.setEventHandler { [weak self] in self?.backgroundPass() }
        timer = t
        t.resume()
    }
}
