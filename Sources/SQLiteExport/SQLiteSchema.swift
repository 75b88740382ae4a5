/// The SQLite schema the exporter writes. Versioned in `meta.schema_version`; documented in README.md
/// ("RDB to SQLite"). Change the version whenever a table, column, index or view changes meaning.
///
/// Conventions:
/// - Every key, value, member, field and name from the RDB is a BLOB (binary-safe; never NULL, empty is `X''`).
/// - `db` is the Redis database number; `(db, key)` ties element rows to their `keys` row.
/// - `utf8` is a bit mask saying which BLOB columns of the row hold valid UTF-8 (1 = key, 2 = the first
///   value column, 4 = the second), checked by the exporter (SQLite's `CAST(x AS TEXT)` does not validate);
///   the `*_text` views use it to show text only where the bytes really are text.
/// - Unsigned 64-bit numbers from the file (stream IDs, entries_added, counters) are INTEGERs when they fit in
///   SQLite's signed 64 bits and exact decimal TEXT otherwise (`18446744073709551615`), which sorts after every
///   INTEGER, so `ORDER BY ms, seq` stays in ID order. Module type ids are the raw 64-bit pattern.
/// - Indexes are created after the bulk load.
public enum SQLiteSchema {
    public static let version = 3  // 2: keys.memory_bytes; 3: arrays, array_elements (Redis 8.10)

    /// Declared "type" of unsigned 64-bit columns: none (BLOB affinity), so an INTEGER stays an INTEGER and
    /// the exact decimal TEXT of a value >= 2^63 is not turned into a lossy REAL by INTEGER/NUMERIC affinity.
    /// The comment stays in `sqlite_master.sql` as documentation.
    static let u64 = "/* INTEGER, or TEXT if >= 2^63 */"

    /// Tables, created before the load (no secondary indexes).
    static func tables(keysWithoutRowID: Bool) -> [String] {
        [
            "CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID",
            "CREATE TABLE aux(pos INTEGER NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL)",
            "CREATE TABLE resize_db(db INTEGER NOT NULL, db_size \(u64) NOT NULL, expires_size \(u64) NOT NULL)",
            "CREATE TABLE slot_info(slot \(u64) NOT NULL, keys \(u64) NOT NULL, expires \(u64) NOT NULL)",
            "CREATE TABLE functions(pos INTEGER NOT NULL, library_name TEXT, library_code BLOB NOT NULL)",
            "CREATE TABLE module_aux(pos INTEGER NOT NULL, module TEXT NOT NULL, module_id INTEGER NOT NULL, "
                + "encoding_version INTEGER NOT NULL, raw BLOB NOT NULL)",
            "CREATE TABLE valkey_slot_import(pos INTEGER NOT NULL, raw BLOB NOT NULL)",
            "CREATE TABLE keys(db INTEGER NOT NULL, key BLOB NOT NULL, type TEXT NOT NULL, expire_at_ms INTEGER, "
                + "lfu_freq INTEGER, lru_idle_s \(u64), rdb_type INTEGER NOT NULL, length INTEGER NOT NULL, "
                + "rdb_bytes INTEGER NOT NULL, utf8 INTEGER NOT NULL, memory_bytes INTEGER NOT NULL"
                + (keysWithoutRowID ? ", PRIMARY KEY(db, key)) WITHOUT ROWID" : ")"),
            "CREATE TABLE strings(db INTEGER NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, utf8 INTEGER NOT NULL)",
            "CREATE TABLE list_items(db INTEGER NOT NULL, key BLOB NOT NULL, idx INTEGER NOT NULL, value BLOB NOT NULL, "
                + "utf8 INTEGER NOT NULL)",
            "CREATE TABLE set_members(db INTEGER NOT NULL, key BLOB NOT NULL, member BLOB NOT NULL, utf8 INTEGER NOT NULL)",
            "CREATE TABLE zset_members(db INTEGER NOT NULL, key BLOB NOT NULL, member BLOB NOT NULL, score REAL, "
                + "utf8 INTEGER NOT NULL)",
            "CREATE TABLE hash_fields(db INTEGER NOT NULL, key BLOB NOT NULL, field BLOB NOT NULL, value BLOB NOT NULL, "
                + "expire_at_ms INTEGER, utf8 INTEGER NOT NULL)",
            "CREATE TABLE streams(db INTEGER NOT NULL, key BLOB NOT NULL, length \(u64) NOT NULL, "
                + "last_id_ms \(u64) NOT NULL, last_id_seq \(u64) NOT NULL, first_id_ms \(u64), first_id_seq \(u64), "
                + "max_deleted_id_ms \(u64), max_deleted_id_seq \(u64), entries_added \(u64), "
                + "listpack_nodes INTEGER NOT NULL)",
            "CREATE TABLE stream_entries(db INTEGER NOT NULL, key BLOB NOT NULL, ms \(u64) NOT NULL, seq \(u64) NOT NULL, "
                + "pos INTEGER NOT NULL, field BLOB NOT NULL, value BLOB NOT NULL, utf8 INTEGER NOT NULL)",
            "CREATE TABLE stream_groups(db INTEGER NOT NULL, key BLOB NOT NULL, group_name BLOB NOT NULL, "
                + "last_delivered_ms \(u64) NOT NULL, last_delivered_seq \(u64) NOT NULL, entries_read \(u64))",
            "CREATE TABLE stream_consumers(db INTEGER NOT NULL, key BLOB NOT NULL, group_name BLOB NOT NULL, "
                + "consumer BLOB NOT NULL, seen_time_ms INTEGER NOT NULL, active_time_ms INTEGER)",
            "CREATE TABLE stream_pending(db INTEGER NOT NULL, key BLOB NOT NULL, group_name BLOB NOT NULL, "
                + "ms \(u64) NOT NULL, seq \(u64) NOT NULL, consumer BLOB, delivery_time_ms INTEGER NOT NULL, "
                + "delivery_count \(u64) NOT NULL)",
            "CREATE TABLE modules(db INTEGER NOT NULL, key BLOB NOT NULL, module TEXT NOT NULL, module_id INTEGER NOT NULL, "
                + "encoding_version INTEGER NOT NULL, raw BLOB NOT NULL)",
            "CREATE TABLE arrays(db INTEGER NOT NULL, key BLOB NOT NULL, insert_idx \(u64))",
            "CREATE TABLE array_elements(db INTEGER NOT NULL, key BLOB NOT NULL, idx \(u64) NOT NULL, value BLOB NOT NULL, "
                + "utf8 INTEGER NOT NULL)",
        ]
    }

