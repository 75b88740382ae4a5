import Base

/// One record of a log segment: a framed batch of raw replication stream bytes, or a clock record.
///
/// Layout (all integers little-endian), 28-byte header then the payload:
///
///     0   4  magic "RRLG" (0x52 0x52 0x4C 0x47)
///     4   1  version (1)
///     5   1  flags: bit 0 `continues` (see below), bit 1 `clock` (see below); the other bits are zero
///     6   2  reserved, zero
///     8   4  payload length n (UInt32, > 0)
///     12  8  start offset (UInt64): the replication offset *before* the first payload byte, i.e. the
///            offset a replica had reached; the record covers offsets start+1 ... start+n (Redis counts
///            the first stream byte after `+FULLRESYNC <id> <o>` as byte o+1), so its end is start + n
///     20  4  stream db after the record (UInt32): the db the master's stream has selected once these
///            bytes are applied (Redis does not re-send SELECT after +CONTINUE)
///     24  4  CRC-32 (zlib `crc32`) over header bytes 0..<24 followed by the payload
///     28  n  payload: exactly the bytes the master sent, ending on a complete command outside MULTI,
///            unless the record is flagged `continues`
///
/// **Continuation records.** A record flagged `continues` ends *inside* a command or a MULTI/EXEC
/// transaction: the bytes go on in the next record, and only a record without the flag ends on a command
/// boundary outside MULTI (a resume point, what `PSYNC` may continue from). The link hands out the bytes
/// of a command still arriving in bounded chunks (a 3 GB `SET` value, a transaction of many commands), so
/// they are written as a run of flagged records closed by an unflagged one, and are never all held in
/// memory. A run never spans segments (segments roll only at a boundary), so every segment starts, and every
/// segment but the last ends, at a boundary. The store's position, the manifest's segment starts, the
/// offset ACKed and the offset readers are bounded by stay at the last boundary: the bytes of an unfinished
/// run are not visible to any reader until the closing record is written.
///
/// **Clock records** (log format of manifest version 3). A record flagged `clock` carries no stream bytes:
/// its payload is exactly 8 bytes, the wall-clock time (Unix ms, Int64) at which the stream bytes of the
/// records after it arrived, up to the next clock record. Its start offset is the previous record's end, and
/// so is its end: it covers no offsets, so offsets, the position, and every reader of stream bytes
/// (`LogTail`, `forEachLogRecord`, `StoreReadView`) skip it; they only report its time with the records that
/// follow (`LogEntry.arrivalMs`, `LogTail.arrivalMs`). The store writes one before an `append` when the clock
/// has moved since the last one it wrote in that segment (so at most one per millisecond), and before the
/// first append to each segment: a reader starting at a segment's start finds the time of every closing
/// record in that segment. The dataset makes a Redis 6.2 master's relative TTLs (`EXPIRE`, `SETEX`,
/// `SET … EX`), which a real replica makes absolute when the command arrives, absolute with this time, so a
/// replay after a restart gives the same expiry as applying it live. Logs without clock records (manifest
/// version 2, or a store opened without `Options.recordArrivalTime`) are read as before: the reader's
/// clock stands in. A clock record at a command boundary is a resting point like a closing record (a
/// trailing one is kept); inside a `continues` run it belongs to the run.
///
/// **Torn-tail rule.** A record is valid iff its header is complete, the magic and version match, its
/// payload is complete, the CRC matches, and its start offset equals the previous record's end (the first
/// record of a segment starts at the segment's start offset from the manifest). At recovery the records of
/// each segment are read in order; in the **last** segment the first invalid record and everything after
/// it is a torn tail and is cut (the file is truncated to the last whole record), *unless* a valid record
/// (magic, complete, CRC match, start offset at or after the cut point) is found anywhere after the damage:
/// then the damage is in the middle of data that was once whole, not a torn write, and recovery refuses to
/// start. Any invalid record in an earlier segment, or an earlier segment that does not end exactly at the
/// next segment's start offset, refuses to start. Errors name the file and the byte offset.
///
/// **Unfinished-command rule.** Valid `continues` records at the end of the last segment, with no closing
/// record after them, are the start of a command that never finished arriving before a crash (or a lost
/// connection whose discard did not happen): they are cut with the torn tail, at the file offset of the
/// first record of the run, so the log ends at the boundary before that command. Nothing acknowledged is
/// lost: the ACKed offset never passes a boundary. A segment other than the last that ends on a
/// `continues` record refuses to start (a run never spans segments).
public enum LogRecord {
    public static let magic: [UInt8] = [0x52, 0x52, 0x4C, 0x47]
    public static let version: UInt8 = 1
    /// Flag bit in header byte 5: the payload ends inside a command; the command continues in the next record.
    public static let continuesFlag: UInt8 = 0x01
    /// Flag bit in header byte 5: a clock record (8-byte payload: Unix ms), covering no stream bytes.
    public static let clockFlag: UInt8 = 0x02
    /// A clock record's payload length.
    public static let clockPayloadSize = 8
    public static let headerSize = 28
    /// A record's payload length is a UInt32.
    public static let maxPayload = Int(UInt32.max)

