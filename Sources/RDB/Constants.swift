/// The one table of RDB opcodes, value types and encodings: real enums over the on-disk bytes.
///
/// Source of truth: Redis `src/rdb.h` (`RDB_OPCODE_*`, `RDB_TYPE_*`, `RDB_ENC_*`, `RDB_MODULE_OPCODE_*`),
/// `src/quicklist.h` (`QUICKLIST_NODE_CONTAINER_*`), and Valkey `src/rdb.h` for the `VALKEY` magic.
/// Three bytes mean different things in Redis and Valkey (opcode 243, types 22 and 23); each is one case
/// here, named for both meanings, and the reader decides by the file's magic (opcode 242 too: Valkey's UPDATE,
/// Redis 8.10's HASH_TEMPLATE). Every raw value is pinned by `ConstantsPinTests`.
public enum RDBOpcode: UInt8, CaseIterable, Sendable {
    /// Redis 8.10 (RDB 15) `RDB_OPCODE_HASH_TEMPLATE`: one hash template (`id`, field count, the field names
    /// in strict `sdscmplen` order: by length, then bytes) that HASH_TMPL_*_REF values name by id; but Valkey 9.2-dev's (`VALKEY081`)
    /// `RDB_OPCODE_UPDATE` (an inline replication command written during a forkless save).
    case hashTemplateOrValkeyUpdate = 242
    /// Redis 8.6 (RDB 13) `RDB_OPCODE_KEY_META`, but `RDB_OPCODE_SLOT_IMPORT` under the `VALKEY` magic.
    case keyMetaOrSlotImport = 243
    case slotInfo = 244
    case function2 = 245
    /// Redis 7.0 release candidates only; Redis rejects it: "Pre-release function format not supported".
    case functionPreGA = 246
    case moduleAux = 247
    case idle = 248
    case freq = 249
    case aux = 250
    case resizeDB = 251
    case expireTimeMs = 252
    case expireTime = 253
    case selectDB = 254
    case eof = 255
}

/// RDB value type bytes (`RDB_TYPE_*`). Byte 8 was never used (`rdbIsObjectType`).
public enum RDBType: UInt8, CaseIterable, Sendable {
    case string = 0
    case list = 1
    case set = 2
    case zset = 3
    case hash = 4
    case zset2 = 5
    /// Redis 4.0 release candidates; not self-describing, rejected as Redis does.
    case modulePreGA = 6
    case module2 = 7
    case hashZipmap = 9
    case listZiplist = 10
    case setIntset = 11
    case zsetZiplist = 12
    case hashZiplist = 13
    case listQuicklist = 14
    case streamListpacks = 15
    case hashListpack = 16
    case zsetListpack = 17
    case listQuicklist2 = 18
    case streamListpacks2 = 19
    case setListpack = 20
    case streamListpacks3 = 21
    /// Redis 7.4 RC HASH_METADATA_PRE_GA (absolute TTLs); HASH_2 under the `VALKEY` magic.
    case hashMetadataPreGAOrValkeyHash2 = 22
    /// Redis 7.4 RC HASH_LISTPACK_EX_PRE_GA; PATH_HASH under Valkey 9.2-dev.
    case hashListpackExPreGA = 23
    case hashMetadata = 24
    case hashListpackEx = 25
    /// Redis 8.6 (RDB 13): stream IDMP (idempotent producer) data.
    case streamListpacks4 = 26
    /// Redis 8.8 (RDB 14): STREAM_LISTPACKS_4 plus each group's NACK zone (entries released by XNACK).
    case streamListpacks5 = 27
    /// Redis 8.10 (RDB 15) arrays: `[count][insert_idx flag][insert_idx]?` then `count` elements
    /// `[index][tag][value]` (`RDBArrayTag`), in index order as Redis saves them.
    case array = 28
    // 33 is Redis 8.10's GCRA (a compile-time option): refused by name (`RDBReader.checkValueType`).
    /// Redis 8.10 (RDB 15) hash templates (`hash-min-template-entries` > 0), self-contained as DUMP writes them:
    /// the field names (`RDBHashTemplateFields`), then one listpack blob: an integer template id, one value per field.
    case hashTemplateListpack = 29
    /// As an RDB file saves HASH_TMPL_LP: the listpack blob only; its first entry names a HASH_TEMPLATE record.
    case hashTemplateListpackRef = 30
    /// Self-contained HASH_TMPL_ARRAY (DUMP): the field names, then one value string per field.
    case hashTemplateArray = 31
    /// As an RDB file saves HASH_TMPL_ARRAY: a length naming a HASH_TEMPLATE record, then one value string per field.
    case hashTemplateArrayRef = 32
}

