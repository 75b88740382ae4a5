/// The logical content of an RDB file, independent of how each value was encoded.
///
/// Every key, member, field and value is binary-safe `Bytes`. Integer-encoded strings are
/// decoded to their decimal text, exactly as `GET` returns them.

public typealias Bytes = [UInt8]

/// The file's magic: `REDIS%04d` or Valkey 9's `VALKEY%03d`.
public enum RDBMagic: String, Sendable, Equatable {
    case redis = "REDIS"
    case valkey = "VALKEY"
}

public struct RDBHeader: Sendable, Equatable {
    public var magic: RDBMagic
    public var version: Int
    public init(magic: RDBMagic, version: Int) {
        self.magic = magic
        self.version = version
    }
    /// The exact header text, e.g. `REDIS0011` or `VALKEY080`.
    public var text: String {
        switch magic {
        case .redis: return "REDIS" + String(repeating: "0", count: max(0, 4 - String(version).count)) + String(version)
        case .valkey: return "VALKEY" + String(repeating: "0", count: max(0, 3 - String(version).count)) + String(version)
        }
    }
}

public struct SortedSetMember: Sendable, Equatable {
    public var member: Bytes
    public var score: Double
    public init(member: Bytes, score: Double) {
        self.member = member
        self.score = score
    }
}

public struct HashField: Sendable, Equatable {
    public var field: Bytes
    public var value: Bytes
    /// Absolute field expiry in Unix ms (Redis 7.4+ field TTLs), nil when the field has none.
    public var expireAtMs: Int64?
    public init(field: Bytes, value: Bytes, expireAtMs: Int64? = nil) {
        self.field = field
        self.value = value
        self.expireAtMs = expireAtMs
    }
}

/// A stream entry ID `ms-seq`.
public struct StreamID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var ms: UInt64
    public var seq: UInt64
    public init(ms: UInt64, seq: UInt64) {
        self.ms = ms
        self.seq = seq
    }
    public static let zero = StreamID(ms: 0, seq: 0)
    public static func < (a: StreamID, b: StreamID) -> Bool { a.ms != b.ms ? a.ms < b.ms : a.seq < b.seq }
    public var description: String { "\(ms)-\(seq)" }
}

