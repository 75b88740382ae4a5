import Base
/// Reads a log segment's records front to back, checking each one (header, CRC, offset chain).
///
/// Linear in the segment's size, with large sequential reads (1 MiB) and zlib's CRC-32; nothing is
/// allocated by a length read from the file (payloads are checksummed through the fixed buffer).
struct SegmentScan: Sendable, Equatable {
    var file: String
    var startOffset: Int64
    var fileSize: Int64
    /// Bytes of the file taken by whole valid records up to the last one that ends on a command boundary
    /// (not flagged `continues`): where a cut would truncate to.
    var validBytes: Int64
    /// The replication offset at the end of that record (= startOffset when none): the segment's position.
    var endOffset: Int64
    /// The stream db after that record.
    var lastStreamDB: Int?
    /// Whole valid records (including an unfinished run).
    var records: Int
    /// Whole valid records flagged `continues` after the last boundary: a command that never got its
    /// closing record (cut with the torn tail in the last segment, refused in any other).
    var unfinished: UnfinishedRun?
    /// The first invalid record, if the valid records do not reach the end of the file.
    var damage: LogDamage?
}

/// A run of `continues` records at the end of a segment's valid records, without its closing record.
struct UnfinishedRun: Sendable, Equatable {
    var records: Int
    /// Payload bytes in the run.
    var payloadBytes: Int64
}

/// Where and why a segment stops being valid.
struct LogDamage: Sendable, Equatable {
    var fileOffset: Int64
    var reason: String
}

/// A buffered positional reader over a `DurableFile`.
struct SequentialReader {
    let file: DurableFile
    private var storage: [UInt8]
    private var bufStart: Int64 = 0
    private var bufCount = 0

    init(file: DurableFile, bufferSize: Int = 1 << 20) {
        self.file = file
        storage = [UInt8](repeating: 0, count: max(bufferSize, LogRecord.headerSize))
    }

    /// Loads the buffer starting at `offset`, as full as the file allows.
    private mutating func refill(at offset: Int64) throws {
        bufStart = offset
        bufCount = 0
        let cap = storage.count
        while bufCount < cap {
            let n = try storage.withUnsafeMutableBytes { buf in
                try file.read(at: offset + Int64(bufCount), into: UnsafeMutableRawBufferPointer(rebasing: buf[bufCount...]))
            }
            if n == 0 { break }
            bufCount += n
        }
    }

    /// Calls `body` with exactly `count` bytes at `offset` (count <= buffer size); nil at end of file.
    mutating func withBytes<T>(at offset: Int64, count: Int, _ body: (UnsafeRawBufferPointer) -> T) throws -> T? {
        if !(offset >= bufStart && offset + Int64(count) <= bufStart + Int64(bufCount)) {
            try refill(at: offset)
        }
        guard offset + Int64(count) <= bufStart + Int64(bufCount) else { return nil }
        let from = Int(offset - bufStart)
        return storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[from..<(from + count)])) }
    }

    /// Continues `crc` over `count` bytes at `offset`; nil if the file ends first.
    mutating func crc(at offset: Int64, count: Int, continuing crc: UInt32) throws -> UInt32? {
        var c = crc
        var off = offset
        var left = count
        while left > 0 {
            if !(off >= bufStart && off < bufStart + Int64(bufCount)) { try refill(at: off) }
            let avail = Int(bufStart + Int64(bufCount) - off)
            if avail <= 0 { return nil }
            let n = min(avail, left)
            let from = Int(off - bufStart)
            c = storage.withUnsafeBytes { CRC32.update(c, UnsafeRawBufferPointer(rebasing: $0[from..<(from + n)])) }
            off += Int64(n)
            left -= n
        }
        return c
    }
}

enum LogScanner {
    /// Scans a whole segment and reports the valid prefix and the first damage.
    static func scan(file: DurableFile, name: String, startOffset: Int64) throws -> SegmentScan {
        let size = try file.size()
        var reader = SequentialReader(file: file)
        var pos: Int64 = 0
        var expected = startOffset
        var lastDB: Int?
        var records = 0
        var damage: LogDamage?
        var boundaryPos: Int64 = 0
        var boundaryOffset = startOffset
        var run: UnfinishedRun?
        while pos < size {
            switch try checkRecord(&reader, at: pos, fileSize: size, expectedStart: expected) {
            case .valid(let len, let db, let continues):
                pos += Int64(LogRecord.headerSize + len)
                expected += Int64(len)
                records += 1
                if continues {
                    run = UnfinishedRun(records: (run?.records ?? 0) + 1, payloadBytes: (run?.payloadBytes ?? 0) + Int64(len))
                } else {
                    run = nil
                    lastDB = db
                    boundaryPos = pos
                    boundaryOffset = expected
                }
                continue
            case .clock:
                // Covers no offsets; at a boundary it is a resting point, inside a run it belongs to the run.
                pos += Int64(LogRecord.headerSize + LogRecord.clockPayloadSize)
                records += 1
                if let r = run {
                    run = UnfinishedRun(records: r.records + 1, payloadBytes: r.payloadBytes)
                } else {
                    boundaryPos = pos
                }
                continue
            case .invalid(let reason):
                damage = LogDamage(fileOffset: pos, reason: reason)
            }
            break
        }
        return SegmentScan(file: name, startOffset: startOffset, fileSize: size, validBytes: boundaryPos,
                           endOffset: boundaryOffset, lastStreamDB: lastDB, records: records, unfinished: run,
                           damage: damage)
    }

