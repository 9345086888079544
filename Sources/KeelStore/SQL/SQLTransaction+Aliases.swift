import Foundation
import KeelCore

/// Aliases with their move history, gates, API keys and the audit trail.
extension SQLTransaction {
    func setAlias(model: String, alias: String, version: Int, actor: String, forced: Bool) async throws(KeelError) -> AliasMoveRecord {
        _ = try await requireVersion(model, version)
        let now = Date()
        let previous = try await queryOne("SELECT version FROM aliases WHERE model = ? AND alias = ?", [.text(model), .text(alias)])
            .map { $0.int("version") }
        if previous == nil {
            try await execute(
                "INSERT INTO aliases (model, alias, version, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)",
                [.text(model), .text(alias), .int(Int64(version)), .text(actor), .date(now)])
        } else {
            try await execute(
                "UPDATE aliases SET version = ?, updated_by = ?, updated_at = ? WHERE model = ? AND alias = ?",
                [.int(Int64(version)), .text(actor), .date(now), .text(model), .text(alias)])
        }
        return try await insertMove(model: model, alias: alias, from: previous, to: version, actor: actor, forced: forced, at: now)
    }

    func removeAlias(model: String, alias: String, actor: String) async throws(KeelError) -> AliasMoveRecord {
        try await requireModel(model)
        guard let previous = try await queryOne("SELECT version FROM aliases WHERE model = ? AND alias = ?", [.text(model), .text(alias)])
            .map({ $0.int("version") })
        else { throw KeelError.notFound("model '\(model)' has no alias '\(alias)'") }
        try await execute("DELETE FROM aliases WHERE model = ? AND alias = ?", [.text(model), .text(alias)])
        return try await insertMove(model: model, alias: alias, from: previous, to: nil, actor: actor, forced: false, at: Date())
    }

    func insertMove(model: String, alias: String, from: Int?, to: Int?, actor: String, forced: Bool, at: Date) async throws(KeelError) -> AliasMoveRecord {
        let row = try await queryOne(
            "INSERT INTO alias_moves (model, alias, from_version, to_version, moved_by, forced, moved_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [.text(model), .text(alias), .optional(from), .optional(to), .text(actor), .int(forced ? 1 : 0), .date(at)])
        return AliasMoveRecord(id: row?["id"]?.int ?? 0, model: model, alias: alias, from: from, to: to, movedBy: actor, forced: forced, movedAt: at)
    }

    func setGate(_ gate: GateRecord) async throws(KeelError) -> GateRecord? {
        guard gate.threshold.isFinite else {
            throw KeelError.invalidInput("gate on '\(gate.metric)': threshold \(gate.threshold) is not a finite number")
        }
        try await requireModel(gate.model)
        let key: [SQLValue] = [.text(gate.model), .text(gate.metric), .text(gate.op)]
        let previous = try await queryOne("SELECT * FROM gates WHERE model = ? AND metric = ? AND op = ?", key).map(RowDecoding.gate)
        try await execute("DELETE FROM gates WHERE model = ? AND metric = ? AND op = ?", key)
        try await execute(
            "INSERT INTO gates (model, metric, op, threshold, accept_reported, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            key + [.double(gate.threshold), .int(gate.acceptReported ? 1 : 0), .text(gate.createdBy), .date(gate.createdAt)])
        return previous
    }

    func removeGate(model: String, metric: String, op: String) async throws(KeelError) {
        try await requireModel(model)
        let key: [SQLValue] = [.text(model), .text(metric), .text(op)]
        guard try await queryOne("SELECT metric FROM gates WHERE model = ? AND metric = ? AND op = ?", key) != nil else {
            throw KeelError.notFound("model '\(model)' has no gate '\(metric) \(op) …'")
        }
        try await execute("DELETE FROM gates WHERE model = ? AND metric = ? AND op = ?", key)
    }

    func createKey(_ key: APIKeyRecord) async throws(KeelError) {
        let inserted = try await queryOne(
            """
            INSERT INTO api_keys (id, name, role, key_sha256, created_by, created_at, revoked_at, expires_at, models)
            VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)
            ON CONFLICT DO NOTHING RETURNING id
            """,
            [.text(key.id), .text(key.name), .text(key.role), .text(key.keyHash), .text(key.createdBy), .date(key.createdAt),
             key.expiresAt.map { .date($0) } ?? .null, .optional(key.models?.joined(separator: ","))])
        guard inserted != nil else { throw KeelError(.conflict, "an API key with id '\(key.id)' or the same secret already exists") }
    }

    func rehashKey(id: String, from old: String, to new: String) async throws(KeelError) {
        try await execute("UPDATE api_keys SET key_sha256 = ? WHERE id = ? AND key_sha256 = ?", [.text(new), .text(id), .text(old)])
    }

    func revokeKey(id: String) async throws(KeelError) {
        guard let row = try await queryOne("SELECT revoked_at FROM api_keys WHERE id = ?\(dialect.forUpdate)", [.text(id)]) else {
            throw KeelError.notFound("unknown API key '\(id)'")
        }
        guard row.optionalDate("revoked_at") == nil else { throw KeelError(.conflict, "API key '\(id)' is already revoked") }
        try await execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [.date(Date()), .text(id)])
    }

    func appendAudit(_ e: AuditEventRecord) async throws(KeelError) {
        try await execute(
            "INSERT INTO audit_events (actor, action, target, before_value, after_value, at, address, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [.text(e.actor), .text(e.action), .text(e.target), .optional(e.before), .optional(e.after), .date(e.at),
             .optional(e.address), .optional(e.requestID)])
    }
}
