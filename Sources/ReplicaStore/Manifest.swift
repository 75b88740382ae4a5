import Base
import Foundation

/// The data directory's manifest (`MANIFEST`, JSON), the single source of truth for which files make up
/// the replica's state. Replaced atomically: write `MANIFEST.tmp`, fsync it, rename over `MANIFEST`,
/// fsync the directory (the same sequence as Redis 7's multi-part AOF `appendonly.aof.manifest`).
///
/// Files not named by the manifest are leftovers of an interrupted operation and are deleted at the next
/// writable open.
///
/// **It checks itself** (modelled on TigerBeetle's superblock: a sequence number and a checksum over
/// everything else). Version 2 adds:
/// - `sequence`: 1 for the first manifest of a directory, +1 on every replacement;
/// - `checksum`: zlib's CRC-32 (`Base.CRC32`) as 8 lowercase hex digits. **Byte rule:** the CRC is taken
///   over the file's exact bytes (JSON text and final newline) with the 8 digits of the `checksum` value
///   replaced by ASCII `0` (0x30). The value is found as the one occurrence of the bytes `"checksum" : "`
///   followed by 8 lowercase hex digits and `"`. So every byte of the file, whitespace included, is
///   covered; a change of any single byte (CRC-32 detects every error burst up to 32 bits) is refused;
/// - `snapshot.crc64`: the snapshot's CRC-64 trailer (Redis's `crc64`, checked by the verifier before
///   publish), compared with the file's trailer at every open.
///
/// **Version 1** manifests (no sequence, no checksum) are refused with an error that says what to do:
/// an edit of them cannot be told from the truth, and resuming from a wrong position is silent data loss,
/// while a new full sync is only slow.
public struct Manifest: Codable, Sendable, Equatable {
    /// The manifest's bytes as they are now, or nil when it cannot be read: what a read-only reader
    /// compares before and after a look, to tell a follower replacing files from real damage.
    static func currentBytes(directory: String, fileSystem: FileSystem) -> [UInt8]? {
        let path = joinPath(directory, fileName)
        guard let f = try? fileSystem.openForReading(path), let n = try? f.size(), n < 64 << 20 else { return nil }
        defer { f.close() }
        return try? f.readFully(at: 0, count: Int(n))
    }

    public static let fileName = "MANIFEST"
    public static let tempFileName = "MANIFEST.tmp"
    /// The compaction's new manifest, written and fsynced outside the store's lock (`Compaction.swift`,
    /// step 5), so it never shares `MANIFEST.tmp` with a roll's manifest write under the lock.
    public static let compactionTempFileName = "MANIFEST.compaction.tmp"
    /// 3: the log may hold clock records (`LogRecord`); 2: it holds none (read as before). A version 2
    /// manifest is rewritten as 3 at the store's next manifest write, and clock records are written only
    /// into a directory whose manifest says 3, so an older build refuses such a directory by its version
    /// rather than finding records it does not know.
    public static let currentVersion = 3
    /// The oldest version this build reads.
    public static let oldestReadableVersion = 2
    public static let formatName = "redis-replica-manifest"

    public var format: String = Manifest.formatName
    public var version: Int = Manifest.currentVersion
    /// 1 for a directory's first manifest, then +1 on every replacement (set by the store when it writes).
    public var sequence: Int64 = 0
    /// CRC-32 of the file (see the byte rule above), 8 lowercase hex digits; set by `encoded()`.
    public var checksum: String = Manifest.checksumPlaceholder
    /// The master's replication id the log is currently following (changes on +CONTINUE <newid>).
    public var replid: String
    /// The previous replication id and the first offset *not* valid under it
    /// (Redis `replid2` / `second_replid_offset`); nil when there is none.
    public var replid2: String?
    public var secondReplOffset: Int64?
    public var snapshot: SnapshotRecord
    /// Log segments in offset order; the first starts at `snapshot.offset`.
    public var segments: [SegmentRecord]
    public var lastSync: SyncRecord
    /// The next number for a new file name (`snapshot-NNNNNN.rdb`, `log-NNNNNN.seg`).
    public var nextFileNumber: Int
    /// The last compaction, when the snapshot was written by one (nil: the snapshot is the master's
    /// full-sync RDB, byte for byte). Absent from manifests written before compaction existed.
    public var compaction: CompactionRecord?

