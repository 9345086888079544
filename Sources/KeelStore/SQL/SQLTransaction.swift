import Foundation
import KeelCore

/// The record-level operations of one open transaction, as SQL shared by SQLite and
/// PostgreSQL. Statement failures become a 503 `KeelError` at once, so the unit of work that
/// called them stops and is rolled back.
struct SQLTransaction: StoreTransaction {
    let session: any SQLSession
    let dialect: SQLDialect

    /// A database failure as callers see it: generic, with the database's own words only in
    /// `logDetail`.
    static func databaseError(_ error: any Error, _ dialect: SQLDialect) -> KeelError {
        KeelError(.unavailable, "the database is unavailable; try again later", logDetail: "\(dialect.rawValue): \(String(reflecting: error))")
    }

    func execute(_ sql: String, _ arguments: [SQLValue] = []) async throws(KeelError) {
        do {
            try await session.execute(sql, arguments)
        } catch {
            throw Self.databaseError(error, dialect)
        }
    }

    func query(_ sql: String, _ arguments: [SQLValue] = []) async throws(KeelError) -> [SQLRow] {
        do {
            return try await session.query(sql, arguments)
        } catch {
            throw Self.databaseError(error, dialect)
        }
    }

    func queryRows(_ sql: String, _ arguments: [SQLValue], columns: [String]) async throws(KeelError) -> [[SQLValue]] {
        do {
            return try await session.queryRows(sql, arguments, columns: columns)
        } catch {
            throw Self.databaseError(error, dialect)
        }
    }

    func executeEach(_ sql: String, _ rows: [[SQLValue]]) async throws(KeelError) {
        do {
            try await session.executeEach(sql, rows)
        } catch {
            throw Self.databaseError(error, dialect)
        }
    }

    func queryOne(_ sql: String, _ arguments: [SQLValue] = []) async throws(KeelError) -> SQLRow? {
        try await query(sql, arguments).first
    }

    // MARK: Locks

    func lockModel(named name: String) async throws(KeelError) -> RegisteredModelRecord? {
        try await queryOne("SELECT * FROM registered_models WHERE name = ?\(dialect.forUpdate)", [.text(name)]).map(RowDecoding.model)
    }

    func lockKeys() async throws(KeelError) {
        // SQLite's write transaction already excludes every other writer.
        if dialect == .postgres { try await execute("LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE") }
    }

    /// The locked model row, or 404.
    @discardableResult
    func requireModel(_ name: String) async throws(KeelError) -> RegisteredModelRecord {
        guard let model = try await lockModel(named: name) else { throw KeelError.notFound("unknown model '\(name)'") }
        return model
    }

    /// A version of a model whose row this transaction has locked, or 404 naming what is missing.
    func requireVersion(_ model: String, _ version: Int) async throws(KeelError) -> ModelVersionRecord {
        try await requireModel(model)
        guard let record = try await self.version(model: model, version: version) else {
            throw KeelError.notFound("model '\(model)' has no version \(version)")
        }
        return record
    }
}
