import Base
import RDB

/// Makes the snapshot a downstream replica receives say what `+FULLRESYNC` said.
///
/// After an upstream `+CONTINUE` with a new replication id, our history is the new id (PSYNC2: the new
/// history contains the old one up to the switch offset), but the base snapshot on disk is the master's
/// full-sync RDB, whose AUX `repl-id` still names the old id. We announce `+FULLRESYNC <new id> <snapshot
/// offset>` and rewrite the AUX value while the file is sent: the id is 40 characters either way, so the
/// length (`$<len>`) is unchanged; the CRC-64 trailer (rdb.c `rdbSaveRio`: crc64 of every byte before it,
/// little-endian) is recomputed over the bytes as sent. The file itself is never modified.
///
/// Redis writes `repl-id` with `rdbSaveAuxFieldStrStr` right after the header (`rdbSaveInfoAuxFields`);
/// a 40-character value is stored raw (1-byte length 40) unless `rdbcompression` found an LZF form
/// shorter than it, which random hex almost never has. Only the raw form is rewritten; for the other the
/// caller announces the AUX id instead (still equal to the AUX, only less useful after the switch).
struct SnapshotReplidRewrite {
    /// Where the 40 value bytes are in the file.
    let valueStart: Int64
    let newReplid: [UInt8]
    let size: Int64
    /// Recompute the trailer (the file has a non-zero CRC-64; a zero one means "not checked").
    let rewriteCRC: Bool
    private var crc: UInt64 = 0

    /// The AUX record as Redis writes it: opcode 0xFA, key "repl-id" (length 7), value of length 40.
    static func pattern(replid: String) -> [UInt8] {
        [0xFA, 7] + Array("repl-id".utf8) + [40] + Array(replid.utf8)
    }

    /// How far into the file the AUX fields are looked for (they follow the 9-byte header, after redis-ver,
    /// redis-bits, ctime, used-mem and repl-stream-db: about 100 bytes).
    static let searchLimit = 4096

    /// The rewrite of `oldReplid` into `newReplid` in `file`, or nil when the raw AUX record is not found.
    static func make(file: DurableFile, size: Int64, oldReplid: String, newReplid: String,
                     hasCRC: Bool) throws -> SnapshotReplidRewrite? {
        guard oldReplid.utf8.count == 40, newReplid.utf8.count == 40 else { return nil }
        let head = try file.readFully(at: 0, count: Int(min(size, Int64(searchLimit))))
        let needle = pattern(replid: oldReplid)
        guard head.count >= needle.count else { return nil }
        for i in 0...(head.count - needle.count) where head[i] == 0xFA && head[i..<i + needle.count].elementsEqual(needle) {
            return SnapshotReplidRewrite(valueStart: Int64(i + needle.count - 40), newReplid: Array(newReplid.utf8),
                                         size: size, rewriteCRC: hasCRC && size >= 9 + 8)
        }
        return nil
    }

    init(valueStart: Int64, newReplid: [UInt8], size: Int64, rewriteCRC: Bool) {
        self.valueStart = valueStart
        self.newReplid = newReplid
        self.size = size
        self.rewriteCRC = rewriteCRC
    }

    /// Rewrites `chunk`, the file's bytes at `position`; chunks must come in order, without gaps.
    mutating func apply(_ chunk: inout [UInt8], at position: Int64) {
        let end = position + Int64(chunk.count)
        // The repl-id value.
        let lo = max(position, valueStart), hi = min(end, valueStart + 40)
        if lo < hi {
            for p in lo..<hi { chunk[Int(p - position)] = newReplid[Int(p - valueStart)] }
        }
        guard rewriteCRC else { return }
        let crcEnd = size - 8
        if position < crcEnd {
            let n = Int(min(end, crcEnd) - position)
            crc = chunk.withUnsafeBytes { CRC64.update(crc, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        // The trailer: the new CRC-64, little-endian.
        let trailer = LittleEndian.bytes(crc)
        let tlo = max(position, crcEnd)
        if tlo < end {
            for p in tlo..<end { chunk[Int(p - position)] = trailer[Int(p - crcEnd)] }
        }
    }
}