public struct StreamEntry: Sendable, Equatable {
    public var id: StreamID
    /// Field/value pairs in stored order; duplicate field names are kept.
    public var fields: [(Bytes, Bytes)]
    public init(id: StreamID, fields: [(Bytes, Bytes)]) {
        self.id = id
        self.fields = fields
    }
    public static func == (a: StreamEntry, b: StreamEntry) -> Bool {
        a.id == b.id && a.fields.count == b.fields.count
            && zip(a.fields, b.fields).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

/// One entry of a consumer group's global PEL (`streamNACK`).
public struct StreamPendingEntry: Sendable, Equatable {
    public var id: StreamID
    public var deliveryTimeMs: Int64
    public var deliveryCount: UInt64
    public init(id: StreamID, deliveryTimeMs: Int64, deliveryCount: UInt64) {
        self.id = id
        self.deliveryTimeMs = deliveryTimeMs
        self.deliveryCount = deliveryCount
    }
}

public struct StreamConsumer: Sendable, Equatable {
    public var name: Bytes
    public var seenTimeMs: Int64
    /// STREAM_LISTPACKS_3+ only; -1 for a consumer that never read. nil in older types.
    public var activeTimeMs: Int64?
    /// The IDs this consumer owns; delivery time and count live in the group's PEL.
    public var pendingIDs: [StreamID]
    public init(name: Bytes, seenTimeMs: Int64, activeTimeMs: Int64?, pendingIDs: [StreamID]) {
        self.name = name
        self.seenTimeMs = seenTimeMs
        self.activeTimeMs = activeTimeMs
        self.pendingIDs = pendingIDs
    }
}

public struct StreamGroup: Sendable, Equatable {
    public var name: Bytes
    public var lastDeliveredID: StreamID
    /// STREAM_LISTPACKS_2+: the raw stored value; `UInt64.max` (-1) means "unknown". nil in type 15.
    public var entriesReadRaw: UInt64?
    public var pending: [StreamPendingEntry]
    public var consumers: [StreamConsumer]
    /// STREAM_LISTPACKS_5 (Redis 8.8, RDB 14): the NACK zone, PEL entries released by XNACK, which no
    /// consumer owns, in zone order (the oldest release first; `rdb.c` saves them so). Empty in older types.
    public var nackedIDs: [StreamID]
    public init(name: Bytes, lastDeliveredID: StreamID, entriesReadRaw: UInt64?,
                pending: [StreamPendingEntry], consumers: [StreamConsumer], nackedIDs: [StreamID] = []) {
        self.name = name
        self.lastDeliveredID = lastDeliveredID
        self.entriesReadRaw = entriesReadRaw
        self.pending = pending
        self.consumers = consumers
        self.nackedIDs = nackedIDs
    }
}

/// One IDMP (idempotent producer, Redis 8.6 STREAM_LISTPACKS_4) entry: an idempotency ID and the entry it made.
public struct StreamIDMPEntry: Sendable, Equatable {
    public var iid: Bytes
    public var id: StreamID
    public init(iid: Bytes, id: StreamID) {
        self.iid = iid
        self.id = id
    }
}

public struct StreamIDMPProducer: Sendable, Equatable {
    public var name: Bytes
    public var entries: [StreamIDMPEntry]
    public init(name: Bytes, entries: [StreamIDMPEntry]) {
        self.name = name
        self.entries = entries
    }
}

/// A stream's IDMP state (STREAM_LISTPACKS_4+, stored after the consumer groups).
public struct StreamIDMP: Sendable, Equatable {
    /// The configured IDMP duration (as stored; Redis's default is 7200).
    public var duration: UInt64
    public var maxEntries: UInt64
    public var producers: [StreamIDMPProducer]
    public var iidsAdded: UInt64
    public var iidsDuplicates: UInt64
    public init(duration: UInt64, maxEntries: UInt64, producers: [StreamIDMPProducer], iidsAdded: UInt64,
                iidsDuplicates: UInt64) {
        self.duration = duration
        self.maxEntries = maxEntries
        self.producers = producers
        self.iidsAdded = iidsAdded
        self.iidsDuplicates = iidsDuplicates
    }
}

public struct StreamValue: Sendable, Equatable {
    /// Live (non-deleted) entries in ID order.
    public var entries: [StreamEntry]
    /// The stream's length as stored (`s->length`).
    public var length: UInt64
    /// How many listpack nodes (radix-tree keys) the file held.
    public var listpackNodes: Int
    public var lastID: StreamID
    /// STREAM_LISTPACKS_2+ metadata; nil for type 15.
    public var firstID: StreamID?
    public var maxDeletedEntryID: StreamID?
    public var entriesAdded: UInt64?
    public var groups: [StreamGroup]
    /// STREAM_LISTPACKS_4 (RDB 13) idempotent-producer state; nil for older types.
    public var idmp: StreamIDMP? = nil
    public init(entries: [StreamEntry], length: UInt64, listpackNodes: Int, lastID: StreamID,
                firstID: StreamID? = nil, maxDeletedEntryID: StreamID? = nil, entriesAdded: UInt64? = nil,
                groups: [StreamGroup] = []) {
        self.entries = entries
        self.length = length
        self.listpackNodes = listpackNodes
        self.lastID = lastID
        self.firstID = firstID
        self.maxDeletedEntryID = maxDeletedEntryID
        self.entriesAdded = entriesAdded
        self.groups = groups
    }
}

/// A MODULE_2 value, kept opaque: skipped by walking its module opcodes.
public struct ModuleValue: Sendable, Equatable {
    /// The 64-bit module id: 9 name characters x 6 bits, then a 10-bit encoding version.
    public var moduleID: UInt64
    /// The 9-character module type name decoded from the id (e.g. `ReJSON-RL`).
    public var moduleName: String
    public var encodingVersion: Int
    /// The serialized bytes after the module id, through and including the module EOF opcode,
    /// exactly as in the file, so a writer can re-emit them unchanged.
    public var raw: Bytes
    public init(moduleID: UInt64, moduleName: String, encodingVersion: Int, raw: Bytes) {
        self.moduleID = moduleID
        self.moduleName = moduleName
        self.encodingVersion = encodingVersion
        self.raw = raw
    }
}

/// One element of a Redis 8.10 array: its index (0...2^64-2) and its value as the server replies it.
public struct ArrayElement: Sendable, Equatable {
    public var index: UInt64
    public var value: Bytes
    public init(index: UInt64, value: Bytes) {
        self.index = index
        self.value = value
    }
}

/// A Redis 8.10 array (`t_array.c`, `sparsearray.c`; RDB type 28): a sparse array of strings whose indexes
/// run from 0 to 2^64-2, and the cursor ARINSERT and ARRING write after.
public struct ArrayValue: Sendable, Equatable {
    /// Elements by ascending index, each index once. Never empty in a file (Redis refuses a count of 0, and
    /// deletes an array whose last element goes).
    public var elements: [ArrayElement]
    /// `insert_idx`: the last index ARINSERT or ARRING wrote (or ARSEEK set, minus one); nil is
    /// `AR_INSERT_IDX_NONE` (the next insert goes to index 0).
    public var insertIndex: UInt64?
    public init(elements: [ArrayElement], insertIndex: UInt64? = nil) {
        self.elements = elements
        self.insertIndex = insertIndex
    }
}

/// A decoded value, one case per logical Redis type.
public enum RDBValue: Sendable, Equatable {
    case string(Bytes)
    /// Head to tail.
    case list([Bytes])
    /// In stored order.
    case set([Bytes])
    /// In stored order.
    case sortedSet([SortedSetMember])
    /// In stored order.
    case hash([HashField])
    /// Boxed (`indirect`) so that `RDBValue`, `RDBEntry` and `RDBRecord` stay small (81-byte entries instead
    /// of 225): every record is copied a few times on its way out of the reader.
    indirect case stream(StreamValue)
    indirect case module(ModuleValue)
    /// Redis 8.10 arrays.
    indirect case array(ArrayValue)

    /// The name `TYPE` reports: string, list, set, zset, hash, stream, array, or the module's name.
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .list: return "list"
        case .set: return "set"
        case .sortedSet: return "zset"
        case .hash: return "hash"
        case .stream: return "stream"
        case .array: return "array"
        case .module(let m): return m.moduleName
        }
    }
}

