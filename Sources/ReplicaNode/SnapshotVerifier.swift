import Base
import RDB

/// Checks a received RDB before it is published, from a file or from any byte stream (`IncomingRDBVerifier`
/// runs the same checks while the transfer arrives).
///
/// `.full` reads the whole RDB with the streaming `RDBReader` (every record and value structure validated,
/// CRC-64 compared); `.checksum` is the fast path: the magic (`REDIS%04d` / `VALKEY%03d`), the EOF opcode
/// and the CRC-64/Jones trailer over everything before it (rdb.c `rdbSaveRio`: `0xFF` + 8-byte LE
/// checksum, 0 = checksum disabled).
enum SnapshotVerifier {
    /// What a verification pass saw, for its one-line summary: the header, keys, databases, checksum.
    struct RecordTally {
        private(set) var keys = 0
        private var dbs = Set<Int>()
        private var header = ""
        private var checksum = "no checksum"

        mutating func count(_ record: RDBRecord) {
            switch record {
            case .header(let h): header = h.text
            case .entry(let e):
                keys += 1
                dbs.insert(e.db)
            case .eof(let stored, _):
                checksum = stored.map { $0 == 0 ? "checksum disabled" : "CRC-64 ok" } ?? "no checksum"
            default: break
            }
        }

        var summary: String { "\(header), \(keys) keys in \(dbs.count) db(s), \(checksum)" }
    }

    static func verify(path: String, depth: SnapshotVerifyDepth) throws -> String {
        try verify(path: path, depth: depth, fileSystem: POSIXFileSystem())
    }

    /// Reads through the durable-file seam (positional reads, EINTR and short reads handled there).
    static func verify(path: String, depth: SnapshotVerifyDepth, fileSystem: FileSystem) throws -> String {
        switch depth {
        case .checksum:
            let file: DurableFile
            do {
                file = try fileSystem.openForReading(path)
            } catch let e as FileIOError {
                throw Failure(description: "\(path): cannot open: \(e.message)")
            }
            defer { file.close() }
            return try verifyChecksum(source: FileByteSource(file: file), name: path)
        case .full:
            return try verifyRecords(source: AnyByteSource(try openRDBSource(path: path, fileSystem: fileSystem)), name: path)
        }
    }

    /// Every record with the streaming reader, CRC-64 compared. Returns a one-line summary.
    static func verifyRecords(source: AnyByteSource, name: String) throws -> String {
        let reader = AnyRDBReader(source: source, fileName: name,
                                  options: RDBReaderOptions(verifyChecksum: true, decodeValues: false))
        var tally = RecordTally()
        while let record = try reader.next() { tally.count(record) }
        return tally.summary
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The magic, the EOF opcode before the trailer and the CRC-64 over everything before the trailer, in
    /// one pass over `source` (the last 8 bytes seen are held back: they may be the trailer). Returns a
    /// one-line summary, or throws naming `name` and the byte offset.
    static func verifyChecksum<S: ByteSource>(source: S, name: String) throws -> String {
        var source = source
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var header: [UInt8] = []
        var crc: UInt64 = 0
        var hashed: Int64 = 0
        var lastHashed: UInt8 = 0
        var held: [UInt8] = []   // the last (up to) 8 bytes read, not hashed yet
        while true {
            let got = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if got == 0 { break }
            if header.count < 9 { header += buffer[0..<min(got, 9 - header.count)] }
            held += buffer[0..<got]
            let hash = held.count - 8
            if hash > 0 {
                crc = held.withUnsafeBytes { CRC64.update(crc, UnsafeRawBufferPointer(rebasing: $0[0..<hash])) }
                lastHashed = held[hash - 1]
                hashed += Int64(hash)
                held.removeFirst(hash)
            }
        }
        let size = hashed + Int64(held.count)
        guard size >= 9 + 1 else { throw Failure(description: "\(name): error at byte 0: only \(size) bytes, not an RDB") }
        let magic = String(decoding: header, as: UTF8.self)
        let version: Int
        if magic.hasPrefix("REDIS"), let v = Int(magic.dropFirst(5)) {
            version = v
        } else if magic.hasPrefix("VALKEY"), let v = Int(magic.dropFirst(6)) {
            version = v
        } else {
            throw Failure(description: "\(name): error at byte 0: bad magic \(RDBError.quote(header))")
        }
        guard version >= 5 else { return "RDB version \(version), \(size) bytes (no checksum before version 5)" }
        guard size >= 9 + 9 else { throw Failure(description: "\(name): error at byte \(size): truncated before the checksum") }
        guard lastHashed == 0xFF else {
            throw Failure(description: "\(name): error at byte \(hashed - 1): expected the EOF opcode 0xFF before the checksum, found 0x\(String(lastHashed, radix: 16))")
        }
        let stored = LittleEndian.load(held, at: 0, as: UInt64.self)
        if stored != 0 && stored != crc {
            throw Failure(description: "\(name): error at byte \(hashed): checksum mismatch (stored \(String(stored, radix: 16)), computed \(String(crc, radix: 16)))")
        }
        return "\(magic), \(size) bytes, CRC-64 \(stored == 0 ? "disabled" : "ok")"
    }
}
