/// The one table of RDB opcodes, value types and versions.
///
/// Source of truth: Redis `src/rdb.h` (RDB_OPCODE_*, RDB_TYPE_*, RDB_ENC_*), Valkey `src/rdb.h`
/// for the `VALKEY` magic.
public enum RDBOpcode {
    /// Opcode 243: KEY_META in Redis 8.6 (RDB 13) but SLOT_IMPORT under the `VALKEY` magic.
    public static let keyMetaOrSlotImport: UInt8 = 243
    /// Valkey 9.2-dev: an inline replication command written during a forkless save.
    public static let valkeyUpdate: UInt8 = 242
    public static let slotInfo: UInt8 = 244
    public static let function2: UInt8 = 245
    /// Redis 7.0 release candidates only; Redis rejects it: "Pre-release function format not supported".
    public static let functionPreGA: UInt8 = 246
    public static let moduleAux: UInt8 = 247
    public static let idle: UInt8 = 248
    public static let freq: UInt8 = 249
    public static let aux: UInt8 = 250
    public static let resizeDB: UInt8 = 251
    public static let expireTimeMs: UInt8 = 252
    public static let expireTime: UInt8 = 253
    public static let selectDB: UInt8 = 254
    public static let eof: UInt8 = 255
}

/// RDB value type bytes (`RDB_TYPE_*`).
public enum RDBType {
    public static let string: UInt8 = 0
    public static let list: UInt8 = 1
    public static let set: UInt8 = 2
    public static let zset: UInt8 = 3
    public static let hash: UInt8 = 4
    public static let zset2: UInt8 = 5
    /// Redis 4.0 release candidates; not self-describing, rejected as Redis does.
    public static let modulePreGA: UInt8 = 6
    public static let module2: UInt8 = 7
    public static let hashZipmap: UInt8 = 9
    public static let listZiplist: UInt8 = 10
    public static let setIntset: UInt8 = 11
    public static let zsetZiplist: UInt8 = 12
    public static let hashZiplist: UInt8 = 13
    public static let listQuicklist: UInt8 = 14
    public static let streamListpacks: UInt8 = 15
    public static let hashListpack: UInt8 = 16
    public static let zsetListpack: UInt8 = 17
    public static let listQuicklist2: UInt8 = 18
    public static let streamListpacks2: UInt8 = 19
    public static let setListpack: UInt8 = 20
    public static let streamListpacks3: UInt8 = 21
    /// Redis 7.4 RC HASH_METADATA_PRE_GA (absolute TTLs); HASH_2 under the `VALKEY` magic.
    public static let hashMetadataPreGAOrValkeyHash2: UInt8 = 22
    /// Redis 7.4 RC HASH_LISTPACK_EX_PRE_GA; PATH_HASH under Valkey 9.2-dev.
    public static let hashListpackExPreGA: UInt8 = 23
    public static let hashMetadata: UInt8 = 24
    public static let hashListpackEx: UInt8 = 25
    public static let streamListpacks4: UInt8 = 26
    public static let streamListpacks5: UInt8 = 27
}

/// Special string encodings after the `11` length prefix (`RDB_ENC_*`).
public enum RDBStringEncoding {
    public static let int8: UInt8 = 0
    public static let int16: UInt8 = 1
    public static let int32: UInt8 = 2
    public static let lzf: UInt8 = 3
}

/// Quicklist v2 node containers (`QUICKLIST_NODE_CONTAINER_*`).
public enum QuicklistContainer {
    public static let plain: UInt64 = 1
    public static let packed: UInt64 = 2
}

/// Module value sub-opcodes inside MODULE_2 values and MODULE_AUX records (`RDB_MODULE_OPCODE_*`).
public enum RDBModuleOpcode {
    public static let eof: UInt64 = 0
    public static let sint: UInt64 = 1
    public static let uint: UInt64 = 2
    public static let float: UInt64 = 3
    public static let double: UInt64 = 4
    public static let string: UInt64 = 5
}

/// RDB format versions this project reads and writes.
public enum RDBVersion {
    /// Oldest version ever written (`REDIS0001`, Redis <= 2.2).
    public static let oldest = 1
    /// Newest Redis version read (Redis 8.6 writes 13).
    public static let newestRedis = 13
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