    /// Indexes, created after the bulk load (sorting once is much cheaper than maintaining B-trees row by row).
    static func indexes(keysWithoutRowID: Bool) -> [String] {
        (keysWithoutRowID ? [] : ["CREATE UNIQUE INDEX keys_db_key ON keys(db, key)"]) + [
            "CREATE INDEX strings_db_key ON strings(db, key)",
            "CREATE INDEX list_items_db_key ON list_items(db, key, idx)",
            "CREATE INDEX set_members_db_key ON set_members(db, key)",
            "CREATE INDEX zset_members_db_key ON zset_members(db, key)",
            "CREATE INDEX hash_fields_db_key ON hash_fields(db, key)",
            "CREATE INDEX streams_db_key ON streams(db, key)",
            "CREATE INDEX stream_entries_db_key ON stream_entries(db, key, ms, seq)",
            "CREATE INDEX stream_groups_db_key ON stream_groups(db, key)",
            "CREATE INDEX stream_consumers_db_key ON stream_consumers(db, key)",
            "CREATE INDEX stream_pending_db_key ON stream_pending(db, key)",
            "CREATE INDEX modules_db_key ON modules(db, key)",
            "CREATE INDEX arrays_db_key ON arrays(db, key)",
            "CREATE INDEX array_elements_db_key ON array_elements(db, key)",
        ]
    }

    /// `CASE WHEN utf8 & bit THEN CAST(col AS TEXT) END`: the text, or NULL where the bytes are not UTF-8.
    private static func text(_ column: String, _ bit: Int) -> String {
        "CASE WHEN utf8 & \(bit) THEN CAST(\(column) AS TEXT) END AS \(column)"
    }

    /// Convenience views with text columns (NULL where the bytes are not valid UTF-8).
    static let views: [String] = [
        "CREATE VIEW keys_text AS SELECT db, \(text("key", 1)), type, expire_at_ms, "
            + "CASE WHEN expire_at_ms IS NOT NULL THEN strftime('%Y-%m-%dT%H:%M:%fZ', expire_at_ms / 1000.0, 'unixepoch') END "
            + "AS expire_at, lfu_freq, lru_idle_s, length, rdb_type, rdb_bytes, memory_bytes FROM keys",
        "CREATE VIEW strings_text AS SELECT db, \(text("key", 1)), \(text("value", 2)) FROM strings",
        "CREATE VIEW array_elements_text AS SELECT db, \(text("key", 1)), idx, \(text("value", 2)) FROM array_elements",
        "CREATE VIEW list_items_text AS SELECT db, \(text("key", 1)), idx, \(text("value", 2)) FROM list_items",
        "CREATE VIEW set_members_text AS SELECT db, \(text("key", 1)), \(text("member", 2)) FROM set_members",
        "CREATE VIEW zset_members_text AS SELECT db, \(text("key", 1)), \(text("member", 2)), score FROM zset_members",
        "CREATE VIEW hash_fields_text AS SELECT db, \(text("key", 1)), \(text("field", 2)), \(text("value", 4)), "
            + "expire_at_ms FROM hash_fields",
        "CREATE VIEW stream_entries_text AS SELECT db, \(text("key", 1)), ms || '-' || seq AS id, ms, seq, pos, "
            + "\(text("field", 2)), \(text("value", 4)) FROM stream_entries",
        "CREATE VIEW aux_text AS SELECT pos, CAST(key AS TEXT) AS key, CAST(value AS TEXT) AS value FROM aux",
    ]
}
