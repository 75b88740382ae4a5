import RDB

/// Display names of RDB value type bytes (`RDB_TYPE_*` in Redis `src/rdb.h`), for reports such as
/// `rdb info`. Type 22 and 23 mean different things under the `VALKEY` magic, so the magic is passed.
public enum RDBTypeNames {
    public static func name(of type: UInt8, magic: RDBMagic = .redis) -> String {
        guard let rdbType = RDBType(rawValue: type) else { return "TYPE_\(type)" }
        switch rdbType {
        case .string: return "STRING"
        case .list: return "LIST"
        case .set: return "SET"
        case .zset: return "ZSET"
        case .hash: return "HASH"
        case .zset2: return "ZSET_2"
        case .modulePreGA: return "MODULE_PRE_GA"
        case .module2: return "MODULE_2"
        case .hashZipmap: return "HASH_ZIPMAP"
        case .listZiplist: return "LIST_ZIPLIST"
        case .setIntset: return "SET_INTSET"
        case .zsetZiplist: return "ZSET_ZIPLIST"
        case .hashZiplist: return "HASH_ZIPLIST"
        case .listQuicklist: return "LIST_QUICKLIST"
        case .streamListpacks: return "STREAM_LISTPACKS"
        case .hashListpack: return "HASH_LISTPACK"
        case .zsetListpack: return "ZSET_LISTPACK"
        case .listQuicklist2: return "LIST_QUICKLIST_2"
        case .streamListpacks2: return "STREAM_LISTPACKS_2"
        case .setListpack: return "SET_LISTPACK"
        case .streamListpacks3: return "STREAM_LISTPACKS_3"
        case .hashMetadataPreGAOrValkeyHash2:
            return magic == .valkey ? "HASH_2" : "HASH_METADATA_PRE_GA"
        case .hashListpackExPreGA:
            return magic == .valkey ? "PATH_HASH" : "HASH_LISTPACK_EX_PRE_GA"
        case .hashMetadata: return "HASH_METADATA"
        case .hashListpackEx: return "HASH_LISTPACK_EX"
        case .streamListpacks4: return "STREAM_LISTPACKS_4"
        case .streamListpacks5: return "STREAM_LISTPACKS_5"
        case .array: return "ARRAY"
        case .hashTemplateListpack: return "HASH_TMPL_LP"
        case .hashTemplateListpackRef: return "HASH_TMPL_LP_REF"
        case .hashTemplateArray: return "HASH_TMPL_ARRAY"
        case .hashTemplateArrayRef: return "HASH_TMPL_ARRAY_REF"
        }
    }
}
