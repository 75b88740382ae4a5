import GRDBSQLite
import RDB

/// A thin layer over the SQLite C API (through GRDB's `GRDBSQLite` module), used by the exporter's hot loop.
///
/// The exporter binds blobs with `SQLITE_STATIC`: the caller keeps the bytes alive and unmodified until the
/// statement is stepped and reset (every bind happens inside the `withUnsafeBytes` scope that steps the row).
enum SQLiteC {
    /// `SQLITE_STATIC`: SQLite does not copy the bound bytes.
    static let staticDestructor: sqlite3_destructor_type? = nil
    /// `SQLITE_TRANSIENT`: SQLite copies the bound bytes at once.
    static let transientDestructor = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
}

/// An error from SQLite: the result code, SQLite's message and what we were doing.
public struct SQLiteExportError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    /// Set when the input holds a key twice in one db (`code` is `SQLITE_CONSTRAINT`).
    public var duplicate: SQLiteDuplicateKey?
    public init(code: Int32 = 1, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// A key the input holds twice in one db: where the second occurrence starts, when it is known.
public struct SQLiteDuplicateKey: Sendable, Equatable {
    public var db: Int
    public var key: Bytes
    /// `RDBEntry.startOffset` of the second occurrence; nil when only the final UNIQUE index found it
    /// and the input could not be read again.
    public var offset: Int64?
    public init(db: Int, key: Bytes, offset: Int64?) {
        self.db = db
        self.key = key
        self.offset = offset
    }

    /// Redis refuses a file that holds a key twice in one DB ("RDB has duplicated key"); so do we, naming the
    /// file, the byte offset of the second occurrence, the key and the db.
    func error(sourceFileName: String?) -> SQLiteExportError {
        var message = "\(sourceFileName ?? "<input>"): "
        if let offset { message += "error at byte \(offset): " }
        message += "duplicate key \(RDBError.quote(key)) in db \(db) (Redis refuses to load such a file: \"RDB has duplicated key\")"
        var e = SQLiteExportError(code: SQLITE_CONSTRAINT, message)
        e.duplicate = self
        return e
    }
}

/// One open database connection, owned by one exporter.
final class SQLiteDatabase {
    private(set) var handle: OpaquePointer?
    let path: String

    init(path: String) throws {
        self.path = path
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteExportError(code: rc, "\(path): cannot open SQLite database: \(msg)")
        }
        handle = db
    }

    deinit { close() }

    func close() {
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    var lastError: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "database closed" }

    /// Runs one or more SQL statements without results.
    func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? lastError
            sqlite3_free(err)
            throw SQLiteExportError(code: rc, "\(path): SQLite error \(rc): \(msg) (in: \(sql.prefix(120)))")
        }
    }

    func prepare(_ sql: String) throws -> SQLiteStatement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            throw SQLiteExportError(code: rc, "\(path): cannot prepare statement: \(lastError) (in: \(sql))")
        }
        return SQLiteStatement(stmt, database: self, sql: sql)
    }
}

/// A prepared statement: bind by 1-based index, then `run()` (step to completion and reset).
/// Bindings persist across runs, so a row's shared columns (db, key) can be bound once per key.
final class SQLiteStatement {
    private var stmt: OpaquePointer?
    private unowned let database: SQLiteDatabase
    let sql: String

    init(_ stmt: OpaquePointer, database: SQLiteDatabase, sql: String) {
        self.stmt = stmt
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(stmt) }

    @inline(__always) func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(stmt, index, value)
    }

    @inline(__always) func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(stmt, index, value) } else { sqlite3_bind_null(stmt, index) }
    }

    /// NaN becomes NULL (SQLite cannot store NaN as REAL and would do the same).
    @inline(__always) func bind(_ index: Int32, _ value: Double) {
        if value.isNaN { sqlite3_bind_null(stmt, index) } else { sqlite3_bind_double(stmt, index, value) }
    }

    /// Binds bytes without copying: `bytes` must stay valid until the next `run()` returns.
    /// Empty input binds an empty BLOB (`X''`), never NULL.
    @inline(__always) func bindStatic(_ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        if let base = bytes.baseAddress, bytes.count > 0 {
            sqlite3_bind_blob64(stmt, index, base, sqlite3_uint64(bytes.count), SQLiteC.staticDestructor)
        } else {
            sqlite3_bind_zeroblob(stmt, index, 0)
        }
    }

    /// Binds a copy of the bytes (`SQLITE_TRANSIENT`), for rows stepped after the caller's scope ends.
    @inline(__always) func bindCopy(_ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        if let base = bytes.baseAddress, bytes.count > 0 {
            sqlite3_bind_blob64(stmt, index, base, sqlite3_uint64(bytes.count), SQLiteC.transientDestructor)
        } else {
            sqlite3_bind_zeroblob(stmt, index, 0)
        }
    }

    func bindText(_ index: Int32, _ text: String?) {
        guard let text else { sqlite3_bind_null(stmt, index); return }
        sqlite3_bind_text(stmt, index, text, -1, SQLiteC.transientDestructor)
    }

    @inline(__always) func bindNull(_ index: Int32) {
        sqlite3_bind_null(stmt, index)
    }

    /// Steps a statement that returns no rows, then resets it (bindings are kept).
    @inline(__always) func run() throws {
        let rc = sqlite3_step(stmt)
        if rc != SQLITE_DONE {
            sqlite3_reset(stmt)
            throw SQLiteExportError(code: rc, "\(database.path): insert failed: \(database.lastError) (in: \(sql))")
        }
        sqlite3_reset(stmt)
    }

    /// Drops the statement before the connection closes.
    func finalize() {
        sqlite3_finalize(stmt)
        stmt = nil
    }
}
