import Foundation
import GRDB
import GRDBSQLite
import KeelCore

/// The embedded store: one SQLite file in WAL mode (`<data-dir>/keel.sqlite`).
public final class SQLiteStore: SQLStore {
    public let backend: any SQLBackend
    public let path: String

    /// Opens (creating when needed) the database file and applies pending migrations (tests
    /// pass an older list to build what an earlier release left behind).
    public init(path: String, migrations: [Migration] = Migrations.all) async throws(KeelError) {
        self.path = path
        do {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            backend = try SQLiteBackend(path: path)
        } catch {
            throw KeelError(.unavailable, "cannot open the SQLite database at \(path)", logDetail: String(describing: error))
        }
        try await migrate(migrations)
    }

    /// The store inside a data folder: `<dir>/keel.sqlite`.
    public convenience init(dataDirectory: URL) async throws(KeelError) {
        try await self.init(path: dataDirectory.appendingPathComponent("keel.sqlite").path)
    }
}

/// GRDB connection pool. Write transactions are spelled out (BEGIN IMMEDIATE … COMMIT) on
/// the writer connection so their statements can be awaited one by one, and an in-process
/// lock keeps other writers off the connection meanwhile. Reads run on GRDB's reader
/// connections (`SQLiteSnapshotReader`), beside the writer, never waiting for its lock.
final class SQLiteBackend: SQLBackend {
    let dialect = SQLDialect.sqlite
    private let pool: DatabasePool
    private let lock = AsyncLock()

    init(path: String) throws {
        var config = Configuration()
        config.allowsUnsafeTransactions = true
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // A 64 MiB page cache and memory-mapped reads per connection: the prediction log's
            // windows read up to a million rows, and its writer touches four indexes.
            try db.execute(sql: "PRAGMA cache_size = -65536")
            try db.execute(sql: "PRAGMA mmap_size = 1073741824")
        }
        pool = try DatabasePool(path: path, configuration: config)
    }

    func transaction<T: Sendable>(_ access: SQLAccess, _ body: (any SQLSession) async throws -> T) async throws -> T {
        switch access {
        case .read:
            return try await SQLiteSnapshotReader.read(pool, body)
        case .write:
            return try await lock.withLock {
                let session = SQLiteSession(pool: pool)
                try await session.execute("BEGIN IMMEDIATE", [])
                do {
                    let result = try await body(session)
                    try await session.execute("COMMIT", [])
                    return result
                } catch {
                    try? await session.execute("ROLLBACK", [])
                    throw error
                }
            }
        }
    }

    func close() async {
        try? pool.close()
    }
}

/// Statements on the writer connection, inside the transaction `SQLiteBackend` opened.
struct SQLiteSession: SQLSession {
    let pool: DatabasePool