    /// The full sync this state descends from: the full-sync snapshot's file name, kept through
    /// compactions. A new full sync changes it; a compaction does not (readers that follow one dataset,
    /// such as `DatasetFollower`, compare it to tell the two apart).
    public var lineage: String { compaction?.fullSyncSnapshot ?? snapshot.file }

    public init(replid: String, replid2: String? = nil, secondReplOffset: Int64? = nil, snapshot: SnapshotRecord,
                segments: [SegmentRecord], lastSync: SyncRecord, nextFileNumber: Int) {
        self.replid = replid
        self.replid2 = replid2
        self.secondReplOffset = secondReplOffset
        self.snapshot = snapshot
        self.segments = segments
        self.lastSync = lastSync
        self.nextFileNumber = nextFileNumber
    }

    static let checksumPlaceholder = "00000000"
    /// The bytes before the checksum's 8 digits, as `JSONEncoder` (pretty-printed) writes the field.
    static let checksumNeedle = Array("\"checksum\" : \"".utf8)

    /// The file's bytes with `checksum` computed by the byte rule; `self.checksum` is ignored.
    func encoded() throws -> [UInt8] {
        var m = self
        m.checksum = Manifest.checksumPlaceholder
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var bytes = Array(try enc.encode(m)) + [0x0A]
        guard case .found(let at) = Manifest.locateChecksum(bytes) else {
            throw StoreError(.badManifest, file: nil, offset: nil, "internal: the encoded manifest has no checksum field")
        }
        bytes.replaceSubrange(at..<at + 8, with: Array(hexDigits(CRC32.checksum(bytes), 8).utf8))
        return bytes
    }

    enum ChecksumField: Equatable {
        case found(Int)
        case missing
        case duplicated(Int)
        case malformed(Int)
    }

