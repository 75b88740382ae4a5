import Base
import RDB

/// Reads a snapshot's replication position from its first records with the streaming `RDBReader`: the
/// header and the AUX fields `repl-id`, `repl-offset`, `repl-stream-db` that Redis itself reads at start-up
/// (`rdbLoad` into `rdbSaveInfo`). Redis writes them in `rdbSaveInfoAuxFields`, right after the header and
/// before module AUX, functions and the first SELECTDB; reading stops at the first SELECTDB, RESIZEDB,
/// key or EOF, so the cost does not depend on the dataset. (Redis 4.0-6.2 add `lua` AUX fields *after*
/// the databases; they carry no position and are not read here.)
enum SnapshotInspector {
    /// Returns the header text (e.g. `REDIS0010`) and the replication AUX fields (nil if none of the three).
    static func readPosition(file: DurableFile, name: String) throws -> (String, SnapshotAux?) {
        let reader = RDBReader(source: FileByteSource(file: file), fileName: name,
                               options: RDBReaderOptions(verifyChecksum: false, decodeValues: false,
                                                         maxStringLength: 64 << 20, bufferSize: 64 << 10))
        var header: String?
        var replid: String?
        var offset: Int64?
        var db: Int?
        func bad(_ s: String) -> StoreError { StoreError(.badSnapshot, file: name, offset: reader.bytesConsumed, s) }
        do {
            scan: while let record = try reader.next() {
                switch record {
                case .header(let h): header = h.text
                case .aux(let key, let value):
                    let v = String(decoding: value, as: UTF8.self)
                    switch String(decoding: key, as: UTF8.self) {
                    case "repl-id": replid = v
                    case "repl-offset":
                        guard let n = Int64(v) else { throw bad("AUX repl-offset \"\(v)\" is not an integer") }
                        offset = n
                    case "repl-stream-db":
                        guard let n = Int(v) else { throw bad("AUX repl-stream-db \"\(v)\" is not an integer") }
                        db = n
                    default: break
                    }
                case .moduleAux, .function: continue
                default: break scan
                }
            }
        } catch let e as RDBError {
            throw StoreError(.badSnapshot, file: name, offset: e.offset, "not a readable RDB file: \(e.message)")
        }
        guard let header else { throw bad("empty file, not an RDB snapshot") }
        if replid == nil && offset == nil && db == nil { return (header, nil) }
        return (header, SnapshotAux(replid: replid, offset: offset, streamDB: db))
    }
}

extension SnapshotInspector {
    /// The CRC-64 stored in the snapshot's trailer (rdb.c `rdbSaveRio`: the EOF opcode 0xFF, then Redis's
    /// crc64 of everything before the trailer, 8 bytes little-endian), read without scanning the file.
    /// nil when the file has none: RDB before version 5, a stored 0 (`rdbchecksum no`), or no EOF opcode
    /// where the trailer would start. `header` is the magic as `readPosition` returns it (`REDIS0011`).
    static func trailerCRC64(file: DurableFile, size: Int64, header: String) throws -> UInt64? {
        let version = header.hasPrefix("REDIS") ? Int(header.dropFirst(5)) : header.hasPrefix("VALKEY") ? Int(header.dropFirst(6)) : nil
        guard let version, version >= 5, size >= 9 + 9 else { return nil }
        let tail = try file.readFully(at: size - 9, count: 9)
        guard tail.count == 9, tail[0] == 0xFF else { return nil }
        let crc = LittleEndian.load(tail, at: 1, as: UInt64.self)
        return crc == 0 ? nil : crc
    }
}
