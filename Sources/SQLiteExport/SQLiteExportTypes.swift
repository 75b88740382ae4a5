/// What an export wrote: counts for the summary line and for `meta`.
public struct SQLiteExportSummary: Sendable, Equatable {
    public var keysSeen = 0
    public var keysExported = 0
    /// Exported keys per `TYPE` name (modules under their module name).
    public var keysByType: [String: Int] = [:]
    /// Rows inserted in all tables (the `keys` rows included).
    public var rows = 0
    public var rdbVersion: Int?
    public var replID: String?
    public var replOffset: String?
    /// Seconds spent building indexes and views and committing (the rest of an export is the streaming load).
    public var indexSeconds: Double = 0
    public init() {}
}

/// Options that change how rows are laid out (not what is exported).
public struct SQLiteLayoutOptions: Sendable, Equatable {
    /// `keys` as a WITHOUT ROWID table keyed by (db, key) instead of a rowid table plus a UNIQUE index
    /// built after the load. Off by default: see tools/bench-sqlite for the measurement.
    public var keysWithoutRowID = false
    /// SQLite page cache for the load and the index build, KiB.
    public var cacheSizeKiB = 16384
    /// Rows per multi-row INSERT for list, set, zset and hash elements (1 = one row per statement).
    public var batchRows = 16
    public init(keysWithoutRowID: Bool = false, cacheSizeKiB: Int = 16384, batchRows: Int = 16) {
        self.keysWithoutRowID = keysWithoutRowID
        self.cacheSizeKiB = cacheSizeKiB
        self.batchRows = batchRows
    }
}
