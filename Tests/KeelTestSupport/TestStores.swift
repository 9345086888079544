import Foundation
import KeelCore
import KeelStore

/// The stores a conformance test runs against. SQLite always; PostgreSQL when
/// `KEEL_TEST_DATABASE_URL` is set — and under `CI=true` always, so a missing database fails
/// the run instead of silently skipping half the suite.
public enum StoreKind: String, Sendable, CaseIterable {
    case sqlite
    case postgres

    public static var enabled: [StoreKind] {
        let env = ProcessInfo.processInfo.environment
        if env["KEEL_TEST_DATABASE_URL"] != nil || env["CI"] == "true" { return [.sqlite, .postgres] }
        return [.sqlite]
    }

    public var testDescription: String { rawValue }
}

/// Fresh, isolated stores for tests.
public enum TestStores {
    /// The PostgreSQL URL for tests, or a clear failure when it is not configured.
    public static func postgresURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["KEEL_TEST_DATABASE_URL"], !url.isEmpty else {
            throw KeelError(.unavailable, "KEEL_TEST_DATABASE_URL is not set; run `bash scripts/test.sh`, which starts a PostgreSQL cluster")
        }
        return url
    }

    /// A new empty store: a SQLite file in a temporary folder, or a fresh PostgreSQL schema.
    public static func make(_ kind: StoreKind, schema: String? = nil) async throws -> any Store {
        switch kind {
        case .sqlite:
            return try await SQLiteStore(dataDirectory: temporaryDirectory())
        case .postgres:
            return try await PostgresStore(url: try postgresURL(), schema: schema ?? freshSchemaName())
        }
    }

    public static func freshSchemaName() -> String {
        "keel_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    }

    public static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keel-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    public static func audit(_ action: String, _ target: String, actor: String = "test") -> AuditEventRecord {
        AuditEventRecord(actor: actor, action: action, target: target)
    }
}