/// How an array element's value is stored (`AR_RDB_TAG_*`, Redis 8.10 `sparsearray.h`): a string (`SDS`), an
/// 8-byte little-endian integer, an 8-byte binary double, or a string of at most 7 bytes (`SMALLSTR`).
public enum RDBArrayTag: UInt64, CaseIterable, Sendable {
    case string = 0
    case int = 1
    case float = 2
    case smallString = 3
}

/// How a self-contained hash-template value (HASH_TMPL_LP, HASH_TMPL_ARRAY) stores its field names: a length
/// byte, then `FIELDS_LP` one listpack blob of names, or `FIELDS_RAW` a count and that many strings (Redis 8.10
/// `rdbSaveObject`, `rdbLoadTemplateFields`).
public enum RDBHashTemplateFields: UInt64, CaseIterable, Sendable {
    case listpack = 0
    case raw = 1
}

/// Special string encodings after the `11` length prefix (`RDB_ENC_*`).
public enum RDBStringEncoding: UInt8, CaseIterable, Sendable {
    case int8 = 0
    case int16 = 1
    case int32 = 2
    case lzf = 3
}

/// The two top bits of a length byte (`RDB_6BITLEN`, `RDB_14BITLEN`, `RDB_ENCVAL`), and the whole first
/// byte of the 32- and 64-bit forms (`RDB_32BITLEN`, `RDB_64BITLEN`).
public enum RDBLengthPrefix {
    public static let bits6: UInt8 = 0
    public static let bits14: UInt8 = 1
    public static let encoded: UInt8 = 3
    public static let bits32: UInt8 = 0x80
    public static let bits64: UInt8 = 0x81
}

/// Quicklist v2 node containers (`QUICKLIST_NODE_CONTAINER_*`).
public enum QuicklistContainer: UInt64, CaseIterable, Sendable {
    case plain = 1
    case packed = 2
}

/// Module value sub-opcodes inside MODULE_2 values and MODULE_AUX records (`RDB_MODULE_OPCODE_*`).
public enum RDBModuleOpcode: UInt64, CaseIterable, Sendable {
    case eof = 0
    case sint = 1
    case uint = 2
    case float = 3
    case double = 4
    case string = 5
}

/// RDB format versions this project reads and writes.
public enum RDBVersion {
    /// Oldest version ever written (`REDIS0001`, Redis <= 2.2).
    public static let oldest = 1
    /// Newest Redis version read (Redis 8.6 writes 13, Redis 8.10 writes 15). RDB 14 and 15 add types only
    /// (streams with NACKed entries, arrays, hash templates, GCRA: rdb.h 26-33 and opcode 242); the loader
    /// is driven by the type byte, so the older types read as before. Arrays and GCRA are refused by name.
    public static let newestRedis = 15
    /// Valkey 9.0 writes `VALKEY080`; 9.2-dev writes 81.
    public static let valkeyFirst = 80
    public static let valkeyNewest = 81
    /// The CRC-64 trailer exists since version 5.
    public static let firstWithChecksum = 5
}

/// Hash field expiries (Redis 7.4+, RDB 12): absolute Unix ms within 1...2^48-1 (`ebuckets.h`
/// `EB_EXPIRE_TIME_MAX`). Redis refuses to load a larger one (HASH_LISTPACK_EX: "Hash listpack
/// integrity check failed"; HASH_METADATA: a corrupt-RDB error), and in a HASH_LISTPACK_EX triplet
/// a TTL of 0 means "no TTL". Commands accept less (HPEXPIREAT stops at 2^46-1, year 4199).
public enum RDBFieldExpiry {
    public static let min: Int64 = 1
    public static let max: Int64 = (1 << 48) - 1
    public static let range = min...max
}
