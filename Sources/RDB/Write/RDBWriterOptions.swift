import Base
import Foundation

/// How `RDBWriter` encodes: the target RDB version, compression, what to do with data the target
/// cannot represent, and Redis's default encoding thresholds (redis.conf 7.x defaults).
public struct RDBWriterOptions: Sendable {
    /// The RDB version to write (`REDIS%04d`): 7 (Redis 3.2) through 12 (Redis 7.4 / 8.x); or 80, Valkey 9's
    /// `VALKEY080` (see `valkeyVersion`).
    public var rdbVersion: Int
    /// LZF-compress strings longer than 20 bytes when that saves at least 4 bytes (`rdbcompression yes`).
    public var compress: Bool
    /// Write the CRC-64 trailer (`rdbchecksum yes`); when false the trailer is 0, which loaders skip.
    public var checksum: Bool
    /// Below RDB 12: write hashes with field TTLs as plain hashes (the fields stay, their TTLs go).
    /// Without it such a key is an error.
    public var dropFieldTTL: Bool
    /// Below RDB 10: skip FUNCTION2 libraries instead of failing.
    public var dropFunctions: Bool

    /// `list-max-listpack-size -2`: at most 8 KB per quicklist node.
    public var listMaxNodeBytes: Int
    public var hashMaxListpackEntries: Int
    public var hashMaxListpackValue: Int
    public var setMaxIntsetEntries: Int
    /// RDB 11+ only (Redis 7.2 `set-max-listpack-*`).
    public var setMaxListpackEntries: Int
    public var setMaxListpackValue: Int
    public var zsetMaxListpackEntries: Int
    public var zsetMaxListpackValue: Int
    /// `stream-node-max-entries` / `stream-node-max-bytes`.
    public var streamNodeMaxEntries: Int
    public var streamNodeMaxBytes: Int

    public init(rdbVersion: Int = RDBWriterOptions.newestVersion, compress: Bool = true, checksum: Bool = true,
                dropFieldTTL: Bool = false, dropFunctions: Bool = false) {
        self.rdbVersion = rdbVersion
        self.compress = compress
        self.checksum = checksum
        self.dropFieldTTL = dropFieldTTL
        self.dropFunctions = dropFunctions
        listMaxNodeBytes = 8192
        hashMaxListpackEntries = 128
        hashMaxListpackValue = 64
        setMaxIntsetEntries = 512
        setMaxListpackEntries = 128
        setMaxListpackValue = 64
        zsetMaxListpackEntries = 128
        zsetMaxListpackValue = 64
        streamNodeMaxEntries = 100
        streamNodeMaxBytes = 4096
    }

    /// The oldest version written: 7 (Redis 3.2: quicklist, AUX, RESIZEDB).
    public static let oldestVersion = 7
    /// The default target when no input version says otherwise: 12 (Redis 7.4: hash field TTLs), the newest
    /// version that every Redis from 7.4 on loads.
    public static let newestVersion = 12
    /// The newest version written: 15 (Redis 8.10). RDB 13 to 15 add only a stream type each (13: type 26
    /// with the IDMP section; 14 and 15: type 27, which adds each group's NACK zone) over 12's encodings.
    public static let newestWritable = 15
    public static let supportedVersions = oldestVersion...newestWritable
    /// Valkey 9's format, `VALKEY080`: RDB 11's encodings (Valkey 9 reads and writes them unchanged), and
    /// HASH_2 (type 22 under the `VALKEY` magic) for a hash with field expiries, which no `REDIS` version
    /// that Valkey loads can hold (Valkey `rdb.c`, `rdbSaveObjectType` / `rdbSaveObject`).
    public static let valkeyVersion = RDBVersion.valkeyFirst
    /// The Redis RDB version whose encodings a Valkey file uses.
    public static let valkeyEncodingVersion = 11

    /// True for a version the writer produces: 7...15, or 80 (`VALKEY080`).
    public static func isWritable(_ version: Int) -> Bool {
        supportedVersions.contains(version) || version == valkeyVersion
    }

    /// What `--rdb-version` accepts, for error messages.
    public static let writableVersionsText = "\(oldestVersion)-\(newestWritable) or \(valkeyVersion) (Valkey 9)"

