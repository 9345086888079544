import Foundation
import KeelCore
import KeelStore
import KeelTestSupport
import Testing

/// Two releases in a row on one database: the previous release (only the first migration,
/// and its own statements, copied here as it shipped) keeps working after today's migrations
/// ran, and today's code reads what the previous release wrote.
@Suite struct RollingUpgradeTests {
    /// The previous release's statements for registering a version and setting a gate.
    enum PreviousRelease {
        static func register(_ store: any Store, model: String, metrics: String, sizeBytes: Int64) async throws -> Int {
            let now = Date().timeIntervalSince1970
            try await RawSQL.execute(store,
                "INSERT INTO registered_models (name, description, tags, owner, last_version, created_at, updated_at) VALUES (?, '', '{}', ?, 0, ?, ?) ON CONFLICT (name) DO NOTHING",
                [.text(model), .text("old"), .double(now), .double(now)])
            let rows = try await RawSQL.query(store, "SELECT last_version FROM registered_models WHERE name = ?", [.text(model)])
            let number = (rows.first?["last_version"]?.int ?? 0) + 1
            try await RawSQL.execute(store, "UPDATE registered_models SET last_version = last_version + 1, updated_at = ? WHERE name = ?", [.double(now), .text(model)])
            try await RawSQL.execute(store,
                """
                INSERT INTO model_versions (model, version, artifact_sha256, format, size_bytes, filename, signature, metrics, params, tags,
                    description, training_data, config_yaml, status, created_by, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(model), .int(number), .text("ab"), .text("xgboost_json"), .int(sizeBytes), .text("model.json"), .text("{}"),
                 .text(metrics), .text("{}"), .text("{}"), .text(""), .null, .null, .text("development"), .text("old"), .double(now)])
            return Int(number)
        }

        static func setGate(_ store: any Store, model: String, metric: String, op: String, threshold: Double) async throws {
            try await RawSQL.execute(store, "DELETE FROM gates WHERE model = ? AND metric = ? AND op = ?", [.text(model), .text(metric), .text(op)])
            try await RawSQL.execute(store,
                "INSERT INTO gates (model, metric, op, threshold, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [.text(model), .text(metric), .text(op), .double(threshold), .text("old"), .double(Date().timeIntervalSince1970)])
        }

        static func metrics(_ store: any Store, model: String, version: Int) async throws -> String? {
            try await RawSQL.query(store, "SELECT * FROM model_versions WHERE model = ? AND version = ?", [.text(model), .int(Int64(version))])
                .first?["metrics"]?.text
        }
    }

    @Test(arguments: StoreKind.enabled)
    func previousReleaseKeepsWorkingAndItsRowsReadAsReported(kind: StoreKind) async throws {
        let database = TestDatabase.fresh(kind)
        let old = try await database.open(migrations: Array(Migrations.all.prefix(1)))
        defer { Task { await old.close() } }
        #expect(try await PreviousRelease.register(old, model: "churn", metrics: #"{"roc_auc":0.9,"size_mb":0.002}"#, sizeBytes: 2000) == 1)
        try await PreviousRelease.setGate(old, model: "churn", metric: "roc_auc", op: ">=", threshold: 0.85)

        // Today's release starts on the same database while the previous one still runs.
        let new = try await database.open()
        defer { Task { await new.close() } }
        #expect(try await PreviousRelease.register(old, model: "churn", metrics: #"{"roc_auc":0.95}"#, sizeBytes: 3000) == 2)
        try await PreviousRelease.setGate(old, model: "churn", metric: "f1", op: ">=", threshold: 0.5)

        for (number, reported, size) in [(1, ["roc_auc": 0.9], 0.002), (2, ["roc_auc": 0.95], 0.003)] {
            let v = try #require(try await new.version(model: "churn", version: number))
            #expect(v.metrics == ["size_mb": size], "v\(number) measured")
            #expect(v.reportedMetrics == reported, "v\(number) reported")
        }
        #expect(try await new.gates(model: "churn").map { "\($0.metric) \($0.acceptReported)" } == ["f1 false", "roc_auc false"])

        // Numbers stay unique whichever release registers next.
        let created = try await new.createVersion(
            ModelVersionRecord(model: "churn", artifactSHA256: "cd", format: "xgboost_json", sizeBytes: 10, metrics: ["size_mb": 0.00001]),
            audit: TestStores.audit("version.register", "churn"))
        #expect(created.version == 3)
        #expect(try await PreviousRelease.register(old, model: "churn", metrics: "{}", sizeBytes: 10) == 4)

        // The previous release reads today's rows: measured metrics in the column it knows.
        try await new.recordMetrics(model: "churn", version: 1, metrics: ["roc_auc": 0.88], audit: TestStores.audit("version.evaluate", "churn/1"))
        let oldView = try #require(try await PreviousRelease.metrics(old, model: "churn", version: 1))
        #expect(oldView.contains("\"roc_auc\":0.88"))
        let settled = try #require(try await new.version(model: "churn", version: 1))
        #expect(settled.metrics == ["roc_auc": 0.88, "size_mb": 0.002])
        #expect(settled.reportedMetrics == ["roc_auc": 0.9])
    }

    @Test func migrationsOnlyAddToTheSchema() {
        for migration in Migrations.all.dropFirst() {
            for statement in migration.statements {
                let text = statement.uppercased()
                // Dropping an index changes no statement's result (none names an index), only
                // its speed: the previous release keeps working.
                let additive = text.hasPrefix("CREATE TABLE") || text.hasPrefix("CREATE INDEX") || text.hasPrefix("INSERT INTO")
                    || text.hasPrefix("DROP INDEX")
                    || (text.hasPrefix("ALTER TABLE") && text.contains(" ADD COLUMN ") && (!text.contains("NOT NULL") || text.contains("DEFAULT")))
                #expect(additive, "\(migration.name): '\(statement)' is not additive")
            }
        }
    }
}
