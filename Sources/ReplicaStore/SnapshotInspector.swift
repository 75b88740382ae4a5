import RDB

/// Reads a snapshot's replication position from its first records: the header and the AUX fields
/// `repl-id`, `repl-offset`, `repl-stream-db` that Redis itself reads at start-up (`rdbLoad` into
/// `rdbSaveInfo`; Redis 4.0+ writes them right after the header, before the first SELECTDB).
/// Reading stops at the first record that is not AUX, so the cost does not depend on the dataset.
enum SnapshotInspector {
    /// Returns the header text (e.g. `REDIS0010`) and the replication AUX fields (nil if none of the three).
    static func readPosition(file: StoreFile, name: String) throws -> (String, SnapshotAux?) {
        var source = StoreFileByteSource(file: file)
        var p = AuxPrefixParser(source: source, fileName: name)
        defer { source = p.source }
        let header = try p.readHeader()
        var replid: String?
        var offset: Int64?
        var db: Int?
        func bad(_ at: Int64, _ s: String) -> StoreError { StoreError(.badSnapshot, file: name, offset: at, s) }
        while let (key, value, at) = try p.nextAux() {
            let k = String(decoding: key, as: UTF8.self)
            let v = String(decoding: value, as: UTF8.self)
            switch k {
            case "repl-id": replid = v
            case "repl-offset":
                guard let n = Int64(v) else { throw bad(at, "AUX repl-offset \"\(v)\" is not an integer") }
                offset = n
            case "repl-stream-db":
                guard let n = Int(v) else { throw bad(at, "AUX repl-stream-db \"\(v)\" is not an integer") }
                db = n
            default: break
            }
        }
        if replid == nil && offset == nil && db == nil { return (header, nil) }
        return (header, SnapshotAux(replid: replid, offset: offset, streamDB: db))
    }
}

/// A `ByteSource` over a `StoreFile`, reading sequentially from offset 0.
struct StoreFileByteSource: ByteSource {
    let file: StoreFile
    var offset: Int64 = 0
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try file.read(at: offset, into: buffer)
        offset += Int64(n)
        return n
    }
}

/// The header and leading AUX records of an RDB file, nothing more (RDB v7+ `RDB_OPCODE_AUX`, strings in
/// RDB string encoding: plain, INT8/16/32, LZF). Stops at the first other opcode.
struct AuxPrefixParser {
    var source: StoreFileByteSource
    let fileName: String
    private var buffer: [UInt8] = []
    private var pos = 0
    private var consumed: Int64 = 0
    private var eof = false

    init(source: StoreFileByteSource, fileName: String) {
        self.source = source
        self.fileName = fileName
    }

    private func fail(_ s: String) -> StoreError { StoreError(.badSnapshot, file: fileName, offset: consumed, s) }

    private mutating func fill(_ n: Int) throws -> Bool {
        while buffer.count - pos < n && !eof {
            if pos > 0 { buffer.removeSubrange(0..<pos); pos = 0 }
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            let got = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if got == 0 { eof = true } else { buffer.append(contentsOf: chunk[0..<got]) }
        }
        return buffer.count - pos >= n
    }

    private mutating func bytes(_ n: Int) throws -> [UInt8] {
        guard try fill(n) else { throw fail("truncated (wanted \(n) bytes)") }
        let out = Array(buffer[pos..<(pos + n)])
        pos += n
        consumed += Int64(n)
        return out
    }

    private mutating func byte() throws -> UInt8 { try bytes(1)[0] }

    mutating func readHeader() throws -> String {
        guard try fill(9) else { throw fail("not an RDB file (shorter than the 9-byte header)") }
        let h = try bytes(9)
        let text = String(decoding: h, as: UTF8.self)
        if text.hasPrefix("REDIS"), Int(text.dropFirst(5)) != nil { return text }
        if text.hasPrefix("VALKEY"), Int(text.dropFirst(6)) != nil { return text }
        throw fail("not an RDB file (header \(RDBError.quote(h)))")
    }

    /// The next AUX record, or nil at the first non-AUX opcode (or the end of the file).
    mutating func nextAux() throws -> (Bytes, Bytes, Int64)? {
        guard try fill(1) else { return nil }
        guard buffer[pos] == RDBOpcode.aux else { return nil }
        let at = consumed
        _ = try byte()
        let k = try string()
        let v = try string()
        return (k, v, at)
    }

    /// RDB length encoding; `special` carries the 11xxxxxx encoding type.
    private mutating func length() throws -> (UInt64, Int?) {
        let b = try byte()
        switch b >> 6 {
        case 0: return (UInt64(b & 0x3f), nil)
        case 1: return ((UInt64(b & 0x3f) << 8) | UInt64(try byte()), nil)
        case 2:
            if b == 0x80 { return (try bytes(4).reduce(0) { $0 << 8 | UInt64($1) }, nil) }
            if b == 0x81 { return (try bytes(8).reduce(0) { $0 << 8 | UInt64($1) }, nil) }
            throw fail("bad length byte 0x\(String(b, radix: 16))")
        default: return (0, Int(b & 0x3f))
        }
    }

    private mutating func string() throws -> Bytes {
        let (len, special) = try length()
        let cap: UInt64 = 16 << 20 // AUX values are small; a bigger one is not an AUX field we read
        switch special {
        case nil:
            guard len <= cap else { throw fail("AUX string length \(len) is implausible") }
            return try bytes(Int(len))
        case 0: return Array(String(Int8(bitPattern: try byte())).utf8)
        case 1:
            let b = try bytes(2)
            return Array(String(Int16(bitPattern: UInt16(b[0]) | UInt16(b[1]) << 8)).utf8)
        case 2:
            let b = try bytes(4)
            let v = UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
            return Array(String(Int32(bitPattern: v)).utf8)
        case 3:
            let (clen, _) = try length()
            let (ulen, _) = try length()
            guard clen <= cap, ulen <= cap else { throw fail("LZF AUX string lengths \(clen)/\(ulen) are implausible") }
            let c = try bytes(Int(clen))
            do {
                return try c.withUnsafeBytes { try LZF.decompress($0, expectedLength: Int(ulen)) }
            } catch {
                throw fail("AUX string: \(error)")
            }
        default:
            throw fail("unknown string encoding \(special ?? -1)")
        }
    }
}