    /// The target for a file read at `version` (magic `magic`): the same version, capped at 15;
    /// Valkey 9 files (`VALKEY08x`) map to `VALKEY080`, which Valkey 9 loads with field expiries and all
    /// (an RDB 11 file cannot hold those; `--rdb-version 11` still writes one for other servers).
    public static func defaultVersion(forInput version: Int, magic: RDBMagic = .redis) -> Int {
        if magic == .valkey { return valkeyVersion }
        return min(max(version, oldestVersion), newestWritable)
    }

    /// The `redis-ver` AUX value written for a target version (the first release writing it).
    public static func redisVersionString(for rdbVersion: Int) -> String {
        switch rdbVersion {
        case ...7: return "3.2.0"
        case 8: return "4.0.0"
        case 9: return "6.2.0"
        case 10: return "7.0.0"
        case 11: return "7.2.0"
        case 12: return "7.4.0"
        case 13: return "8.6.0"
        case 14: return "8.8.0"
        case valkeyVersion...: return "9.0.0"
        default: return "8.10.0"
        }
    }
}

/// The standard AUX fields written after the header, in Redis's order (`rdbSaveInfoAuxFields`):
/// redis-ver, redis-bits, ctime, used-mem, [repl-stream-db, repl-id, repl-offset], aof-base
/// (aof-preamble for RDB 8-9, nothing for 7). Integer values are stored int-encoded as Redis does.
public struct RDBAuxInfo: Sendable, Equatable {
    /// nil: the first Redis release writing the target version.
    public var redisVersion: String?
    public var redisBits: Int
    /// Unix seconds; nil: now.
    public var ctime: Int64?
    public var usedMem: Int64
    public var aofBase: Bool
    public var replication: ReplicationPosition?
    public init(redisVersion: String? = nil, redisBits: Int = 64, ctime: Int64? = nil, usedMem: Int64 = 0,
                aofBase: Bool = false, replication: ReplicationPosition? = nil) {
        self.redisVersion = redisVersion
        self.redisBits = redisBits
        self.ctime = ctime
        self.usedMem = usedMem
        self.aofBase = aofBase
        self.replication = replication
    }
}

/// A value or record the target version cannot hold, or a misuse of the writer.
public struct RDBWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The target RDB version has no encoding for this value (e.g. a stream below RDB 9).
        case notRepresentable
        case unsupportedVersion
        /// Calls out of order (an entry before the header, anything after `finish`).
        case state
        case invalidValue
        case io
    }
    public var code: Code
    public var message: String
    public var key: Bytes?
    public var db: Int?
    /// The input file whose record could not be written (set by `rdb convert` and `rdb dump`), and where that
    /// record starts in it (the key's `RDBEntry.startOffset`).
    public var file: String?
    public var offset: Int64?
    public init(_ code: Code, _ message: String, key: Bytes? = nil, db: Int? = nil) {
        self.code = code
        self.message = message
        self.key = key
        self.db = db
    }

    /// The error with the input file and the record's offset, named as the reader's errors name them
    /// (`FILE: error at byte N: message (key "k", db 0)`). A file already named is kept.
    public func located(file: String?, offset: Int64?) -> RDBWriteError {
        guard self.file == nil, let file else { return self }
        var e = self
        e.file = file
        e.offset = offset
        return e
    }

    public var description: String {
        var s: String
        if let file {
            s = "\(file): " + (offset.map { "error at byte \($0): " } ?? "") + message
        } else {
            s = "write error: \(message)"
        }
        if let key {
            s += " (key \(RDBError.quote(key))"
            if let db { s += ", db \(db)" }
            s += ")"
        }
        return s
    }
}

/// What the writer wrote, and what it left out on purpose (each documented in `RDBWriter`).
public struct RDBWriterStats: Sendable, Equatable {
    public var keys = 0
    public var functions = 0
    /// Hash fields whose TTL was dropped (`dropFieldTTL`, target below 12).
    public var droppedFieldTTLs = 0
    /// Function libraries skipped (`dropFunctions`, target below 10).
    public var droppedFunctions = 0
    /// IDLE/FREQ hints not written because the target is below RDB 9.
    public var droppedEvictionHints = 0
    /// Consumer active-times not written (target below 11; Redis then uses seen-time).
    public var droppedConsumerActiveTimes = 0
    /// Streams written as type 15 without first-id / max-deleted-id / entries-added / entries-read (target 9).
    public var streamsWithoutV2Metadata = 0
    /// Streams whose idempotent-producer (IDMP) state was not written (target below 13, which has no IDMP
    /// section; Redis then starts the stream with an empty IDMP history and the server's IDMP settings).
    public var droppedStreamIDMP = 0
    public init() {}
}
