import Base

/// A log segment that a compaction dropped from the manifest but that a log reader still needs.
struct RetainedSegment: Sendable {
    var record: SegmentRecord
    /// The offset after its last byte (the next segment's start).
    var end: Int64
}

/// **Pins**: a log reader (`LogTail`: a downstream replica, the dataset follower) registers the start
/// offset of the segment it reads, and moves the pin as it goes. A compaction deletes a dropped segment
/// only when every pin lies at or after its end; until then the segment stays on disk (no longer in the
/// manifest, so a restart, which has no readers, deletes it as a leftover) and stays listed in
/// `readableSegments()`, so a reader that is behind the new snapshot moves on through it. An open file
/// stays readable after its name is removed (POSIX), so only segments a reader has not opened yet matter.
extension ReplicaStore {
    /// Registers a reader at `offset`; returns the pin's id.
    func pinLog(at offset: Int64) -> Int {
        lock.withLock {
            nextPinID += 1
            pins[nextPinID] = offset
            return nextPinID
        }
    }

    /// Moves a pin forward (a reader opened a later segment) and deletes what no reader needs any more.
    func movePin(_ id: Int, to offset: Int64) {
        lock.withLock { pins[id] = offset }
        removeReleased()
    }

    func unpin(_ id: Int) {
        _ = lock.withLock { pins.removeValue(forKey: id) }
        removeReleased()
    }

    /// The retained segments, then the manifest's: every segment a reader may still move into.
    func readableSegments() -> [SegmentRecord] {
        lock.withLock { retained.map(\.record) + (manifest?.segments ?? []) }
    }

    /// Takes the retained segments no pin needs off the list and returns their names (to delete).
    func releasableRetained() -> [String] {
        lock.withLock {
            let low = pins.values.min() ?? Int64.max
            let (free, keep) = (retained.filter { $0.end <= low }, retained.filter { $0.end > low })
            retained = keep
            return free.map(\.record.file)
        }
    }

    private func removeReleased() {
        let names = releasableRetained()
        for n in names { try? fs.remove(joinPath(directory, n)) }
    }
}
