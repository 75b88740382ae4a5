import Foundation
import GRDB
import GRDBSQLite
import RDB

/// What the loader needs from a SQLite layer. Two implementations exist so the choice can be measured on
/// this workload (tools/bench-sqlite, `--sqlite-layer`): the thin C layer (`SQLiteDatabase`, the default)
/// and GRDB (`GRDBBackend`: cached statements and `StatementArguments`).
protocol SQLBackend: AnyObject {
    associatedtype Statement: SQLRowStatement
    func execute(_ sql: String) throws
    func prepare(_ sql: String) throws -> Statement
    /// One (db, key) that occurs more than once in `keys`, if any.
    func firstDuplicateKey() throws -> (db: Int64, key: Bytes)?
}

let duplicateKeySQL = "SELECT db, key FROM keys GROUP BY db, key HAVING count(*) > 1 LIMIT 1"


/// A prepared INSERT. Bindings are 1-based and persist across `run()` calls.
protocol SQLRowStatement: AnyObject {
    func bind(_ index: Int32, _ value: Int64)
    func bind(_ index: Int32, _ value: Int64?)
    func bind(_ index: Int32, _ value: Double)
    /// The bytes must stay valid until the next `run()` returns.
    func bindStatic(_ index: Int32, _ bytes: UnsafeRawBufferPointer)
    /// Binds a copy of the bytes (valid after the caller's buffer goes away).
    func bindCopy(_ index: Int32, _ bytes: UnsafeRawBufferPointer)
    func bindText(_ index: Int32, _ text: String?)
    func bindNull(_ index: Int32)
    func run() throws
    func finalize()
}

extension SQLRowStatement {
    /// An unsigned 64-bit number from the file: INTEGER when it fits in SQLite's signed 64 bits, otherwise its
    /// exact decimal TEXT (e.g. stream ID 18446744073709551615-0), which sorts after every INTEGER.
    @inline(__always) func bindU64(_ index: Int32, _ value: UInt64?) {
        guard let value else { bindNull(index); return }
        if value <= UInt64(Int64.max) { bind(index, Int64(value)) } else { bindText(index, String(value)) }
    }
}

extension SQLiteDatabase: SQLBackend {
    func firstDuplicateKey() throws -> (db: Int64, key: Bytes)? {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, duplicateKeySQL, -1, &stmt, nil) == SQLITE_OK else {
            throw SQLiteExportError("\(path): \(lastError)")
        }
        defer { sqlite3_finalize(stmt) }
        guard sqlite3_step(stmt) == SQLITE_ROW else { return nil }
        let n = Int(sqlite3_column_bytes(stmt, 1))
        let key = n > 0 ? Bytes(UnsafeRawBufferPointer(start: sqlite3_column_blob(stmt, 1), count: n)) : []
        return (sqlite3_column_int64(stmt, 0), key)
    }
}
extension SQLiteStatement: SQLRowStatement {}

/// GRDB as the SQLite layer: one `Database` (used only inside its `DatabaseQueue` closure),
/// statements from `cachedStatement(sql:)`, values passed as `StatementArguments`.
final class GRDBBackend: SQLBackend {
    let db: Database

    static func wrap(_ error: Error) -> SQLiteExportError {
        if let e = error as? DatabaseError { return SQLiteExportError(code: e.resultCode.primaryResultCode.rawValue, "\(e)") }
        return SQLiteExportError("\(error)")
    }
    init(_ db: Database) { self.db = db }

    func execute(_ sql: String) throws {
        do { try db.execute(sql: sql) } catch { throw Self.wrap(error) }
    }

    func firstDuplicateKey() throws -> (db: Int64, key: Bytes)? {
        guard let row = try Row.fetchOne(db, sql: duplicateKeySQL) else { return nil }
        let data: Data = row[1]
        return (row[0], Bytes(data))
    }

    func prepare(_ sql: String) throws -> GRDBRowStatement {
        do {
            let statement = try db.cachedStatement(sql: sql)
            return GRDBRowStatement(statement)
        } catch {
            throw Self.wrap(error)
        }
    }
}

final class GRDBRowStatement: SQLRowStatement {
    let statement: Statement
    var values: [DatabaseValue]

    init(_ statement: Statement) {
        self.statement = statement
        values = Array(repeating: .null, count: Self.parameterCount(statement.sql))
    }

    private static func parameterCount(_ sql: String) -> Int { sql.filter { $0 == "?" }.count }

    func bind(_ index: Int32, _ value: Int64) { values[Int(index) - 1] = value.databaseValue }
    func bind(_ index: Int32, _ value: Int64?) { values[Int(index) - 1] = value?.databaseValue ?? .null }
    func bind(_ index: Int32, _ value: Double) { values[Int(index) - 1] = value.isNaN ? .null : value.databaseValue }
    func bindStatic(_ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        values[Int(index) - 1] = Data(bytes).databaseValue
    }
    func bindCopy(_ index: Int32, _ bytes: UnsafeRawBufferPointer) { bindStatic(index, bytes) }
    func bindText(_ index: Int32, _ text: String?) { values[Int(index) - 1] = text?.databaseValue ?? .null }
    func bindNull(_ index: Int32) { values[Int(index) - 1] = .null }

    func run() throws {
        do { try statement.execute(arguments: StatementArguments(values)) } catch {
            throw GRDBBackend.wrap(error)
        }
    }

    func finalize() {}
}
