import RDB
import RDBTools
import Testing

/// Pins every on-disk constant of `Constants.swift` to the value Redis and Valkey write, as their
/// `#define`s read: Redis `src/rdb.h` (`RDB_OPCODE_*`, `RDB_TYPE_*`, `RDB_ENC_*`, `RDB_*LEN`,
/// `RDB_MODULE_OPCODE_*`), `src/quicklist.h` (`QUICKLIST_NODE_CONTAINER_*`), `src/ebuckets.h`
/// (`EB_EXPIRE_TIME_MAX`), and Valkey `src/rdb.h` for the `VALKEY` magic (versions 80/81, SLOT_IMPORT 243,
/// UPDATE 242, HASH_2 22). Each table lists every case, so a case added without a pin fails the count.
@Suite("On-disk constants pinned to Redis's and Valkey's rdb.h")
struct ConstantsPinTests {
    static let opcodes: [(String, RDBOpcode, UInt8)] = [
        ("RDB_OPCODE_HASH_TEMPLATE (Redis 8.10) / RDB_OPCODE_UPDATE (Valkey 9.2)", .hashTemplateOrValkeyUpdate, 242),
        ("RDB_OPCODE_KEY_META (Redis 8.6) / RDB_OPCODE_SLOT_IMPORT (Valkey 9.0)", .keyMetaOrSlotImport, 243),
        ("RDB_OPCODE_SLOT_INFO", .slotInfo, 244),
        ("RDB_OPCODE_FUNCTION2", .function2, 245),
        ("RDB_OPCODE_FUNCTION_PRE_GA", .functionPreGA, 246),
        ("RDB_OPCODE_MODULE_AUX", .moduleAux, 247),
        ("RDB_OPCODE_IDLE", .idle, 248),
        ("RDB_OPCODE_FREQ", .freq, 249),
        ("RDB_OPCODE_AUX", .aux, 250),
        ("RDB_OPCODE_RESIZEDB", .resizeDB, 251),
        ("RDB_OPCODE_EXPIRETIME_MS", .expireTimeMs, 252),
        ("RDB_OPCODE_EXPIRETIME", .expireTime, 253),
        ("RDB_OPCODE_SELECTDB", .selectDB, 254),
        ("RDB_OPCODE_EOF", .eof, 255),
    ]

    static let types: [(String, RDBType, UInt8)] = [
        ("RDB_TYPE_STRING", .string, 0),
        ("RDB_TYPE_LIST", .list, 1),
        ("RDB_TYPE_SET", .set, 2),
        ("RDB_TYPE_ZSET", .zset, 3),
        ("RDB_TYPE_HASH", .hash, 4),
        ("RDB_TYPE_ZSET_2", .zset2, 5),
        ("RDB_TYPE_MODULE_PRE_GA", .modulePreGA, 6),
        ("RDB_TYPE_MODULE_2", .module2, 7),
        ("RDB_TYPE_HASH_ZIPMAP", .hashZipmap, 9),
        ("RDB_TYPE_LIST_ZIPLIST", .listZiplist, 10),
        ("RDB_TYPE_SET_INTSET", .setIntset, 11),
        ("RDB_TYPE_ZSET_ZIPLIST", .zsetZiplist, 12),
        ("RDB_TYPE_HASH_ZIPLIST", .hashZiplist, 13),
        ("RDB_TYPE_LIST_QUICKLIST", .listQuicklist, 14),
        ("RDB_TYPE_STREAM_LISTPACKS", .streamListpacks, 15),
        ("RDB_TYPE_HASH_LISTPACK", .hashListpack, 16),
        ("RDB_TYPE_ZSET_LISTPACK", .zsetListpack, 17),
        ("RDB_TYPE_LIST_QUICKLIST_2", .listQuicklist2, 18),
        ("RDB_TYPE_STREAM_LISTPACKS_2", .streamListpacks2, 19),
        ("RDB_TYPE_SET_LISTPACK", .setListpack, 20),
        ("RDB_TYPE_STREAM_LISTPACKS_3", .streamListpacks3, 21),
        ("RDB_TYPE_HASH_METADATA_PRE_GA (Redis 7.4 RC) / RDB_TYPE_HASH_2 (Valkey 9.0)", .hashMetadataPreGAOrValkeyHash2, 22),
        ("RDB_TYPE_HASH_LISTPACK_EX_PRE_GA (Redis 7.4 RC) / PATH_HASH (Valkey 9.2)", .hashListpackExPreGA, 23),
        ("RDB_TYPE_HASH_METADATA", .hashMetadata, 24),
        ("RDB_TYPE_HASH_LISTPACK_EX", .hashListpackEx, 25),
        ("RDB_TYPE_STREAM_LISTPACKS_4 (Redis 8.6)", .streamListpacks4, 26),
        ("RDB_TYPE_STREAM_LISTPACKS_5 (Redis 8.8)", .streamListpacks5, 27),
        ("RDB_TYPE_ARRAY (Redis 8.10)", .array, 28),
        ("RDB_TYPE_HASH_TMPL_LP (Redis 8.10)", .hashTemplateListpack, 29),
        ("RDB_TYPE_HASH_TMPL_LP_REF (Redis 8.10)", .hashTemplateListpackRef, 30),
        ("RDB_TYPE_HASH_TMPL_ARRAY (Redis 8.10)", .hashTemplateArray, 31),
        ("RDB_TYPE_HASH_TMPL_ARRAY_REF (Redis 8.10)", .hashTemplateArrayRef, 32),
    ]