/// One key with its value and metadata.
public struct RDBEntry: Sendable, Equatable {
    public var db: Int
    public var key: Bytes
    public var value: RDBValue
    /// Absolute key expiry in Unix ms (EXPIRETIME seconds are converted to ms).
    public var expireAtMs: Int64?
    /// IDLE opcode (LRU), seconds.
    public var lruIdleSeconds: UInt64?
    /// FREQ opcode (LFU), 0...255.
    public var lfuFreq: UInt8?
    /// The RDB type byte the value was stored with (e.g. 18 for LIST_QUICKLIST_2).
    public var rdbType: UInt8
    /// Byte offset of the first byte belonging to this key (its first metadata opcode or type byte).
    public var startOffset: Int64
    /// Bytes this key occupies in the file, from `startOffset` through the end of its value.
    public var serializedSize: Int64
    /// How many elements the stored value holds (list items, set members, sorted-set members, hash fields,
    /// live stream entries), as counted by the reader in both decode modes; nil for strings and modules.
    /// With `RDBReaderOptions.decodeValues == false` the value is an empty placeholder, so use this to
    /// tell an empty collection from a full one.
    public var elementCount: Int? = nil
    public init(db: Int, key: Bytes, value: RDBValue, expireAtMs: Int64? = nil, lruIdleSeconds: UInt64? = nil,
                lfuFreq: UInt8? = nil, rdbType: UInt8, startOffset: Int64 = 0, serializedSize: Int64 = 0) {
        self.db = db
        self.key = key
        self.value = value
        self.expireAtMs = expireAtMs
        self.lruIdleSeconds = lruIdleSeconds
        self.lfuFreq = lfuFreq
        self.rdbType = rdbType
        self.startOffset = startOffset
        self.serializedSize = serializedSize
    }
}

/// A MODULE_AUX record (opcode 247), kept opaque.
public struct ModuleAux: Sendable, Equatable {
    public var moduleID: UInt64
    public var moduleName: String
    public var encodingVersion: Int
    /// The bytes after the module id through the module EOF opcode (the `when` field included).
    public var raw: Bytes
    public init(moduleID: UInt64, moduleName: String, encodingVersion: Int, raw: Bytes) {
        self.moduleID = moduleID
        self.moduleName = moduleName
        self.encodingVersion = encodingVersion
        self.raw = raw
    }
}

/// What the streaming reader yields, in file order.
public enum RDBRecord: Sendable, Equatable {
    case header(RDBHeader)
    case aux(key: Bytes, value: Bytes)
    case selectDB(Int)
    case resizeDB(dbSize: UInt64, expiresSize: UInt64)
    /// Redis 7.4+ cluster opcode 244.
    case slotInfo(slot: UInt64, keys: UInt64, expires: UInt64)
    /// FUNCTION2: one library's code (`#!lua name=...`).
    case function(code: Bytes)
    case moduleAux(ModuleAux)
    /// Valkey 9 SLOT_IMPORT (opcode 243 under the VALKEY magic), kept raw.
    case valkeySlotImport(raw: Bytes)
    case entry(RDBEntry)
    /// The end: the stored checksum (nil before RDB 5; 0 means disabled) and the reader's own.
    case eof(storedChecksum: UInt64?, computedChecksum: UInt64?)
}
