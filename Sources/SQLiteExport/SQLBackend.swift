import GRDB
import Foundation

/// What the loader needs from a SQLite layer. Two implementations exist so the choice can be measured on
/// this workload (tools/bench-sqlite, `--sqlite-layer`): the thin C layer (`SQLiteDatabase`, the default)
/// and GRDB (`GRDBBackend`: cached statements and `StatementArguments`).
protocol SQLBackend: AnyObject {
    associatedtype Statement: SQLRowStatement
    func execute(_ sql: String) throws
    func prepare(_ sql: String) throws -> Statement
}

/// A prepared INSERT. Bindings are 1-based and persist across `run()` calls.
protocol SQLRowStatement: AnyObject {
    func bind(_ index: Int32, _ value: Int64)
    func bind(_ index: Int32, _ value: Int64?)
    func bind(_ index: Int32, _ value: Double)
    /// The bytes must stay valid until the next `run()` returns.
    func bindStatic(_ index: Int32, _ bytes: UnsafeRawBufferPointer)
    func bindText(_ index: Int32, _ text: String?)
    func bindNull(_ index: Int32)
    func run() throws
    func finalize()
}

extension SQLiteDatabase: SQLBackend {}
extension SQLiteStatement: SQLRowStatement {}

/// GRDB as the SQLite layer: one `Database` (used only inside its `DatabaseQueue` closure),
/// statements from `cachedStatement(sql:)`, values passed as `StatementArguments`.
final class GRDBBackend: SQLBackend {
    let db: Database
    init(_ db: Database) { self.db = db }

    func execute(_ sql: String) throws {
        do { try db.execute(sql: sql) } catch { throw SQLiteExportError("\(error)") }
    }

    func prepare(_ sql: String) throws -> GRDBRowStatement {
        do {
            let statement = try db.cachedStatement(sql: sql)
            return GRDBRowStatement(statement)
        } catch {
            throw SQLiteExportError("\(error)")
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
    func bindText(_ index: Int32, _ text: String?) { values[Int(index) - 1] = text?.databaseValue ?? .null }
    func bindNull(_ index: Int32) { values[Int(index) - 1] = .null }

    func run() throws {
        do { try statement.execute(arguments: StatementArguments(values)) } catch {
            throw SQLiteExportError("\(error)")
        }
    }

    func finalize() {}
}