    static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(values.map { v -> (any DatabaseValueConvertible)? in
            switch v {
            case .null: return nil
            case .int(let i): return i
            case .double(let d): return d
            case .text(let s): return s
            }
        })
    }

    /// Runs one statement on a connection and returns its rows.
    static func fetch(_ db: Database, _ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try Row.fetchAll(db, sql: sql, arguments: Self.arguments(arguments)).map { row in
            var out: SQLRow = [:]
            for (column, value) in row {
                switch value.storage {
                case .null: out[column] = .null
                case .int64(let i): out[column] = .int(i)
                case .double(let d): out[column] = .double(d)
                case .string(let s): out[column] = .text(s)
                case .blob(let b): out[column] = .text(String(decoding: b, as: UTF8.self))
                }
            }
            return out
        }
    }

    /// Runs one statement and returns its rows as arrays in column order (no dictionaries:
    /// the monitoring reads fetch up to a million rows).
    /// The statement is stepped with SQLite's own calls (no GRDB row per result row), and text
    /// is read straight out of SQLite's buffer into the value.
    static func fetchRows(_ db: Database, _ sql: String, _ arguments: [SQLValue]) throws -> [[SQLValue]] {
        let statement = try db.cachedStatement(sql: sql)
        try statement.setArguments(Self.arguments(arguments))
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        let columns = Int(sqlite3_column_count(handle))
        var out: [[SQLValue]] = []
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
            }
            var values: [SQLValue] = []
            values.reserveCapacity(columns)
            for i in 0..<Int32(columns) {
                switch sqlite3_column_type(handle, i) {
                case SQLITE_NULL: values.append(.null)
                case SQLITE_INTEGER: values.append(.int(sqlite3_column_int64(handle, i)))
                case SQLITE_FLOAT: values.append(.double(sqlite3_column_double(handle, i)))
                default:
                    // TEXT, or a BLOB read as UTF-8 text (as the GRDB path did).
                    let bytes = sqlite3_column_blob(handle, i)
                    let n = Int(max(0, sqlite3_column_bytes(handle, i)))
                    if let bytes, n > 0 {
                        values.append(.text(String(decoding: UnsafeRawBufferPointer(start: bytes, count: n), as: UTF8.self)))
                    } else {
                        values.append(.text(""))
                    }
                }
            }
            out.append(values)
        }
        return out
    }

    func queryRows(_ sql: String, _ arguments: [SQLValue], columns: [String]) async throws -> [[SQLValue]] {
        try await pool.writeWithoutTransaction { db in try Self.fetchRows(db, sql, arguments) }
    }

    func execute(_ sql: String, _ arguments: [SQLValue]) async throws {
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: sql, arguments: Self.arguments(arguments))
        }
    }

    func query(_ sql: String, _ arguments: [SQLValue]) async throws -> [SQLRow] {
        try await pool.writeWithoutTransaction { db in try Self.fetch(db, sql, arguments) }
    }

    /// Prepares the statement once (GRDB's statement cache) and binds each row straight into
    /// SQLite, without building GRDB's argument values. A row's texts are laid end to end in
    /// one buffer kept across rows and bound in place (SQLITE_STATIC: SQLite copies nothing),
    /// valid until the row's step; every parameter is bound again for the next row and the
    /// bindings are cleared at the end, so no binding outlives the buffer.
    func executeEach(_ sql: String, _ rows: [[SQLValue]]) async throws {
        guard !rows.isEmpty else { return }
        try await pool.writeWithoutTransaction { db in
            let statement = try db.cachedStatement(sql: sql)
            let handle = statement.sqliteStatement
            let parameters = Int(sqlite3_bind_parameter_count(handle))
            var text: [UInt8] = []
            text.reserveCapacity(1024)
            var spans = [(start: Int, count: Int)?](repeating: nil, count: parameters)
            defer {
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
            }
            for row in rows {
                guard row.count == parameters else {
                    throw KeelError(.internal, "a bulk statement got \(row.count) values for \(parameters) parameters")
                }
                sqlite3_reset(handle)
                text.removeAll(keepingCapacity: true)
                for (i, value) in row.enumerated() {
                    let index = Int32(i + 1)
                    spans[i] = nil
                    let code: Int32
                    switch value {
                    case .null: code = sqlite3_bind_null(handle, index)
                    case .int(let v): code = sqlite3_bind_int64(handle, index, v)
                    case .double(let v): code = sqlite3_bind_double(handle, index, v)
                    case .text(let s):
                        spans[i] = (text.count, s.utf8.count)
                        text.append(contentsOf: s.utf8)
                        code = SQLITE_OK
                    }
                    guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "bind failed", sql: sql) }
                }
                let step = try text.withUnsafeBufferPointer { buffer -> Int32 in
                    for (i, span) in spans.enumerated() {
                        guard let span else { continue }
                        let index = Int32(i + 1)
                        let code: Int32
                        if span.count > 0, let base = buffer.baseAddress {
                            code = UnsafeRawPointer(base + span.start).withMemoryRebound(to: CChar.self, capacity: span.count) {
                                sqlite3_bind_text(handle, index, $0, Int32(clamping: span.count), Self.static)
                            }
                        } else {
                            code = sqlite3_bind_text(handle, index, "", 0, Self.transient)
                        }
                        guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "bind failed", sql: sql) }
                    }
                    return sqlite3_step(handle)
                }
                guard step == SQLITE_DONE else {
                    let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                    throw DatabaseError(resultCode: ResultCode(rawValue: step), message: message, sql: sql)
                }
            }
        }
    }

    /// SQLite reads the bytes in place until the next step (the caller keeps them alive).
    private static var `static`: sqlite3_destructor_type? { nil }

    /// SQLite copies the bound bytes (they live only for the `withUTF8` call).
    private static var transient: sqlite3_destructor_type { unsafeBitCast(Int(-1), to: sqlite3_destructor_type.self) }
}
