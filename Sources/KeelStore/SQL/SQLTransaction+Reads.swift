import Foundation
import KeelCore

/// The reads of `StoreSnapshot`.
extension SQLTransaction {
    func model(named name: String) async throws(KeelError) -> RegisteredModelRecord? {
        try await queryOne("SELECT * FROM registered_models WHERE name = ?", [.text(name)]).map(RowDecoding.model)
    }

    func models() async throws(KeelError) -> [RegisteredModelRecord] {
        try await query("SELECT * FROM registered_models ORDER BY name").map(RowDecoding.model)
    }

    func lastVersionNumber(model: String) async throws(KeelError) -> Int {
        // The counter survives a model's deletion; the other two cover rows an earlier
        // release wrote without it.
        let counter = try await queryOne("SELECT last_version FROM version_counters WHERE model = ?", [.text(model)])?.int("last_version") ?? 0
        let row = try await queryOne("SELECT last_version FROM registered_models WHERE name = ?", [.text(model)])?.int("last_version") ?? 0
        let highest = try await queryOne("SELECT MAX(version) AS highest FROM model_versions WHERE model = ?", [.text(model)])?.int("highest") ?? 0
        return max(counter, row, highest)
    }

    func version(model: String, version: Int) async throws(KeelError) -> ModelVersionRecord? {
        try await queryOne("SELECT * FROM model_versions WHERE model = ? AND version = ?", [.text(model), .int(Int64(version))])
            .map(RowDecoding.version)
    }

    func versions(model: String) async throws(KeelError) -> [ModelVersionRecord] {
        try await query("SELECT * FROM model_versions WHERE model = ? ORDER BY version", [.text(model)]).map(RowDecoding.version)
    }

    func aliases(model: String) async throws(KeelError) -> [AliasRecord] {
        try await query("SELECT * FROM aliases WHERE model = ? ORDER BY alias", [.text(model)]).map(RowDecoding.alias)
    }

    func allAliases() async throws(KeelError) -> [AliasRecord] {
        try await query("SELECT * FROM aliases ORDER BY model, alias").map(RowDecoding.alias)
    }

    func aliasMoves(model: String) async throws(KeelError) -> [AliasMoveRecord] {
        try await query("SELECT * FROM alias_moves WHERE model = ? ORDER BY id", [.text(model)]).map(RowDecoding.move)
    }

    func latestAliasMoveID() async throws(KeelError) -> Int64 {
        try await queryOne("SELECT MAX(id) AS latest FROM alias_moves")?["latest"]?.int ?? 0
    }

    func gates(model: String) async throws(KeelError) -> [GateRecord] {
        try await query("SELECT * FROM gates WHERE model = ? ORDER BY metric, op", [.text(model)]).map(RowDecoding.gate)
    }

    func key(hash: String) async throws(KeelError) -> APIKeyRecord? {
        try await queryOne("SELECT * FROM api_keys WHERE key_sha256 = ?", [.text(hash)]).map(RowDecoding.key)
    }

    func keys() async throws(KeelError) -> [APIKeyRecord] {
        try await query("SELECT * FROM api_keys ORDER BY created_at, id").map(RowDecoding.key)
    }

    func auditEvents(target: String?, limit: Int) async throws(KeelError) -> [AuditEventRecord] {
        let bounded = Int64(min(max(limit, 0), 100_000))
        let rows: [SQLRow]
        if let target {
            rows = try await query(
                "SELECT * FROM audit_events WHERE target = ? OR target LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT ?",
                [.text(target), .text(Self.likePrefix(target)), .int(bounded)])
        } else {
            rows = try await query("SELECT * FROM audit_events ORDER BY id DESC LIMIT ?", [.int(bounded)])
        }
        return rows.map(RowDecoding.audit)
    }

    /// `target/%` with LIKE's wildcards in `target` matched literally (escape character `\`).
    static func likePrefix(_ target: String) -> String {
        var escaped = ""
        for ch in target {
            if ch == "%" || ch == "_" || ch == "\\" { escaped.append("\\") }
            escaped.append(ch)
        }
        return escaped + "/%"
    }
}