    @Test("opcodes: RDB_OPCODE_* values, every case pinned")
    func opcodePins() {
        #expect(Self.opcodes.count == RDBOpcode.allCases.count)
        for (name, op, value) in Self.opcodes {
            #expect(op.rawValue == value, "\(name)")
            #expect(RDBOpcode(rawValue: value) == op, "\(name)")
        }
        // Below 242 no byte is an opcode: it is a value type (or unknown).
        for b in UInt8(0)..<242 { #expect(RDBOpcode(rawValue: b) == nil) }
    }

    @Test("value types: RDB_TYPE_* values, every case pinned; 8 and 33+ (GCRA) are not cases")
    func typePins() {
        #expect(Self.types.count == RDBType.allCases.count)
        for (name, type, value) in Self.types {
            #expect(type.rawValue == value, "\(name)")
            #expect(RDBType(rawValue: value) == type, "\(name)")
        }
        #expect(RDBType(rawValue: 8) == nil)
        for b in UInt8(33)...255 { #expect(RDBType(rawValue: b) == nil) }
        // RDB_HASH_TMPL_FIELDS_LP / _RAW (Redis 8.10 rdbSaveObject: the fields_fmt length of a DUMP payload).
        #expect(RDBHashTemplateFields.allCases.count == 2)
        #expect(RDBHashTemplateFields.listpack.rawValue == 0)
        #expect(RDBHashTemplateFields.raw.rawValue == 1)
        // AR_RDB_TAG_* (Redis 8.10 sparsearray.h).
        #expect(RDBArrayTag.allCases.count == 4)
        #expect(RDBArrayTag.string.rawValue == 0 && RDBArrayTag.int.rawValue == 1)
        #expect(RDBArrayTag.float.rawValue == 2 && RDBArrayTag.smallString.rawValue == 3)
    }

    @Test("string encodings, length prefixes, module opcodes, quicklist containers")
    func encodingPins() {
        let enc: [(String, RDBStringEncoding, UInt8)] = [
            ("RDB_ENC_INT8", .int8, 0), ("RDB_ENC_INT16", .int16, 1), ("RDB_ENC_INT32", .int32, 2), ("RDB_ENC_LZF", .lzf, 3),
        ]
        #expect(enc.count == RDBStringEncoding.allCases.count)
        for (name, e, v) in enc { #expect(e.rawValue == v, "\(name)") }

        #expect(RDBLengthPrefix.bits6 == 0)      // RDB_6BITLEN
        #expect(RDBLengthPrefix.bits14 == 1)     // RDB_14BITLEN
        #expect(RDBLengthPrefix.encoded == 3)    // RDB_ENCVAL
        #expect(RDBLengthPrefix.bits32 == 0x80)  // RDB_32BITLEN
        #expect(RDBLengthPrefix.bits64 == 0x81)  // RDB_64BITLEN

        let module: [(String, RDBModuleOpcode, UInt64)] = [
            ("RDB_MODULE_OPCODE_EOF", .eof, 0), ("RDB_MODULE_OPCODE_SINT", .sint, 1), ("RDB_MODULE_OPCODE_UINT", .uint, 2),
            ("RDB_MODULE_OPCODE_FLOAT", .float, 3), ("RDB_MODULE_OPCODE_DOUBLE", .double, 4), ("RDB_MODULE_OPCODE_STRING", .string, 5),
        ]
        #expect(module.count == RDBModuleOpcode.allCases.count)
        for (name, op, v) in module { #expect(op.rawValue == v, "\(name)") }

        #expect(QuicklistContainer.allCases.count == 2)
        #expect(QuicklistContainer.plain.rawValue == 1)   // QUICKLIST_NODE_CONTAINER_PLAIN
        #expect(QuicklistContainer.packed.rawValue == 2)  // QUICKLIST_NODE_CONTAINER_PACKED
    }

    @Test("versions, magics and the hash field expiry range")
    func versionPins() {
        #expect(RDBVersion.oldest == 1)
        #expect(RDBVersion.newestRedis == 15)        // Redis 8.10 RDB_VERSION (8.6: 13)
        #expect(RDBVersion.valkeyFirst == 80)        // Valkey 9.0 RDB_VERSION ("VALKEY080")
        #expect(RDBVersion.valkeyNewest == 81)       // Valkey 9.2-dev
        #expect(RDBVersion.firstWithChecksum == 5)   // CRC-64 trailer since RDB 5 (Redis 2.6)
        #expect(RDBMagic.redis.rawValue == "REDIS")
        #expect(RDBMagic.valkey.rawValue == "VALKEY")
        #expect(RDBHeader(magic: .redis, version: 11).text == "REDIS0011")
        #expect(RDBHeader(magic: .valkey, version: 80).text == "VALKEY080")
        #expect(RDBFieldExpiry.max == 0xFFFF_FFFF_FFFF)  // EB_EXPIRE_TIME_MAX ((1ULL << 48) - 1)
        #expect(RDBFieldExpiry.min == 1)
    }

    @Test("type names follow the magic for the colliding bytes 22 and 23")
    func collidingTypeNames() {
        #expect(RDBTypeNames.name(of: 22, magic: .redis) == "HASH_METADATA_PRE_GA")
        #expect(RDBTypeNames.name(of: 22, magic: .valkey) == "HASH_2")
        #expect(RDBTypeNames.name(of: 23, magic: .redis) == "HASH_LISTPACK_EX_PRE_GA")
        #expect(RDBTypeNames.name(of: 23, magic: .valkey) == "PATH_HASH")
        #expect(RDBTypeNames.name(of: 8, magic: .redis) == "TYPE_8")
    }
}
