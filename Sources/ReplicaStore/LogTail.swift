import Base
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the committed replication stream back out of a store's log segments, from any offset, for a
/// downstream replica or the dataset follower: the bytes after offset X are exactly the bytes the master sent after X.
///
/// It follows the record framing of `LogRecord` (28-byte header: magic, version, payload length, start
/// offset, stream db, CRC-32) and checks magic, version and that each record starts where the previous
/// ended; the CRCs were checked by recovery at open (or the records were appended by this process).
/// Files are opened through the store's `FileSystem` and kept open, so a segment deleted by a new full sync
/// stays readable until the reader is closed. Reads are positional and bounded by `maxChunk`.
public final class LogTail {
    public enum Failure: Error, CustomStringConvertible, Sendable {
        case notInLog(offset: Int64, first: Int64, end: Int64)
        case damaged(file: String, at: Int64, String)
        case io(file: String, errno: Int32)
        public var description: String {
            switch self {
            case .notInLog(let o, let first, let end): return "offset \(o) is not in the log (it holds \(first)...\(end))"
            case .damaged(let f, let at, let why): return "\(f) at byte \(at): \(why)"
            case .io(let f, let e): return "\(f): \(String(cString: strerror(e)))"
            }
        }
    }

    public let directory: String
    /// The replication offset of the last byte returned (the next byte returned is `offset + 1`).
    public private(set) var offset: Int64
    /// When the bytes of the current record arrived (Unix ms): the last clock record (`LogRecord`) before
    /// it in its segment (or an earlier one read by this reader), so for the bytes the last `read` returned,
    /// which never span records. nil when the log has no clock records.
    public private(set) var arrivalMs: Int64?
    private var segments: [SegmentRecord]
    private var segmentIndex: Int
    private let fs: FileSystem
    private var file: DurableFile?
    private var path = ""
    /// File position of the record that holds `offset + 1`, its start offset and payload length.
    private var recordPos: Int64 = 0
    private var recordStart: Int64 = 0
    private var recordLength: Int64 = 0
    /// The store, for the segment list and the pin that keeps compaction from deleting what is ahead.
    private weak var store: ReplicaStore?
    private var pin: Int?

    /// A reader positioned after `offset`, which must lie in the log: from the snapshot's offset to the end.
    public init(store: ReplicaStore, after offset: Int64) throws {
        guard let m = store.currentManifest, let end = store.position?.offset,
              offset >= m.snapshot.offset, offset <= end else {
            let m = store.currentManifest
            throw Failure.notInLog(offset: offset, first: m?.snapshot.offset ?? -1, end: store.position?.offset ?? -1)
        }
        directory = store.directory
        fs = store.fs
        self.offset = offset
        segments = m.segments
        segmentIndex = segments.lastIndex { $0.start <= offset } ?? 0
        self.store = store
        pin = store.pinLog(at: segments[segmentIndex].start)
        try open(segmentIndex)
        recordStart = segments[segmentIndex].start
        // Walk the records of the segment to the one holding offset + 1.
        while recordStart < end {
            guard try loadHeader() else { break }
            if recordStart + recordLength > offset { break }
            recordPos += Int64(LogRecord.headerSize) + recordLength
            recordStart += recordLength
            recordLength = 0
        }
    }

    deinit { close() }

    public func close() {
        file?.close()
        file = nil
        if let pin { store?.unpin(pin) }
        pin = nil
    }

    /// Up to `maxChunk` bytes after `offset`, never past `end` (the store's committed end offset).
    /// `manifest` is the store's current one, consulted when a segment is used up. Returns [] when there
    /// is nothing new yet.
    public func read(upTo end: Int64, maxChunk: Int, manifest: () -> Manifest?) throws -> [UInt8] {
        guard end > offset else { return [] }
        if recordLength == 0 || recordStart + recordLength <= offset {
            // Past the current record: the next one starts here, in this segment or the next.
            if recordLength > 0 {
                recordPos += Int64(LogRecord.headerSize) + recordLength
                recordStart += recordLength
                recordLength = 0
            }
            if try !loadHeader() {
                // The next segment starts where this one ended. A compaction may have dropped this one (and
                // earlier ones) from the manifest meanwhile: the store's readable list still has them.
                // A list without the current segment belongs to a new full sync: this reader is done.
                if manifest() != nil, let list = store?.readableSegments(),
                   let i = list.firstIndex(where: { $0.file == segments[segmentIndex].file }) {
                    segments = list
                    segmentIndex = i
                }
                guard segmentIndex + 1 < segments.count, segments[segmentIndex + 1].start == offset else { return [] }
                segmentIndex += 1
                try open(segmentIndex)
                if let pin { store?.movePin(pin, to: offset) }
                recordStart = offset
                guard try loadHeader() else { return [] }
            }
        }
        let inRecord = offset - recordStart
        let n = Int(min(Int64(maxChunk), recordLength - inRecord, end - offset))
        var out = [UInt8](repeating: 0, count: n)
        let got = try readAt(into: &out, at: recordPos + Int64(LogRecord.headerSize) + inRecord)
        guard got == n else { throw Failure.damaged(file: path, at: recordPos, "record payload cut short") }
        offset += Int64(n)
        return out
    }

    private func open(_ index: Int) throws {
        file?.close()
        file = nil
        path = joinPath(directory, segments[index].file)
        do {
            file = try fs.openForReading(path)
        } catch let e as FileIOError {
            throw Failure.io(file: path, errno: e.errno)
        }
        recordPos = 0
        recordLength = 0
    }

    /// Reads the header of the next stream record at or after `recordPos`, taking the time of the clock
    /// records before it (`arrivalMs`) and moving past them; false when there is none (yet) at the end of the file.
    private func loadHeader() throws -> Bool {
        var h = [UInt8](repeating: 0, count: LogRecord.headerSize + LogRecord.clockPayloadSize)
        while true {
            let got = try readAt(into: &h, at: recordPos)
            guard got >= LogRecord.headerSize else { return false }
            guard let header = h.withUnsafeBytes({ LogRecord.parseHeader($0) }) else {
                throw Failure.damaged(file: path, at: recordPos, "not a log record header")
            }
            guard header.startOffset == recordStart else {
                throw Failure.damaged(file: path, at: recordPos, "record starts at offset \(header.startOffset), expected \(recordStart)")
            }
            if header.clock {
                guard got == h.count else { return false }
                arrivalMs = h.withUnsafeBytes { LittleEndian.load($0, at: LogRecord.headerSize, as: Int64.self) }
                recordPos += Int64(h.count)
                continue
            }
            recordLength = Int64(header.payloadLength)
            return true
        }
    }

    private func readAt(into buf: inout [UInt8], at position: Int64) throws -> Int {
        guard let file else { throw Failure.io(file: path, errno: EBADF) }
        do {
            return try buf.withUnsafeMutableBytes { try file.readFully(at: position, into: $0) }
        } catch let e as FileIOError {
            throw Failure.io(file: path, errno: e.errno)
        }
    }
}
