import Foundation
import KeelCore

/// The `Store` written once over `SQLBackend`; `SQLiteStore` and `PostgresStore` conform by
/// providing a backend, so both run exactly the same statements (`SQLTransaction`).
public protocol SQLStore: Store {
    var backend: any SQLBackend { get }
}

extension SQLStore {
    public func close() async { await backend.close() }

    public func read<T: Sendable>(_ body: (any StoreSnapshot) async throws(KeelError) -> T) async throws(KeelError) -> T {
        let dialect = backend.dialect
        return try await run(.read) { session in try await body(SQLTransaction(session: session, dialect: dialect)) }
    }

    public func write<T: Sendable>(_ body: (any StoreTransaction) async throws(KeelError) -> T) async throws(KeelError) -> T {
        let dialect = backend.dialect
        return try await run(.write) { session in try await body(SQLTransaction(session: session, dialect: dialect)) }
    }

    public func migrate() async throws(KeelError) {
        try await migrate(Migrations.all)
    }

    /// Applies those of `migrations` not yet applied, in order. Tests pass an older list to
    /// build the database an earlier release left behind.
    public func migrate(_ migrations: [Migration]) async throws(KeelError) {
        let dialect = backend.dialect
        try await run(.write) { db in
            try await db.execute("CREATE TABLE IF NOT EXISTS keel_migrations (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
            if dialect == .postgres {
                // Several servers may start at once on one database: apply under a lock.
                try await db.execute("LOCK TABLE keel_migrations IN EXCLUSIVE MODE")
            }
            let applied = Set(try await db.query("SELECT name FROM keel_migrations", []).map { $0.string("name") })
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try await db.execute(dialect.render(statement)) }
                try await db.execute("INSERT INTO keel_migrations (name, applied_at) VALUES (?, ?)", [.text(migration.name), .date(Date())])
            }
        }
    }

    /// Runs one transaction. A `KeelError` from the body passes through; any other failure is
    /// the database's: a 503 that names no internals, with the details kept for the log.
    func run<T: Sendable>(_ access: SQLAccess, _ body: (any SQLSession) async throws -> T) async throws(KeelError) -> T {
        do {
            return try await backend.transaction(access, body)
        } catch let error as KeelError {
            throw error
        } catch {
            throw SQLTransaction.databaseError(error, backend.dialect)
        }
    }
}