    /// Where the checksum's 8 digits are (see the byte rule).
    static func locateChecksum(_ bytes: [UInt8]) -> ChecksumField {
        let n = checksumNeedle
        var hits: [Int] = []
        if bytes.count >= n.count {
            for i in 0...(bytes.count - n.count) where bytes[i] == n[0] && bytes[i..<i + n.count].elementsEqual(n) {
                hits.append(i + n.count)
            }
        }
        guard let at = hits.first else { return .missing }
        if hits.count > 1 { return .duplicated(hits[1]) }
        guard at + 9 <= bytes.count,
              bytes[at..<at + 8].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }),
              bytes[at + 8] == 0x22 else { return .malformed(at) }
        return .found(at)
    }

    /// Checks the byte rule, then parses and validates. Every refusal names the file and a byte offset.
    static func decode(_ bytes: [UInt8], path: String) throws -> Manifest {
        func bad(_ offset: Int, _ s: String) -> StoreError { StoreError(.badManifest, file: path, offset: Int64(offset), s) }
        switch locateChecksum(bytes) {
        case .found(let at):
            var zeroed = bytes
            zeroed.replaceSubrange(at..<at + 8, with: Array(checksumPlaceholder.utf8))
            let stored = String(decoding: bytes[at..<at + 8], as: UTF8.self)
            let computed = hexDigits(CRC32.checksum(zeroed), 8)
            guard stored == computed else {
                throw bad(at, "manifest checksum mismatch (stored \(stored), computed \(computed)): the file was changed or damaged after it was written; refusing to trust the position in it (restore it from a backup, or move the directory aside and let `follow` full-sync into a new one)")
            }
        case .missing:
            if let v = try? JSONDecoder().decode(VersionProbe.self, from: Data(bytes)), v.version == 1, v.format == formatName {
                throw bad(0, "manifest version 1 (written by an older redis-replica) has no checksum, so its position cannot be verified; move this directory aside and run `redis-replica follow` with a new one (one full sync), or keep using the older build")
            }
            throw bad(0, "no checksum field (\"checksum\" : \"<8 lowercase hex digits>\") found; the file is not a redis-replica manifest or is damaged")
        case .duplicated(let at):
            throw bad(at, "a second checksum field; the file is damaged")
        case .malformed(let at):
            throw bad(at, "the checksum is not 8 lowercase hex digits followed by a quote; the file is damaged")
        }
        let m: Manifest
        do {
            m = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        } catch {
            throw bad(0, "cannot parse the manifest: \(error)")
        }
        guard m.format == formatName else { throw bad(0, "not a redis-replica manifest (format \"\(m.format)\")") }
        guard m.version >= oldestReadableVersion && m.version <= currentVersion else {
            throw bad(0, "manifest version \(m.version) is not supported (this build reads versions \(oldestReadableVersion) to \(currentVersion))")
        }
        guard m.sequence >= 1 else { throw bad(0, "sequence \(m.sequence) is not positive") }
        try m.validate(path: path)
        return m
    }

    private struct VersionProbe: Decodable {
        var format: String
        var version: Int
    }

    /// Structural checks that do not need the other files.
    func validate(path: String) throws {
        func bad(_ s: String) -> StoreError { StoreError(.badManifest, file: path, offset: 0, s) }
        guard ReplicationID.isValid(replid) else { throw bad("replid \"\(replid)\" is not 40 hex characters") }
        if let r2 = replid2, !ReplicationID.isValid(r2) { throw bad("replid2 \"\(r2)\" is not 40 hex characters") }
        guard ReplicationID.isValid(snapshot.replid) else { throw bad("snapshot replid \"\(snapshot.replid)\" is not 40 hex characters") }
        if let c = snapshot.crc64, c.utf8.count != 16 || UInt64(c, radix: 16) == nil || c != c.lowercased() {
            throw bad("snapshot crc64 \"\(c)\" is not 16 lowercase hex digits")
        }
        guard ReplicaStore.isPlainName(snapshot.file) else { throw bad("bad snapshot file name \"\(snapshot.file)\"") }
        // Bounds keep every later sum far from overflow (Redis offsets are `long long`; 2^62 is plenty).
        let maxOffset = Int64(1) << 62
        guard snapshot.offset >= 0 && snapshot.offset <= maxOffset else { throw bad("snapshot offset \(snapshot.offset) out of range") }
        if let o = secondReplOffset, o < -1 || o > maxOffset { throw bad("second replication offset \(o) out of range") }
        guard (1...999_999_999).contains(nextFileNumber) else { throw bad("nextFileNumber \(nextFileNumber) out of range") }
        guard snapshot.streamDB >= 0 && snapshot.streamDB <= Int(UInt32.max) else { throw bad("snapshot stream db \(snapshot.streamDB) out of range") }
        guard let first = segments.first else { throw bad("no log segments") }
        // A full sync's log starts at its snapshot. A compacted snapshot's offset may lie inside its first
        // segment (kept whole; readers skip the bytes up to the snapshot's offset), never before it.
        if compaction == nil {
            guard first.start == snapshot.offset else {
                throw bad("first log segment starts at \(first.start), the snapshot is at \(snapshot.offset)")
            }
        } else {
            guard first.start <= snapshot.offset else {
                throw bad("first log segment starts at \(first.start), after the compacted snapshot's offset \(snapshot.offset)")
            }
            if segments.count > 1 && segments[1].start <= snapshot.offset {
                throw bad("the compacted snapshot's offset \(snapshot.offset) is not inside the first log segment \(first.file) (the next one starts at \(segments[1].start))")
            }
        }
        for s in segments where s.start > maxOffset { throw bad("segment \(s.file) start \(s.start) out of range") }
        for (a, b) in zip(segments, segments.dropFirst()) where b.start < a.start {
            throw bad("log segments out of order (\(a.file) at \(a.start), then \(b.file) at \(b.start))")
        }
        for s in segments where !ReplicaStore.isPlainName(s.file) { throw bad("bad segment file name \"\(s.file)\"") }
        for s in segments where s.startStreamDB.map({ $0 < 0 || $0 > Int(UInt32.max) }) == true {
            throw bad("segment \(s.file) start stream db \(s.startStreamDB!) out of range")
        }
    }
}

