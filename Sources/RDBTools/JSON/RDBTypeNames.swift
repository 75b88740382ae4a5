import RDB

/// Display names of RDB value type bytes (`RDB_TYPE_*` in Redis `src/rdb.h`), for reports such as
/// `rdb info`. Type 22 and 23 mean different things under the `VALKEY` magic, so the magic is passed.
public enum RDBTypeNames {
    public static func name(of type: UInt8, magic: RDBMagic = .redis) -> String {
        switch type {
        case RDBType.string: return "STRING"
        case RDBType.list: return "LIST"
        case RDBType.set: return "SET"
        case RDBType.zset: return "ZSET"
        case RDBType.hash: return "HASH"
        case RDBType.zset2: return "ZSET_2"
        case RDBType.modulePreGA: return "MODULE_PRE_GA"
        case RDBType.module2: return "MODULE_2"
        case RDBType.hashZipmap: return "HASH_ZIPMAP"
        case RDBType.listZiplist: return "LIST_ZIPLIST"
        case RDBType.setIntset: return "SET_INTSET"
        case RDBType.zsetZiplist: return "ZSET_ZIPLIST"
        case RDBType.hashZiplist: return "HASH_ZIPLIST"
        case RDBType.listQuicklist: return "LIST_QUICKLIST"
        case RDBType.streamListpacks: return "STREAM_LISTPACKS"
        case RDBType.hashListpack: return "HASH_LISTPACK"
        case RDBType.zsetListpack: return "ZSET_LISTPACK"
        case RDBType.listQuicklist2: return "LIST_QUICKLIST_2"
        case RDBType.streamListpacks2: return "STREAM_LISTPACKS_2"
        case RDBType.setListpack: return "SET_LISTPACK"
        case RDBType.streamListpacks3: return "STREAM_LISTPACKS_3"
        case RDBType.hashMetadataPreGAOrValkeyHash2:
            return magic == .valkey ? "HASH_2" : "HASH_METADATA_PRE_GA"
        case RDBType.hashListpackExPreGA:
            return magic == .valkey ? "PATH_HASH" : "HASH_LISTPACK_EX_PRE_GA"
        case RDBType.hashMetadata: return "HASH_METADATA"
        case RDBType.hashListpackEx: return "HASH_LISTPACK_EX"
        case RDBType.streamListpacks4: return "STREAM_LISTPACKS_4"
        case RDBType.streamListpacks5: return "STREAM_LISTPACKS_5"
        default: return "TYPE_\(type)"
        }
    }
}