    /// The header for a payload (CRC included).
    public static func header(startOffset: Int64, streamDB: Int, payload: UnsafeRawBufferPointer,
                              continues: Bool = false) -> [UInt8] {
        header(startOffset: startOffset, streamDB: streamDB, payload: payload, flags: continues ? continuesFlag : 0)
    }

    /// A whole clock record (header and payload) at `startOffset`: the stream bytes after it arrived at `unixMs`.
    public static func clockRecord(startOffset: Int64, streamDB: Int, unixMs: Int64) -> [UInt8] {
        var payload = [UInt8](repeating: 0, count: clockPayloadSize)
        LittleEndian.store(UInt64(bitPattern: unixMs), into: &payload, at: 0)
        var record = payload.withUnsafeBytes { header(startOffset: startOffset, streamDB: streamDB, payload: $0, flags: clockFlag) }
        record.append(contentsOf: payload)
        return record
    }

    private static func header(startOffset: Int64, streamDB: Int, payload: UnsafeRawBufferPointer, flags: UInt8) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: headerSize)
        h[0] = magic[0]; h[1] = magic[1]; h[2] = magic[2]; h[3] = magic[3]
        h[4] = version
        h[5] = flags
        LittleEndian.store(UInt32(payload.count), into: &h, at: 8)
        LittleEndian.store(UInt64(bitPattern: startOffset), into: &h, at: 12)
        LittleEndian.store(UInt32(truncatingIfNeeded: streamDB), into: &h, at: 20)
        var crc = h.withUnsafeBytes { CRC32.update(0, UnsafeRawBufferPointer(rebasing: $0[0..<24])) }
        crc = CRC32.update(crc, payload)
        LittleEndian.store(crc, into: &h, at: 24)
        return h
    }

    /// The fields of a header whose magic and version matched (CRC not yet checked).
    struct Header {
        var payloadLength: Int
        var startOffset: Int64
        var streamDB: Int
        /// Flagged `continues`: the payload ends inside a command.
        var continues: Bool
        /// Flagged `clock`: the payload is a Unix ms time and covers no stream bytes.
        var clock: Bool
        var crc: UInt32
        /// CRC of bytes 0..<24, to be continued over the payload.
        var partialCRC: UInt32
    }

    /// Parses a 28-byte header; nil when magic, version, an unknown flag (or both flags), a clock record's
    /// length, or the reserved bytes are wrong.
    static func parseHeader(_ b: UnsafeRawBufferPointer) -> Header? {
        guard b.count >= headerSize,
              b[0] == magic[0], b[1] == magic[1], b[2] == magic[2], b[3] == magic[3],
              b[4] == version, b[5] & ~(continuesFlag | clockFlag) == 0, b[5] != continuesFlag | clockFlag,
              b[6] == 0, b[7] == 0 else { return nil }
        let len = Int(LittleEndian.load(b, at: 8, as: UInt32.self))
        let start = LittleEndian.load(b, at: 12, as: Int64.self)
        let db = Int(LittleEndian.load(b, at: 20, as: UInt32.self))
        let crc = LittleEndian.load(b, at: 24, as: UInt32.self)
        let clock = b[5] & clockFlag != 0
        guard len > 0, start >= 0, !clock || len == clockPayloadSize else { return nil }
        let partial = CRC32.update(0, UnsafeRawBufferPointer(rebasing: b[0..<24]))
        return Header(payloadLength: len, startOffset: start, streamDB: db, continues: b[5] & continuesFlag != 0,
                      clock: clock, crc: crc, partialCRC: partial)
    }
}
