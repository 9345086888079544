import Foundation
import KeelCore
import KeelStore

/// One test database that can be opened more than once, e.g. first with an earlier release's
/// migrations and then with today's (a rolling upgrade), or by two stores at once.
public struct TestDatabase: Sendable {
    public let kind: StoreKind
    /// SQLite: the database file; PostgreSQL: the schema.
    public let location: String

    public static func fresh(_ kind: StoreKind) -> TestDatabase {
        switch kind {
        case .sqlite: return TestDatabase(kind: kind, location: TestStores.temporaryDirectory().appendingPathComponent("keel.sqlite").path)
        case .postgres: return TestDatabase(kind: kind, location: TestStores.freshSchemaName())
        }
    }

    /// Opens a store on this database, applying `migrations` (all of today's by default).
    public func open(migrations: [Migration] = Migrations.all) async throws -> any SQLStore {
        switch kind {
        case .sqlite: return try await SQLiteStore(path: location, migrations: migrations)
        case .postgres: return try await PostgresStore(url: try TestStores.postgresURL(), schema: location, migrations: migrations)
        }
    }
}

/// Raw SQL for tests that must act as something other than today's Keel: the previous
/// release's statements, or a fault planted in the database.
public enum RawSQL {
    public static func execute(_ store: any Store, _ sql: String, _ arguments: [SQLValue] = []) async throws {
        let backend = try sqlBackend(store)
        try await backend.transaction(.write) { session in try await session.execute(sql, arguments) }
    }

    public static func query(_ store: any Store, _ sql: String, _ arguments: [SQLValue] = []) async throws -> [SQLRow] {
        let backend = try sqlBackend(store)
        return try await backend.transaction(.read) { session in try await session.query(sql, arguments) }
    }

    static func sqlBackend(_ store: any Store) throws -> any SQLBackend {
        guard let sql = store as? any SQLStore else { throw KeelError(.internal, "store \(type(of: store)) is not SQL-backed") }
        return sql.backend
    }

    /// Plants a trigger that makes every status update to `status` fail inside the database,
    /// the way a lost connection or a full disk would fail a step half-way through a change.
    public static func failStatusUpdates(to status: VersionStatus, in store: any Store) async throws {
        switch try sqlBackend(store).dialect {
        case .sqlite:
            try await execute(store, """
                CREATE TRIGGER keel_test_fail_status BEFORE UPDATE OF status ON model_versions
                WHEN NEW.status = '\(status.rawValue)' BEGIN SELECT RAISE(ABORT, 'injected failure'); END
                """)
        case .postgres:
            try await execute(store, """
                CREATE FUNCTION keel_test_fail_status() RETURNS trigger AS $$
                BEGIN
                    IF NEW.status = '\(status.rawValue)' THEN RAISE EXCEPTION 'injected failure'; END IF;
                    RETURN NEW;
                END $$ LANGUAGE plpgsql
                """)
            try await execute(store, """
                CREATE TRIGGER keel_test_fail_status BEFORE UPDATE ON model_versions
                FOR EACH ROW EXECUTE FUNCTION keel_test_fail_status()
                """)
        }
    }
}
