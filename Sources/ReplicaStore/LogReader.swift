import Base
/// One record read back from the log.
public struct LogEntry: Sendable, Equatable {
    /// Replication offset before the first payload byte.
    public var startOffset: Int64
    /// The stream bytes, exactly as the master sent them.
    public var payload: [UInt8]
    /// The stream db after the record (for a `continues` record: the db at the boundary before it).
    public var streamDB: Int
    /// The payload ends inside a command that goes on in the next record (`LogRecord.continuesFlag`).
    public var continues: Bool = false
    /// When these bytes arrived (Unix ms): the last clock record before the record (`LogRecord`); nil in a
    /// log written without clock records.
    public var arrivalMs: Int64?
    public var endOffset: Int64 { startOffset + Int64(payload.count) }

    public init(startOffset: Int64, payload: [UInt8], streamDB: Int, continues: Bool = false, arrivalMs: Int64? = nil) {
        self.startOffset = startOffset
        self.payload = payload
        self.streamDB = streamDB
        self.continues = continues
        self.arrivalMs = arrivalMs
    }
}

extension ReplicaStore {
    /// Reads back the log records of the open store in order (for replay and tests), calling `body` with
    /// each (from the snapshot's offset: after a compaction the first segment may begin before it, and
    /// what lies before it is skipped); stops early when it returns false. Reads only what recovery validated plus what this
    /// process appended since (checked again record by record), up to the position: the records of an
    /// unfinished command (`continues` run without its closing record) are not read. A command may span
    /// records (`LogEntry.continues`): feed the payloads to a splitter, not record by record. Clock records
    /// are not entries: their time comes with the entries after them (`LogEntry.arrivalMs`).
    public func forEachLogRecord(_ body: (LogEntry) throws -> Bool) throws {
        guard let m = currentManifest else { return }
        let end = position?.offset ?? m.snapshot.offset
        var clock: Int64?
        for seg in m.segments {
            let path = joinPath(directory, seg.file)
            let file = try fs.openForReading(path)
            defer { file.close() }
            guard try LogScanner.forEachEntry(file: file, path: path, start: seg.start, fileSize: try file.size(),
                                              base: m.snapshot.offset, end: end, clock: &clock, body) else { return }
        }
    }
}
