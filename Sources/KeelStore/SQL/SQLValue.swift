import Foundation

/// A value bound to or read from a SQL statement; the common ground of SQLite and PostgreSQL.
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)

    public var int: Int64? {
        switch self {
        case .int(let i): return i
        // Never traps: NaN, infinities and out-of-range values are not integers.
        case .double(let d): return Int64(exactly: d.rounded(.towardZero))
        case .text(let s): return Int64(s)
        case .null: return nil
        }
    }

    public var double: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .text(let s): return Double(s)
        case .null: return nil
        }
    }

    public var text: String? {
        switch self {
        case .text(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .null: return nil
        }
    }

    static func optional(_ s: String?) -> SQLValue { s.map { .text($0) } ?? .null }
    static func optional(_ i: Int?) -> SQLValue { i.map { .int(Int64($0)) } ?? .null }
    static func optionalDouble(_ d: Double?) -> SQLValue { d.flatMap { $0.isFinite ? .double($0) : nil } ?? .null }
    static func date(_ d: Date) -> SQLValue { .double(d.timeIntervalSince1970) }
}

/// One result row, by column name.
public typealias SQLRow = [String: SQLValue]

extension Dictionary where Key == String, Value == SQLValue {
    func string(_ column: String) -> String { self[column]?.text ?? "" }
    func optionalString(_ column: String) -> String? { self[column]?.text }
    func int(_ column: String) -> Int { Int(truncatingIfNeeded: self[column]?.int ?? 0) }
    func optionalInt(_ column: String) -> Int? { self[column]?.int.map { Int(truncatingIfNeeded: $0) } }
    func bool(_ column: String) -> Bool { (self[column]?.int ?? 0) != 0 }
    func double(_ column: String) -> Double { self[column]?.double ?? 0 }
    func date(_ column: String) -> Date { Date(timeIntervalSince1970: double(column)) }
    func optionalDate(_ column: String) -> Date? { self[column]?.double.map { Date(timeIntervalSince1970: $0) } }
}

/// The statements of one open transaction. SQL uses `?` placeholders; each backend
/// translates them to its own.
public protocol SQLSession {
    func execute(_ sql: String, _ arguments: [SQLValue]) async throws
    func query(_ sql: String, _ arguments: [SQLValue]) async throws -> [SQLRow]
    /// Rows as arrays in the order of `columns` (the statement's select list), for bulk reads.
    func queryRows(_ sql: String, _ arguments: [SQLValue], columns: [String]) async throws -> [[SQLValue]]
    /// Runs one statement once per row of arguments (bulk inserts: SQLite prepares it once and
    /// binds each row).
    func executeEach(_ sql: String, _ rows: [[SQLValue]]) async throws
}

extension SQLSession {
    /// By name, for sessions without a faster path.
    public func queryRows(_ sql: String, _ arguments: [SQLValue], columns: [String]) async throws -> [[SQLValue]] {
        try await query(sql, arguments).map { row in columns.map { row[$0] ?? .null } }
    }

    /// One statement per row, for sessions without a faster path.
    public func executeEach(_ sql: String, _ rows: [[SQLValue]]) async throws {
        for row in rows { try await execute(sql, row) }
    }

    func execute(_ sql: String) async throws { try await execute(sql, []) }
    func queryOne(_ sql: String, _ arguments: [SQLValue] = []) async throws -> SQLRow? {
        try await query(sql, arguments).first
    }
}

/// What differs between the SQL dialects Keel speaks.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgres

    /// Replaces the dialect tokens of a migration: `{{pk}}` an auto-incrementing 64-bit key.
    func render(_ sql: String) -> String {
        switch self {
        case .sqlite: return sql.replacingOccurrences(of: "{{pk}}", with: "INTEGER PRIMARY KEY AUTOINCREMENT")
        case .postgres: return sql.replacingOccurrences(of: "{{pk}}", with: "BIGSERIAL PRIMARY KEY")
        }
    }

    /// Row-lock suffix for a SELECT whose rows a decision depends on. SQLite needs none: its
    /// write transactions (BEGIN IMMEDIATE) already exclude every other writer.
    var forUpdate: String {
        switch self {
        case .sqlite: return ""
        case .postgres: return " FOR UPDATE"
        }
    }

    /// Row-lock suffix for claiming work several replicas compete for: a row another
    /// transaction holds is skipped rather than waited for.
    func skipLocked(of table: String) -> String {
        switch self {
        case .sqlite: return ""
        case .postgres: return " FOR UPDATE OF \(table) SKIP LOCKED"
        }
    }
}

/// Whether a transaction may change the database.
public enum SQLAccess: Sendable {
    /// A read-only snapshot (SQLite: one of GRDB's readers; PostgreSQL: REPEATABLE READ READ ONLY).
    case read
    /// A write transaction (SQLite: BEGIN IMMEDIATE on the writer; PostgreSQL: one connection).
    case write
}

/// A database connection (pool) that runs transactions; what `SQLiteStore` and
/// `PostgresStore` each provide, everything above it is shared.
public protocol SQLBackend: Sendable {
    var dialect: SQLDialect { get }
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T: Sendable>(_ access: SQLAccess, _ body: (any SQLSession) async throws -> T) async throws -> T
    func close() async
}