    enum Check {
        case valid(payloadLength: Int, streamDB: Int, continues: Bool)
        /// A clock record (`LogRecord`): covers no stream bytes; the stream bytes after it arrived at `unixMs`.
        case clock(unixMs: Int64)
        case invalid(String)
    }

    /// Checks the record at `pos` against the torn-tail rule.
    static func checkRecord(_ reader: inout SequentialReader, at pos: Int64, fileSize: Int64,
                            expectedStart: Int64?) throws -> Check {
        let remaining = fileSize - pos
        if remaining < Int64(LogRecord.headerSize) {
            return .invalid("incomplete record header (\(remaining) of \(LogRecord.headerSize) bytes)")
        }
        guard let parsed = try reader.withBytes(at: pos, count: LogRecord.headerSize, { LogRecord.parseHeader($0) }) else {
            return .invalid("incomplete record header (file shorter than its size)")
        }
        guard let header = parsed else {
            return .invalid("bad record header (magic/version/flags/reserved bytes do not match)")
        }
        if let expectedStart, header.startOffset != expectedStart {
            return .invalid("record start offset \(header.startOffset) does not continue the log (expected \(expectedStart))")
        }
        let payloadAvailable = remaining - Int64(LogRecord.headerSize)
        if Int64(header.payloadLength) > payloadAvailable {
            return .invalid("incomplete record payload (\(payloadAvailable) of \(header.payloadLength) bytes)")
        }
        guard let crc = try reader.crc(at: pos + Int64(LogRecord.headerSize), count: header.payloadLength,
                                       continuing: header.partialCRC) else {
            return .invalid("incomplete record payload (file shorter than its size)")
        }
        if crc != header.crc {
            return .invalid("record CRC mismatch (stored \(hex32(header.crc)), computed \(hex32(crc)))")
        }
        if header.clock {
            let ms = try reader.withBytes(at: pos + Int64(LogRecord.headerSize), count: LogRecord.clockPayloadSize) {
                LittleEndian.load($0, at: 0, as: Int64.self)
            }
            guard let ms else { return .invalid("incomplete clock record (file shorter than its size)") }
            return .clock(unixMs: ms)
        }
        return .valid(payloadLength: header.payloadLength, streamDB: header.streamDB, continues: header.continues)
    }

    /// Reads a segment's records back in order as `LogEntry`s (CRC checked again), from file position 0 up
    /// to `fileSize` and before stream offset `end`, skipping clock records (their time goes with the
    /// entries after them, `arrivalMs`, starting from `clock`) and the stream bytes up to `base` (after a
    /// compaction the first segment may begin before the snapshot). Returns false when `body` did, and the
    /// last clock seen in `clock`. Throws `logDamage` naming `path` and the byte offset of an invalid record.
    static func forEachEntry(file: DurableFile, path: String, start: Int64, fileSize: Int64, base: Int64, end: Int64,
                             clock: inout Int64?, _ body: (LogEntry) throws -> Bool) throws -> Bool {
        var reader = SequentialReader(file: file)
        var pos: Int64 = 0
        var expected = start
        while pos < fileSize && expected < end {
            switch try checkRecord(&reader, at: pos, fileSize: fileSize, expectedStart: expected) {
            case .clock(let ms):
                clock = ms
                pos += Int64(LogRecord.headerSize + LogRecord.clockPayloadSize)
            case .valid(let len, let db, let continues):
                defer {
                    pos += Int64(LogRecord.headerSize + len)
                    expected += Int64(len)
                }
                if expected + Int64(len) <= base { continue }
                let skip = Int(max(0, base - expected))
                let payload = try file.readFully(at: pos + Int64(LogRecord.headerSize + skip), count: len - skip)
                let entry = LogEntry(startOffset: expected + Int64(skip), payload: payload, streamDB: db,
                                     continues: continues, arrivalMs: clock)
                if try !body(entry) { return false }
            case .invalid:
                throw StoreError(.logDamage, file: path, offset: pos, "invalid record while reading back the log")
            }
        }
        return true
    }

    /// Looks for a whole valid record anywhere after `from` whose start offset is at least `minStart`.
    /// Returns its file offset and start offset. Used to tell a torn tail from damage in the middle.
    static func findValidRecord(file: DurableFile, from: Int64, fileSize: Int64, minStart: Int64) throws -> (Int64, Int64)? {
        var scanReader = SequentialReader(file: file)
        var checkReader = SequentialReader(file: file, bufferSize: 64 << 10)
        let chunk = 1 << 20
        var off = from
        let magic = LogRecord.magic
        while off + Int64(LogRecord.headerSize) <= fileSize {
            let n = Int(min(Int64(chunk), fileSize - off))
            let hits: [Int] = try scanReader.withBytes(at: off, count: n) { b in
                var found: [Int] = []
                var i = 0
                while i + 4 <= b.count {
                    if b[i] == magic[0] && b[i + 1] == magic[1] && b[i + 2] == magic[2] && b[i + 3] == magic[3] {
                        found.append(i)
                    }
                    i += 1
                }
                return found
            } ?? []
            for i in hits {
                let at = off + Int64(i)
                if case .valid = try checkRecord(&checkReader, at: at, fileSize: fileSize, expectedStart: nil) {
                    let start = try checkReader.withBytes(at: at, count: LogRecord.headerSize) {
                        LittleEndian.load($0, at: 12, as: Int64.self)
                    } ?? -1
                    if start >= minStart { return (at, start) }
                }
            }
            // Overlap by 3 bytes so a magic split across chunks is seen.
            off += Int64(max(1, n - 3))
        }
        return nil
    }
}

func hex32(_ v: UInt32) -> String { "0x" + hexDigits(v, 8) }
