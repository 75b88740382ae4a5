import Base

extension ReplicaStore {
    // MARK: Appending

    /// Appends stream bytes that end on a complete command outside MULTI (the offset a master may be asked
    /// to continue from), closing the unfinished command written by `appendUnfinished` before, if any;
    /// `streamDB` is the db selected after them. Returns the new position's offset (the boundary). Under
    /// `.always` it is durable when this returns. More than `LogRecord.maxPayload` bytes are written as
    /// `continues` records closed by the last one.
    @discardableResult
    public func append(_ bytes: UnsafeRawBufferPointer, streamDB: Int) throws -> Int64 {
        try lock.withLock {
            try checkAppendable(streamDB: streamDB)
            if bytes.isEmpty {
                guard unfinishedBytes == 0 else {
                    throw StoreError(.invalidArgument, file: nil, offset: nil, "an unfinished command cannot be closed by an empty append (a closing record needs a byte)")
                }
                return endOffset
            }
            do {
                if unfinishedBytes == 0, segmentBytes >= options.segmentSize { try rollLocked() }
                var rest = bytes
                if unfinishedBytes == 0 { unfinishedFrom = segmentBytes }
                while rest.count > LogRecord.maxPayload {
                    try writeRecordLocked(UnsafeRawBufferPointer(rebasing: rest[..<LogRecord.maxPayload]), streamDB: currentDB, continues: true)
                    rest = UnsafeRawBufferPointer(rebasing: rest[LogRecord.maxPayload...])
                }
                try writeRecordLocked(rest, streamDB: streamDB, continues: false, arrivalTime: true)
                endOffset += unfinishedBytes + Int64(rest.count)
                unfinishedBytes = 0
                currentDB = streamDB
                if fsyncPolicy == .always, let seg = segment {
                    try seg.sync()
                    durable = endOffset
                }
                return endOffset
            } catch {
                throw poison(error, "appending to the log")
            }
        }
    }

    @discardableResult
    public func append(_ bytes: [UInt8], streamDB: Int) throws -> Int64 {
        try bytes.withUnsafeBytes { try append($0, streamDB: streamDB) }
    }

    /// Appends the bytes of a command (or MULTI/EXEC transaction) that has not finished arriving, as records
    /// flagged `continues` (see `LogRecord`): the position stays at the boundary before the command, readers
    /// do not see these bytes, and recovery cuts them unless an `append` closes the command. Segments do not
    /// roll inside such a run. Returns the offset written so far (past the position).
    @discardableResult
    public func appendUnfinished(_ bytes: UnsafeRawBufferPointer) throws -> Int64 {
        try lock.withLock {
            try checkAppendable(streamDB: currentDB)
            if bytes.isEmpty { return endOffset + unfinishedBytes }
            do {
                if unfinishedBytes == 0 {
                    if segmentBytes >= options.segmentSize { try rollLocked() }
                    unfinishedFrom = segmentBytes
                }
                var rest = bytes
                while !rest.isEmpty {
                    let n = min(rest.count, LogRecord.maxPayload)
                    try writeRecordLocked(UnsafeRawBufferPointer(rebasing: rest[..<n]), streamDB: currentDB, continues: true)
                    rest = UnsafeRawBufferPointer(rebasing: rest[n...])
                }
                return endOffset + unfinishedBytes
            } catch {
                throw poison(error, "appending to the log")
            }
        }
    }

    @discardableResult
    public func appendUnfinished(_ bytes: [UInt8]) throws -> Int64 {
        try bytes.withUnsafeBytes { try appendUnfinished($0) }
    }

    /// The bytes of the unfinished command (written by `appendUnfinished` and not closed), if any.
    public var unfinishedCommandBytes: Int64 { lock.withLock { unfinishedBytes } }

    /// Drops the unfinished command's records (the connection that was sending it is gone, and the master
    /// will resend the command from its first byte after PSYNC from the position): the segment is truncated
    /// back to the boundary. Not fsynced: a crash before the next fsync leaves records that recovery cuts.
    public func discardUnfinished() throws {
        try lock.withLock {
            try checkUsable()
            guard unfinishedBytes > 0, let seg = segment else { return }
            do {
                try seg.truncate(to: unfinishedFrom)
                segmentBytes = unfinishedFrom
                unfinishedBytes = 0
            } catch {
                throw poison(error, "discarding an unfinished command")
            }
        }
    }

    // MARK: Internals (lock held)

    private func checkAppendable(streamDB: Int) throws {
        try checkUsable()
        guard manifest != nil, segment != nil else {
            throw StoreError(.invalidState, file: directory, offset: nil, "append before the first full sync was published")
        }
        guard streamDB >= 0 && streamDB <= Int(UInt32.max) else {
            throw StoreError(.invalidArgument, file: nil, offset: nil, "stream db \(streamDB) out of range")
        }
    }

    /// Writes one record starting at the current written end (position + unfinished bytes). With
    /// `arrivalTime` (the record that closes a command) and `Options.recordArrivalTime`, a clock record is
    /// framed in front of it, in the same write, when the clock moved since the last one in this segment or
    /// the segment has none yet (`LogRecord`); never into a directory whose manifest predates clock records.
    private func writeRecordLocked(_ bytes: UnsafeRawBufferPointer, streamDB: Int, continues: Bool,
                                   arrivalTime: Bool = false) throws {
        guard let seg = segment else { throw StoreError(.invalidState, file: directory, offset: nil, "no open segment") }
        let start = endOffset + unfinishedBytes
        if segmentBytes == 0 { lastClockMs = nil }
        var frame: [UInt8] = []
        var clockMs: Int64?
        if arrivalTime, options.recordArrivalTime, manifest?.version == Manifest.currentVersion {
            let now = options.clock()
            if now != lastClockMs {
                frame = LogRecord.clockRecord(startOffset: start, streamDB: currentDB, unixMs: now)
                clockMs = now
            }
        }
        frame += LogRecord.header(startOffset: start, streamDB: streamDB, payload: bytes, continues: continues)
        let framed = frame.count
        // Copy 2 of the stream path: small records are framed with their header (and clock record) in one write.
        if bytes.count <= 256 << 10 {
            frame.append(contentsOf: bytes)
            try seg.write(frame)
        } else {
            try seg.write(frame)
            try seg.write(bytes)
        }
        segmentBytes += Int64(framed + bytes.count)
        if let clockMs { lastClockMs = clockMs }
        if continues { unfinishedBytes += Int64(bytes.count) }
    }
}
