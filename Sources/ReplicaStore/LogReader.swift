import Base
/// One record read back from the log.
public struct LogEntry: Sendable, Equatable {
    /// Replication offset before the first payload byte.
    public var startOffset: Int64
    /// The stream bytes, exactly as the master sent them.
    public var payload: [UInt8]
    /// The stream db after the record.
    public var streamDB: Int
    public var endOffset: Int64 { startOffset + Int64(payload.count) }
}

extension ReplicaStore {
    /// Reads back the log records of the open store in order (for replay and tests), calling `body` with
    /// each; stops early when it returns false. Reads only what recovery validated plus what this
    /// process appended since (checked again record by record).
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
                guard case .valid(let len, let db) = try LogScanner.checkRecord(&reader, at: pos, fileSize: size, expectedStart: expected) else {
                    throw StoreError(.logDamage, file: joinPath(directory, seg.file), offset: pos, "invalid record while reading back the log")
                }
                let payload = try file.readFully(at: pos + Int64(LogRecord.headerSize), count: len)
                if try !body(LogEntry(startOffset: expected, payload: payload, streamDB: db)) { return }
                pos += Int64(LogRecord.headerSize + len)
                expected += Int64(len)
            }
        }
    }
}
