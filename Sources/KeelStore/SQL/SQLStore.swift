import Foundation
import KeelCore

/// The `Store` operations written once over `SQLBackend`; `SQLiteStore` and `PostgresStore`
/// conform by providing a backend, so both run exactly the same statements.
public protocol SQLStore: Store {
    var backend: any SQLBackend { get }
}

extension SQLStore {
    /// Runs one transaction, turning database failures into a 503 `KeelError`.
    func transaction<T: Sendable>(_ body: (any SQLSession) async throws -> T) async throws(KeelError) -> T {
        do {
            return try await backend.transaction(body)
        } catch let error as KeelError {
            throw error
        } catch {
            throw KeelError(.unavailable, "database error (\(backend.dialect.rawValue)): \(String(reflecting: error))")
        }
    }

    public func close() async { await backend.close() }

    public func migrate() async throws(KeelError) {
        let dialect = backend.dialect
        try await transaction { db in
            try await db.execute("CREATE TABLE IF NOT EXISTS keel_migrations (name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
            if dialect == .postgres {
                // Several servers may start at once on one database: apply under a lock.
                try await db.execute("LOCK TABLE keel_migrations IN EXCLUSIVE MODE")
            }
            let applied = Set(try await db.query("SELECT name FROM keel_migrations", []).map { $0.string("name") })
            for migration in Migrations.all where !applied.contains(migration.name) {
                for statement in migration.statements { try await db.execute(dialect.render(statement)) }
                try await db.execute("INSERT INTO keel_migrations (name, applied_at) VALUES (?, ?)", [.text(migration.name), .date(Date())])
            }
        }
    }

    // MARK: Models

    public func createModel(_ model: RegisteredModelRecord, audit: AuditEventRecord) async throws(KeelError) {
        try await transaction { db in
            if try await db.queryOne("SELECT name FROM registered_models WHERE name = ?", [.text(model.name)]) != nil {
                throw KeelError(.conflict, "model '\(model.name)' already exists")
            }
            try await Self.insertModel(db, model)
            try await Self.insertAudit(db, audit)
        }
    }

    public func updateModel(_ model: RegisteredModelRecord, audit: AuditEventRecord) async throws(KeelError) {
        try await transaction { db in
            guard try await db.queryOne("SELECT name FROM registered_models WHERE name = ?", [.text(model.name)]) != nil else {
                throw KeelError.notFound("unknown model '\(model.name)'")
            }
            try await db.execute(
                "UPDATE registered_models SET description = ?, tags = ?, owner = ?, updated_at = ? WHERE name = ?",
                [.text(model.description), .text(JSONText.encode(model.tags)), .text(model.owner), .date(Date()), .text(model.name)])
            try await Self.insertAudit(db, audit)
        }
    }

    public func model(named name: String) async throws(KeelError) -> RegisteredModelRecord? {
        try await transaction { db in
            try await db.queryOne("SELECT * FROM registered_models WHERE name = ?", [.text(name)]).map(Self.modelRecord)
        }
    }

    public func models() async throws(KeelError) -> [RegisteredModelRecord] {
        try await transaction { db in
            try await db.query("SELECT * FROM registered_models ORDER BY name", []).map(Self.modelRecord)
        }
    }

    public func deleteModel(named name: String, audit: AuditEventRecord) async throws(KeelError) {
        try await transaction { db in
            guard try await db.queryOne("SELECT name FROM registered_models WHERE name = ?", [.text(name)]) != nil else {
                throw KeelError.notFound("unknown model '\(name)'")
            }
            let aliases = try await db.query("SELECT alias, version FROM aliases WHERE model = ? ORDER BY alias", [.text(name)])
            if !aliases.isEmpty {
                let list = aliases.map { "\($0.string("alias")) -> v\($0.int("version"))" }.joined(separator: ", ")
                throw KeelError(.conflict, "model '\(name)' still has aliases (\(list)); remove them first")
            }
            for table in ["gates", "model_versions", "registered_models"] {
                try await db.execute("DELETE FROM \(table) WHERE \(table == "registered_models" ? "name" : "model") = ?", [.text(name)])
            }
            try await Self.insertAudit(db, audit)
        }
    }

    // MARK: Versions

    public func createVersion(_ version: ModelVersionRecord, audit: AuditEventRecord) async throws(KeelError) -> ModelVersionRecord {
        try await transaction { db in
            let now = Date()
            try await db.execute(
                "INSERT INTO registered_models (name, description, tags, owner, last_version, created_at, updated_at) VALUES (?, '', '{}', ?, 0, ?, ?) ON CONFLICT (name) DO NOTHING",
                [.text(version.model), .text(version.createdBy), .date(now), .date(now)])
            // The UPDATE takes the model row's write lock, so concurrent registrations queue
            // here and each gets its own number.
            guard let row = try await db.queryOne(
                "UPDATE registered_models SET last_version = last_version + 1, updated_at = ? WHERE name = ? RETURNING last_version",
                [.date(now), .text(version.model)])
            else { throw KeelError(.internal, "model '\(version.model)' vanished while registering") }
            var created = version
            created.version = row.int("last_version")
            created.createdAt = now
            try await db.execute(
                """
                INSERT INTO model_versions (model, version, artifact_sha256, format, size_bytes, filename, signature, metrics, params, tags,
                    description, training_data, config_yaml, status, created_by, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(created.model), .int(Int64(created.version)), .text(created.artifactSHA256), .text(created.format),
                    .int(Int64(created.sizeBytes)), .text(created.filename), .text(created.signature),
                    .text(JSONText.encode(created.metrics)), .text(JSONText.encode(created.params)), .text(JSONText.encode(created.tags)),
                    .text(created.description), .optional(created.trainingData), .optional(created.configYAML),
                    .text(created.status.rawValue), .text(created.createdBy), .date(created.createdAt),
                ])
            var event = audit
            if event.after == nil { event.after = "v\(created.version) sha256:\(created.artifactSHA256)" }
            if !event.target.contains("/") { event.target = "\(created.model)/\(created.version)" }
            try await Self.insertAudit(db, event)
            return created
        }
    }

    public func version(model: String, version: Int) async throws(KeelError) -> ModelVersionRecord? {
        try await transaction { db in
            try await db.queryOne("SELECT * FROM model_versions WHERE model = ? AND version = ?", [.text(model), .int(Int64(version))])
                .map(Self.versionRecord)
        }
    }

    public func versions(model: String) async throws(KeelError) -> [ModelVersionRecord] {
        try await transaction { db in
            try await db.query("SELECT * FROM model_versions WHERE model = ? ORDER BY version", [.text(model)]).map(Self.versionRecord)
        }
    }

    public func setStatus(model: String, version: Int, status: VersionStatus, audit: AuditEventRecord) async throws(KeelError) {
        try await transaction { db in
            let current = try await Self.requireVersion(db, model, version)
            try await db.execute(
                "UPDATE model_versions SET status = ? WHERE model = ? AND version = ?",
                [.text(status.rawValue), .text(model), .int(Int64(version))])
            var event = audit
            event.before = event.before ?? current.string("status")
            event.after = event.after ?? status.rawValue
            try await Self.insertAudit(db, event)
        }
    }

    public func recordMetrics(model: String, version: Int, metrics: [String: Double], audit: AuditEventRecord) async throws(KeelError) {
        try await transaction { db in
            let current = try await Self.requireVersion(db, model, version)
            let before: [String: Double] = JSONText.decode(current.string("metrics")) ?? [:]
            let merged = before.merging(metrics) { _, new in new }
            try await db.execute(
                "UPDATE model_versions SET metrics = ? WHERE model = ? AND version = ?",
                [.text(JSONText.encode(merged)), .text(model), .int(Int64(version))])
            var event = audit
            event.before = event.before ?? JSONText.encode(before)
            event.after = event.after ?? JSONText.encode(merged)
            try await Self.insertAudit(db, event)
        }
    }

    public func deleteVersion(model: String, version: Int, audit: AuditEventRecord) async throws(KeelError) {
        try await transaction { db in
            _ = try await Self.requireVersion(db, model, version)
            let pointing = try await db.query(
                "SELECT alias FROM aliases WHERE model = ? AND version = ? ORDER BY alias", [.text(model), .int(Int64(version))])
            if !pointing.isEmpty {
                throw KeelError(.conflict, "version \(version) of '\(model)' is the target of alias \(pointing.map { "'\($0.string("alias"))'" }.joined(separator: ", ")); move the alias first")
            }
            try await db.execute("DELETE FROM model_versions WHERE model = ? AND version = ?", [.text(model), .int(Int64(version))])
            try await Self.insertAudit(db, audit)
        }
    }

    // MARK: Aliases

    public func setAlias(model: String, alias: String, version: Int, actor: String, forced: Bool, audit: AuditEventRecord) async throws(KeelError) -> AliasMoveRecord {
        try await transaction { db in
            _ = try await Self.requireVersion(db, model, version)
            let now = Date()
            let previous = try await db.queryOne("SELECT version FROM aliases WHERE model = ? AND alias = ?", [.text(model), .text(alias)])
                .map { $0.int("version") }
            if previous == nil {
                try await db.execute(
                    "INSERT INTO aliases (model, alias, version, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)",
                    [.text(model), .text(alias), .int(Int64(version)), .text(actor), .date(now)])
            } else {
                try await db.execute(
                    "UPDATE aliases SET version = ?, updated_by = ?, updated_at = ? WHERE model = ? AND alias = ?",
                    [.int(Int64(version)), .text(actor), .date(now), .text(model), .text(alias)])
            }
            let move = try await Self.insertMove(db, model: model, alias: alias, from: previous, to: version, actor: actor, forced: forced, at: now)
            var event = audit
            event.before = event.before ?? previous.map { "v\($0)" }
            event.after = event.after ?? "v\(version)"
            try await Self.insertAudit(db, event)
            return move
        }
    }

    public func removeAlias(model: String, alias: String, actor: String, audit: AuditEventRecord) async throws(KeelError) -> AliasMoveRecord {
        try await transaction { db in
            guard let previous = try await db.queryOne("SELECT version FROM aliases WHERE model = ? AND alias = ?", [.text(model), .text(alias)])
                .map({ $0.int("version") })
            else { throw KeelError.notFound("model '\(model)' has no alias '\(alias)'") }
            try await db.execute("DELETE FROM aliases WHERE model = ? AND alias = ?", [.text(model), .text(alias)])
            let move = try await Self.insertMove(db, model: model, alias: alias, from: previous, to: nil, actor: actor, forced: false, at: Date())
            var event = audit
            event.before = event.before ?? "v\(previous)"
            try await Self.insertAudit(db, event)
            return move
        }
    }

    public func aliases(model: String) async throws(KeelError) -> [AliasRecord] {
        try await transaction { db in
            try await db.query("SELECT * FROM aliases WHERE model = ? ORDER BY alias", [.text(model)]).map(Self.aliasRecord)
        }
    }

    public func allAliases() async throws(KeelError) -> [AliasRecord] {
        try await transaction { db in
            try await db.query("SELECT * FROM aliases ORDER BY model, alias", []).map(Self.aliasRecord)
        }
    }

    public func aliasMoves(model: String) async throws(KeelError) -> [AliasMoveRecord] {
        try await transaction { db in
            try await db.query("SELECT * FROM alias_moves WHERE model = ? ORDER BY id", [.text(model)]).map(Self.moveRecord)
        }
    }

    public func latestAliasMoveID() async throws(KeelError) -> Int64 {
        try await transaction { db in
            try await db.queryOne("SELECT MAX(id) AS latest FROM alias_moves", [])?["latest"]?.int ?? 0
        }
    }

    // MARK: Gates

    public func setGate(_ gate: GateRecord, audit: AuditEventRecord) async throws(KeelError) {
        try await transaction { db in
            guard try await db.queryOne("SELECT name FROM registered_models WHERE name = ?", [.text(gate.model)]) != nil else {
                throw KeelError.notFound("unknown model '\(gate.model)'")
            }
            let key: [SQLValue] = [.text(gate.model), .text(gate.metric), .text(gate.op)]
            try await db.execute("DELETE FROM gates WHERE model = ? AND metric = ? AND op = ?", key)
            try await db.execute(
                "INSERT INTO gates (model, metric, op, threshold, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                key + [.double(gate.threshold), .text(gate.createdBy), .date(gate.createdAt)])
            try await Self.insertAudit(db, audit)
        }
    }

    public func gates(model: String) async throws(KeelError) -> [GateRecord] {
        try await transaction { db in
            try await db.query("SELECT * FROM gates WHERE model = ? ORDER BY metric, op", [.text(model)]).map {
                GateRecord(model: $0.string("model"), metric: $0.string("metric"), op: $0.string("op"), threshold: $0.double("threshold"),
                           createdBy: $0.string("created_by"), createdAt: $0.date("created_at"))
            }
        }
    }

    public func removeGate(model: String, metric: String, op: String, audit: AuditEventRecord) async throws(KeelError) {
        try await transaction { db in
            let key: [SQLValue] = [.text(model), .text(metric), .text(op)]
            guard try await db.queryOne("SELECT metric FROM gates WHERE model = ? AND metric = ? AND op = ?", key) != nil else {
                throw KeelError.notFound("model '\(model)' has no gate '\(metric) \(op) …'")
            }
            try await db.execute("DELETE FROM gates WHERE model = ? AND metric = ? AND op = ?", key)
            try await Self.insertAudit(db, audit)
        }
    }

    // MARK: Keys

    public func createKey(_ key: APIKeyRecord, audit: AuditEventRecord) async throws(KeelError) {
        try await transaction { db in
            if try await db.queryOne("SELECT id FROM api_keys WHERE id = ?", [.text(key.id)]) != nil {
                throw KeelError(.conflict, "API key id '\(key.id)' already exists")
            }
            try await db.execute(
                "INSERT INTO api_keys (id, name, role, key_sha256, created_by, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)",
                [.text(key.id), .text(key.name), .text(key.role), .text(key.keySHA256), .text(key.createdBy), .date(key.createdAt)])
            try await Self.insertAudit(db, audit)
        }
    }

    public func key(sha256: String) async throws(KeelError) -> APIKeyRecord? {
        try await transaction { db in
            try await db.queryOne("SELECT * FROM api_keys WHERE key_sha256 = ?", [.text(sha256)]).map(Self.keyRecord)
        }
    }

    public func keys() async throws(KeelError) -> [APIKeyRecord] {
        try await transaction { db in
            try await db.query("SELECT * FROM api_keys ORDER BY created_at, id", []).map(Self.keyRecord)
        }
    }

    public func revokeKey(id: String, audit: AuditEventRecord) async throws(KeelError) {
        try await transaction { db in
            guard let row = try await db.queryOne("SELECT * FROM api_keys WHERE id = ?", [.text(id)]) else {
                throw KeelError.notFound("unknown API key '\(id)'")
            }
            guard row.optionalDate("revoked_at") == nil else { throw KeelError(.conflict, "API key '\(id)' is already revoked") }
            try await db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [.date(Date()), .text(id)])
            try await Self.insertAudit(db, audit)
        }
    }

    // MARK: Audit

    public func appendAudit(_ event: AuditEventRecord) async throws(KeelError) {
        try await transaction { db in try await Self.insertAudit(db, event) }
    }

    public func auditEvents(target: String?, limit: Int) async throws(KeelError) -> [AuditEventRecord] {
        try await transaction { db in
            let rows: [SQLRow]
            if let target {
                rows = try await db.query(
                    "SELECT * FROM audit_events WHERE target = ? OR target LIKE ? ORDER BY id DESC LIMIT ?",
                    [.text(target), .text(target + "/%"), .int(Int64(limit))])
            } else {
                rows = try await db.query("SELECT * FROM audit_events ORDER BY id DESC LIMIT ?", [.int(Int64(limit))])
            }
            return rows.map {
                AuditEventRecord(id: $0["id"]?.int ?? 0, actor: $0.string("actor"), action: $0.string("action"), target: $0.string("target"),
                                 before: $0.optionalString("before_value"), after: $0.optionalString("after_value"), at: $0.date("at"))
            }
        }
    }

    // MARK: Helpers

    static func insertModel(_ db: any SQLSession, _ m: RegisteredModelRecord) async throws {
        try await db.execute(
            "INSERT INTO registered_models (name, description, tags, owner, last_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [.text(m.name), .text(m.description), .text(JSONText.encode(m.tags)), .text(m.owner), .int(Int64(m.lastVersion)),
             .date(m.createdAt), .date(m.updatedAt)])
    }

    static func insertAudit(_ db: any SQLSession, _ e: AuditEventRecord) async throws {
        try await db.execute(
            "INSERT INTO audit_events (actor, action, target, before_value, after_value, at) VALUES (?, ?, ?, ?, ?, ?)",
            [.text(e.actor), .text(e.action), .text(e.target), .optional(e.before), .optional(e.after), .date(e.at)])
    }

    static func insertMove(_ db: any SQLSession, model: String, alias: String, from: Int?, to: Int?, actor: String, forced: Bool, at: Date) async throws -> AliasMoveRecord {
        let row = try await db.queryOne(
            "INSERT INTO alias_moves (model, alias, from_version, to_version, moved_by, forced, moved_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [.text(model), .text(alias), .optional(from), .optional(to), .text(actor), .int(forced ? 1 : 0), .date(at)])
        return AliasMoveRecord(id: row?["id"]?.int ?? 0, model: model, alias: alias, from: from, to: to, movedBy: actor, forced: forced, movedAt: at)
    }

    static func requireVersion(_ db: any SQLSession, _ model: String, _ version: Int) async throws -> SQLRow {
        guard let row = try await db.queryOne("SELECT * FROM model_versions WHERE model = ? AND version = ?", [.text(model), .int(Int64(version))]) else {
            if try await db.queryOne("SELECT name FROM registered_models WHERE name = ?", [.text(model)]) == nil {
                throw KeelError.notFound("unknown model '\(model)'")
            }
            throw KeelError.notFound("model '\(model)' has no version \(version)")
        }
        return row
    }

    static func modelRecord(_ r: SQLRow) -> RegisteredModelRecord {
        RegisteredModelRecord(
            name: r.string("name"), description: r.string("description"), tags: JSONText.decode(r.string("tags")) ?? [:],
            owner: r.string("owner"), lastVersion: r.int("last_version"), createdAt: r.date("created_at"), updatedAt: r.date("updated_at"))
    }

    static func versionRecord(_ r: SQLRow) -> ModelVersionRecord {
        ModelVersionRecord(
            model: r.string("model"), version: r.int("version"), artifactSHA256: r.string("artifact_sha256"), format: r.string("format"),
            sizeBytes: r.int("size_bytes"), filename: r.string("filename"), signature: r.string("signature"),
            metrics: JSONText.decode(r.string("metrics")) ?? [:], params: JSONText.decode(r.string("params")) ?? [:],
            tags: JSONText.decode(r.string("tags")) ?? [:], description: r.string("description"),
            trainingData: r.optionalString("training_data"), configYAML: r.optionalString("config_yaml"),
            status: VersionStatus(rawValue: r.string("status")) ?? .development, createdBy: r.string("created_by"), createdAt: r.date("created_at"))
    }

    static func aliasRecord(_ r: SQLRow) -> AliasRecord {
        AliasRecord(model: r.string("model"), alias: r.string("alias"), version: r.int("version"), updatedBy: r.string("updated_by"), updatedAt: r.date("updated_at"))
    }

    static func moveRecord(_ r: SQLRow) -> AliasMoveRecord {
        AliasMoveRecord(
            id: r["id"]?.int ?? 0, model: r.string("model"), alias: r.string("alias"), from: r.optionalInt("from_version"),
            to: r.optionalInt("to_version"), movedBy: r.string("moved_by"), forced: r.int("forced") != 0, movedAt: r.date("moved_at"))
    }

    static func keyRecord(_ r: SQLRow) -> APIKeyRecord {
        APIKeyRecord(
            id: r.string("id"), name: r.string("name"), role: r.string("role"), keySHA256: r.string("key_sha256"),
            createdBy: r.string("created_by"), createdAt: r.date("created_at"), revokedAt: r.optionalDate("revoked_at"))
    }
}

/// JSON text columns: sorted keys so equal values store equal text.
enum JSONText {
    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func decode<T: Decodable>(_ text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