/// The last compaction (see `Compaction.swift`): when, at which offset, and the full sync it descends from.
public struct CompactionRecord: Codable, Sendable, Equatable {
    /// Unix time in milliseconds when the manifest switched to the compacted snapshot.
    public var unixMs: Int64
    /// The snapshot's offset (a command boundary outside MULTI/EXEC).
    public var offset: Int64
    /// The full-sync snapshot the dataset descends from (`Manifest.lineage`).
    public var fullSyncSnapshot: String
    /// Compactions since that full sync.
    public var count: Int64
    public init(unixMs: Int64, offset: Int64, fullSyncSnapshot: String, count: Int64) {
        self.unixMs = unixMs
        self.offset = offset
        self.fullSyncSnapshot = fullSyncSnapshot
        self.count = count
    }
}

/// The base snapshot and its replication position.
public struct SnapshotRecord: Codable, Sendable, Equatable {
    public var file: String
    /// The position from `+FULLRESYNC <replid> <offset>`: authoritative (the stream that follows is
    /// counted from it).
    public var replid: String
    public var offset: Int64
    /// The stream db at the snapshot position: the snapshot's `repl-stream-db` AUX, or 0 without one
    /// (the master sends SELECT before the first command after a full sync anyway).
    public var streamDB: Int
    /// The `repl-id`/`repl-offset`/`repl-stream-db` AUX fields found in the file when it was published
    /// (nil when it has none). Checked against the file at every start.
    public var aux: SnapshotAux?
    public var size: Int64
    /// The CRC-64 in the file's trailer (Redis's crc64 over everything before it), 16 lowercase hex
    /// digits; nil when the file has none (RDB before version 5, or written with rdbchecksum no).
    /// Compared with the trailer at every open.
    public var crc64: String?
    public init(file: String, replid: String, offset: Int64, streamDB: Int, aux: SnapshotAux?, size: Int64,
                crc64: String? = nil) {
        self.file = file
        self.replid = replid
        self.offset = offset
        self.streamDB = streamDB
        self.aux = aux
        self.size = size
        self.crc64 = crc64
    }
}

/// A snapshot's replication AUX fields, as Redis reads them at start-up (`rdbLoad` fills `rdbSaveInfo`).
public struct SnapshotAux: Codable, Sendable, Equatable, CustomStringConvertible {
    public var replid: String?
    public var offset: Int64?
    public var streamDB: Int?
    public init(replid: String?, offset: Int64?, streamDB: Int?) {
        self.replid = replid
        self.offset = offset
        self.streamDB = streamDB
    }
    /// How these AUX fields disagree with a replication position (nil when every field present agrees).
    func disagreement(replid: String, offset: Int64) -> String? {
        if let r = self.replid, r != replid { return "repl-id \(r) differs from \(replid)" }
        if let o = self.offset, o != offset { return "repl-offset \(o) differs from \(offset)" }
        return nil
    }

    public var description: String {
        "repl-id \(replid ?? "(none)") repl-offset \(offset.map(String.init) ?? "(none)") repl-stream-db \(streamDB.map(String.init) ?? "(none)")"
    }
}

public struct SegmentRecord: Codable, Sendable, Equatable {
    public var file: String
    /// The replication offset before the segment's first byte.
    public var start: Int64
    /// The stream db selected at `start` (the db after the previous segment's last record), recorded when
    /// the segment is created. With it, a writable open need not scan the sealed segment before this one
    /// to know the db (see `Recovery`); nil in manifests written before it existed.
    public var startStreamDB: Int?
    public init(file: String, start: Int64, startStreamDB: Int? = nil) {
        self.file = file
        self.start = start
        self.startStreamDB = startStreamDB
    }
}

public struct SyncRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case full, partial }
    public var kind: Kind
    /// Unix time in milliseconds.
    public var unixMs: Int64
    public init(kind: Kind, unixMs: Int64) {
        self.kind = kind
        self.unixMs = unixMs
    }
}

/// `v` in lowercase hex, zero-padded to `digits` (the manifest's checksum and crc64; log error messages).
func hexDigits<T: FixedWidthInteger & UnsignedInteger>(_ v: T, _ digits: Int) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, digits - s.count)) + s
}
