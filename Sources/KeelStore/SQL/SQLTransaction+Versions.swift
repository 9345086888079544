import Foundation
import KeelCore

/// Models, version numbers, versions, statuses and measured metrics.
extension SQLTransaction {
    func createModel(_ model: RegisteredModelRecord) async throws(KeelError) {
        let last = max(model.lastVersion, try await lastVersionNumber(model: model.name))
        let inserted = try await queryOne(
            """
            INSERT INTO registered_models (name, description, tags, owner, last_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (name) DO NOTHING RETURNING name
            """,
            [.text(model.name), .text(model.description), .text(try JSONText.encode(model.tags, what: "model tags")), .text(model.owner),
             .int(Int64(last)), .date(model.createdAt), .date(model.updatedAt)])
        guard inserted != nil else { throw KeelError(.conflict, "model '\(model.name)' already exists") }
    }

    func updateModel(_ model: RegisteredModelRecord) async throws(KeelError) {
        try await requireModel(model.name)
        try await execute(
            "UPDATE registered_models SET description = ?, tags = ?, owner = ?, updated_at = ? WHERE name = ?",
            [.text(model.description), .text(try JSONText.encode(model.tags, what: "model tags")), .text(model.owner), .date(Date()), .text(model.name)])
    }

    func deleteModel(named name: String) async throws(KeelError) {
        try await requireModel(name)
        let aliases = try await query("SELECT alias, version FROM aliases WHERE model = ? ORDER BY alias", [.text(name)])
        if !aliases.isEmpty {
            let list = aliases.map { "\($0.string("alias")) -> v\($0.int("version"))" }.joined(separator: ", ")
            throw KeelError(.conflict, "model '\(name)' still has aliases (\(list)); remove them first")
        }
        // The version counter stays: numbers are never handed out twice.
        try await execute("DELETE FROM gates WHERE model = ?", [.text(name)])
        try await execute("DELETE FROM rollout_events WHERE rollout_id IN (SELECT id FROM rollouts WHERE model = ?)", [.text(name)])
        try await execute("DELETE FROM rollout_outcomes WHERE rollout_id IN (SELECT id FROM rollouts WHERE model = ?)", [.text(name)])
        try await execute("DELETE FROM rollouts WHERE model = ?", [.text(name)])
        try await execute("DELETE FROM model_versions WHERE model = ?", [.text(name)])
        try await execute("DELETE FROM registered_models WHERE name = ?", [.text(name)])
    }

    func nextVersionNumber(model: String) async throws(KeelError) -> Int {
        try await requireModel(model)
        try await execute("INSERT INTO version_counters (model, last_version) VALUES (?, 0) ON CONFLICT (model) DO NOTHING", [.text(model)])
        _ = try await queryOne("SELECT last_version FROM version_counters WHERE model = ?\(dialect.forUpdate)", [.text(model)])
        let last = try await lastVersionNumber(model: model)
        guard last < Int(Int32.max) else { throw KeelError(.conflict, "model '\(model)' has used up its version numbers (\(last))") }
        let next = last + 1
        try await execute("UPDATE version_counters SET last_version = ? WHERE model = ?", [.int(Int64(next)), .text(model)])
        // Kept in step for the previous release, which numbers from this column.
        try await execute("UPDATE registered_models SET last_version = ?, updated_at = ? WHERE name = ?", [.int(Int64(next)), .date(Date()), .text(model)])
        return next
    }

    func createVersion(_ version: ModelVersionRecord) async throws(KeelError) -> ModelVersionRecord {
        try MetricValues.validate(version.metrics, source: "measured metrics of '\(version.model)'")
        try MetricValues.validate(version.reportedMetrics, source: "reported metrics of '\(version.model)'")
        let now = Date()
        try await execute(
            "INSERT INTO registered_models (name, description, tags, owner, last_version, created_at, updated_at) VALUES (?, '', '{}', ?, 0, ?, ?) ON CONFLICT (name) DO NOTHING",
            [.text(version.model), .text(version.createdBy), .date(now), .date(now)])
        var created = version
        created.version = try await nextVersionNumber(model: version.model)
        created.createdAt = now
        try await execute(
            """
            INSERT INTO model_versions (model, version, artifact_sha256, format, size_bytes, filename, signature, metrics, reported_metrics,
                metrics_measured, params, tags, description, training_data, config_yaml, status, created_by, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(created.model), .int(Int64(created.version)), .text(created.artifactSHA256), .text(created.format),
                .int(Int64(created.sizeBytes)), .text(created.filename), .text(created.signature),
                .text(try JSONText.encode(created.metrics, what: "measured metrics")),
                .text(try JSONText.encode(created.reportedMetrics, what: "reported metrics")),
                .text(try JSONText.encode(created.params, what: "params")), .text(try JSONText.encode(created.tags, what: "tags")),
                .text(created.description), .optional(created.trainingData), .optional(created.configYAML),
                .text(created.status.rawValue), .text(created.createdBy), .date(created.createdAt),
            ])
        return created
    }

    func setStatus(model: String, version: Int, status: VersionStatus) async throws(KeelError) -> VersionStatus {
        let current = try await requireVersion(model, version)
        try await execute(
            "UPDATE model_versions SET status = ? WHERE model = ? AND version = ?",
            [.text(status.rawValue), .text(model), .int(Int64(version))])
        return current.status
    }

    func recordMetrics(model: String, version: Int, metrics: [String: Double]) async throws(KeelError) -> (before: [String: Double], after: [String: Double]) {
        try MetricValues.validate(metrics, source: "measured metrics of '\(model)' v\(version)")
        let current = try await requireVersion(model, version)
        let merged = current.metrics.merging(metrics) { _, new in new }
        try MetricValues.validate(merged, source: "measured metrics of '\(model)' v\(version)")
        // Also settles a row an earlier release wrote: its claimed metrics stay as reported.
        try await execute(
            "UPDATE model_versions SET metrics = ?, reported_metrics = ?, metrics_measured = 1 WHERE model = ? AND version = ?",
            [.text(try JSONText.encode(merged, what: "measured metrics")), .text(try JSONText.encode(current.reportedMetrics, what: "reported metrics")),
             .text(model), .int(Int64(version))])
        return (current.metrics, merged)
    }

    func deleteVersion(model: String, version: Int) async throws(KeelError) {
        _ = try await requireVersion(model, version)
        let pointing = try await query(
            "SELECT alias FROM aliases WHERE model = ? AND version = ? ORDER BY alias", [.text(model), .int(Int64(version))])
        if !pointing.isEmpty {
            throw KeelError(.conflict, "version \(version) of '\(model)' is the target of alias \(pointing.map { "'\($0.string("alias"))'" }.joined(separator: ", ")); move the alias first")
        }
        try await execute("DELETE FROM model_versions WHERE model = ? AND version = ?", [.text(model), .int(Int64(version))])
    }
}
