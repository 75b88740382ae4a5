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
    public var endOffset: Int64 { startOffset + Int64(payload.count) }

    public init(startOffset: Int64, payload: [UInt8], streamDB: Int, continues: Bool = false) {
        self.startOffset = startOffset
        self.payload = payload
        self.streamDB = streamDB
        self.continues = continues
    }
}

extension ReplicaStore {
    /// Reads back the log records of the open store in order (for replay and tests), calling `body` with
    /// each (from the snapshot's offset: after a compaction the first segment may begin before it, and
    /// what lies before it is skipped); stops early when it returns false. Reads only what recovery validated plus what this
    /// process appended since (checked again record by record), up to the position: the records of an
    /// unfinished command (`continues` run without its closing record) are not read. A command may span
    /// records (`LogEntry.continues`): feed the payloads to a splitter, not record by record.
    public func forEachLogRecord(_ body: (LogEntry) throws -> Bool) throws {
        guard let m = currentManifest else { return }
        let end = position?.offset ?? m.snapshot.offset
        for seg in m.segments {
            let file = try fs.openForReading(joinPath(directory, seg.file))
            defer { file.close() }
            let size = try file.size()
            var reader = SequentialReader(file: file)
            var pos: Int64 = 0
            var expected = seg.start
            while pos < size && expected < end {
                guard case .valid(let len, let db, let continues) = try LogScanner.checkRecord(&reader, at: pos, fileSize: size, expectedStart: expected) else {
                    throw StoreError(.logDamage, file: joinPath(directory, seg.file), offset: pos, "invalid record while reading back the log")
                }
                defer {
                    pos += Int64(LogRecord.headerSize + len)
                    expected += Int64(len)
                }
                // After a compaction the first segment may begin before the snapshot: skip up to it.
                if expected + Int64(len) <= m.snapshot.offset { continue }
                let skip = Int(max(0, m.snapshot.offset - expected))
                let payload = try file.readFully(at: pos + Int64(LogRecord.headerSize + skip), count: len - skip)
                if try !body(LogEntry(startOffset: expected + Int64(skip), payload: payload, streamDB: db, continues: continues)) { return }
            }
        }
    }
}
