import Base
import Foundation

/// The data directory's manifest (`MANIFEST`, JSON), the single source of truth for which files make up
/// the replica's state. Replaced atomically: write `MANIFEST.tmp`, fsync it, rename over `MANIFEST`,
/// fsync the directory (the same sequence as Redis 7's multi-part AOF `appendonly.aof.manifest`).
///
/// Files not named by the manifest are leftovers of an interrupted operation and are deleted at the next
/// writable open.
public struct Manifest: Codable, Sendable, Equatable {
    public static let fileName = "MANIFEST"
    public static let tempFileName = "MANIFEST.tmp"
    public static let currentVersion = 1
    public static let formatName = "redis-replica-manifest"

    public var format: String = Manifest.formatName
    public var version: Int = Manifest.currentVersion
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

    func encoded() throws -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try enc.encode(self)) + [0x0A]
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> Manifest {
        let m: Manifest
        do {
            m = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        } catch {
            throw StoreError(.badManifest, file: path, offset: nil, "cannot parse the manifest: \(error)")
        }
        guard m.format == formatName else {
            throw StoreError(.badManifest, file: path, offset: nil, "not a redis-replica manifest (format \"\(m.format)\")")
        }
        guard m.version == currentVersion else {
            throw StoreError(.badManifest, file: path, offset: nil,
                             "manifest version \(m.version) is not supported (this build reads version \(currentVersion))")
        }
        try m.validate(path: path)
        return m
    }

    /// Structural checks that do not need the other files.
    func validate(path: String) throws {
        func bad(_ s: String) -> StoreError { StoreError(.badManifest, file: path, offset: nil, s) }
        guard ReplicationID.isValid(replid) else { throw bad("replid \"\(replid)\" is not 40 hex characters") }
        if let r2 = replid2, !ReplicationID.isValid(r2) { throw bad("replid2 \"\(r2)\" is not 40 hex characters") }
        guard ReplicaStore.isPlainName(snapshot.file) else { throw bad("bad snapshot file name \"\(snapshot.file)\"") }
        // Bounds keep every later sum far from overflow (Redis offsets are `long long`; 2^62 is plenty).
        let maxOffset = Int64(1) << 62
        guard snapshot.offset >= 0 && snapshot.offset <= maxOffset else { throw bad("snapshot offset \(snapshot.offset) out of range") }
        if let o = secondReplOffset, o < -1 || o > maxOffset { throw bad("second replication offset \(o) out of range") }
        guard (1...999_999_999).contains(nextFileNumber) else { throw bad("nextFileNumber \(nextFileNumber) out of range") }
        guard snapshot.streamDB >= 0 && snapshot.streamDB <= Int(UInt32.max) else { throw bad("snapshot stream db \(snapshot.streamDB) out of range") }
        guard let first = segments.first else { throw bad("no log segments") }
        guard first.start == snapshot.offset else {
            throw bad("first log segment starts at \(first.start), the snapshot is at \(snapshot.offset)")
        }
        for s in segments where s.start > maxOffset { throw bad("segment \(s.file) start \(s.start) out of range") }
        for (a, b) in zip(segments, segments.dropFirst()) where b.start < a.start {
            throw bad("log segments out of order (\(a.file) at \(a.start), then \(b.file) at \(b.start))")
        }
        for s in segments where !ReplicaStore.isPlainName(s.file) { throw bad("bad segment file name \"\(s.file)\"") }
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
    public init(file: String, replid: String, offset: Int64, streamDB: Int, aux: SnapshotAux?, size: Int64) {
        self.file = file
        self.replid = replid
        self.offset = offset
        self.streamDB = streamDB
        self.aux = aux
        self.size = size
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
    public var description: String {
        "repl-id \(replid ?? "(none)") repl-offset \(offset.map(String.init) ?? "(none)") repl-stream-db \(streamDB.map(String.init) ?? "(none)")"
    }
}

public struct SegmentRecord: Codable, Sendable, Equatable {
    public var file: String
    /// The replication offset before the segment's first byte.
    public var start: Int64
    public init(file: String, start: Int64) {
        self.file = file
        self.start = start
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
