import RDB
import RDBTools

/// Writes RDB records into a new SQLite database, one record at a time, in bounded memory.
///
/// Feed it what `RDBReader.next()` yields (or, later, a replica's live dataset), then call `finish()`,
/// which builds the indexes and views and commits. The sink writes `path` directly, with
/// journal_mode=OFF and synchronous=OFF: a half-written file is garbage, so callers write to a temporary
/// path and rename it when `finish()` returns (what `SQLiteExporter` does).
public final class SQLiteSink {
    private let database: SQLiteDatabase
    private var loader: SQLiteLoader<SQLiteDatabase>?

    /// - Parameters:
    ///   - path: the database file to create; it must not exist yet.
    ///   - sourceFileName: recorded in `meta.source_file`.
    public init(path: String, sourceFileName: String? = nil, filter: KeyFilter = KeyFilter(),
                layout: SQLiteLayoutOptions = SQLiteLayoutOptions()) throws {
        database = try SQLiteDatabase(path: path)
        do {
            loader = try SQLiteLoader(backend: database, filter: filter, layout: layout, sourceFileName: sourceFileName)
        } catch {
            database.close()
            throw error
        }
    }

    public var summary: SQLiteExportSummary { loader?.summary ?? SQLiteExportSummary() }

    public func consume(_ record: RDBRecord) throws {
        guard let loader else { throw SQLiteExportError("SQLiteSink used after finish() or close()") }
        try loader.consume(record)
    }

    /// Writes `meta`, creates indexes and views, commits and closes the database.
    @discardableResult
    public func finish() throws -> SQLiteExportSummary {
        guard let loader else { throw SQLiteExportError("SQLiteSink.finish() called twice") }
        defer { close() }
        try loader.finish()
        return loader.summary
    }

    /// Closes without committing (after an error). The file is left for the caller to delete.
    public func close() {
        loader?.abandon()
        loader = nil
        database.close()
    }

    deinit { close() }
}
