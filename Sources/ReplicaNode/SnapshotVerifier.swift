import Base
import RDB

/// Checks a received RDB before it is published.
///
/// `verify` reads the whole file with the streaming `RDBReader` (every record and value structure validated,
/// CRC-64 compared); `verifyChecksum` is the fast path: the magic (`REDIS%04d` / `VALKEY%03d`), the EOF
/// opcode and the CRC-64/Jones trailer over everything before it (rdb.c `rdbSaveRio`: `0xFF` + 8-byte LE
/// checksum, 0 = checksum disabled).
enum SnapshotVerifier {
    static func verify(path: String, depth: SnapshotVerifyDepth) throws -> String {
        try verify(path: path, depth: depth, fileSystem: POSIXFileSystem())
    }

    static func verify(path: String, depth: SnapshotVerifyDepth, fileSystem: FileSystem) throws -> String {
        switch depth {
        case .checksum:
            return try verifyChecksum(path: path, fileSystem: fileSystem)
        case .full:
            let reader = AnyRDBReader(source: AnyByteSource(try openRDBSource(path: path, fileSystem: fileSystem)),
                                      fileName: path, options: RDBReaderOptions(verifyChecksum: true, decodeValues: false))
            var keys = 0
            var dbs = Set<Int>()
            var header = ""
            var checksum = "no checksum"
            while let record = try reader.next() {
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
            return "\(header), \(keys) keys in \(dbs.count) db(s), \(checksum)"
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Returns a one-line summary, or throws naming the file and byte offset. Reads through the durable-file
    /// seam (positional reads, EINTR and short reads handled there).
    static func verifyChecksum(path: String, fileSystem: FileSystem = POSIXFileSystem()) throws -> String {
        let file: DurableFile
        do {
            file = try fileSystem.openForReading(path)
        } catch let e as FileIOError {
            throw Failure(description: "\(path): cannot open: \(e.message)")
        }
        defer { file.close() }
        let size = try file.size()
        guard size >= 9 + 1 else { throw Failure(description: "\(path): error at byte 0: only \(size) bytes, not an RDB") }

        let header = try file.readFully(at: 0, count: 9)
        guard header.count == 9 else { throw Failure(description: "\(path): error at byte \(header.count): cannot read the header") }
        let magic = String(decoding: header, as: UTF8.self)
        let version: Int
        if magic.hasPrefix("REDIS"), let v = Int(magic.dropFirst(5)) {
            version = v
        } else if magic.hasPrefix("VALKEY"), let v = Int(magic.dropFirst(6)) {
            version = v
        } else {
            throw Failure(description: "\(path): error at byte 0: bad magic \(RDBError.quote(header))")
        }
        guard version >= 5 else { return "RDB version \(version), \(size) bytes (no checksum before version 5)" }
        guard size >= 9 + 9 else { throw Failure(description: "\(path): error at byte \(size): truncated before the checksum") }

        // CRC over [0, size-8), then compare with the stored trailer.
        let bodyEnd = size - 8
        var crc: UInt64 = 0
        var lastByte: UInt8 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var pos: Int64 = 0
        while pos < bodyEnd {
            let want = Int(min(Int64(buffer.count), bodyEnd - pos))
            let got = try buffer.withUnsafeMutableBytes {
                try file.readFully(at: pos, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]))
            }
            guard got > 0 else { throw Failure(description: "\(path): error at byte \(pos): the file ends before its recorded size") }
            crc = buffer.withUnsafeBytes { CRC64.update(crc, UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
            lastByte = buffer[got - 1]
            pos += Int64(got)
        }
        guard lastByte == 0xFF else {
            throw Failure(description: "\(path): error at byte \(bodyEnd - 1): expected the EOF opcode 0xFF before the checksum, found 0x\(String(lastByte, radix: 16))")
        }
        let trailer = try file.readFully(at: bodyEnd, count: 8)
        guard trailer.count == 8 else { throw Failure(description: "\(path): error at byte \(bodyEnd): cannot read the checksum") }
        let stored = LittleEndian.load(trailer, at: 0, as: UInt64.self)
        if stored != 0 && stored != crc {
            throw Failure(description: "\(path): error at byte \(bodyEnd): checksum mismatch (stored \(String(stored, radix: 16)), computed \(String(crc, radix: 16)))")
        }
        return "\(magic), \(size) bytes, CRC-64 \(stored == 0 ? "disabled" : "ok")"
    }
}
