import Foundation

/// Result rows → records. Columns an earlier release did not write have defaults, so its
/// rows read the same way.
enum RowDecoding {
    static func model(_ r: SQLRow) -> RegisteredModelRecord {
        RegisteredModelRecord(
            name: r.string("name"), description: r.string("description"), tags: JSONText.decode(r.string("tags")) ?? [:],
            owner: r.string("owner"), lastVersion: r.int("last_version"), createdAt: r.date("created_at"), updatedAt: r.date("updated_at"))
    }

    static func version(_ r: SQLRow) -> ModelVersionRecord {
        let metrics = metrics(r)
        return ModelVersionRecord(
            model: r.string("model"), version: r.int("version"), artifactSHA256: r.string("artifact_sha256"), format: r.string("format"),
            sizeBytes: r.int("size_bytes"), filename: r.string("filename"), signature: r.string("signature"),
            metrics: metrics.measured, reportedMetrics: metrics.reported, params: JSONText.decode(r.string("params")) ?? [:],
            tags: JSONText.decode(r.string("tags")) ?? [:], description: r.string("description"),
            trainingData: r.optionalString("training_data"), configYAML: r.optionalString("config_yaml"),
            status: VersionStatus(rawValue: r.string("status")) ?? .development, createdBy: r.string("created_by"), createdAt: r.date("created_at"))
    }

    /// A version row's measured and reported metrics. A row written before metrics had a
    /// provenance (`metrics_measured` = 0, also any row the previous release writes during a
    /// rolling upgrade) mixes client-supplied and measured values in `metrics`: all of them
    /// count as reported, and only the size, recomputed from the artifact's byte count, as measured.
    static func metrics(_ r: SQLRow) -> (measured: [String: Double], reported: [String: Double]) {
        let stored: [String: Double] = JSONText.decode(r.string("metrics")) ?? [:]
        let reported: [String: Double] = JSONText.decode(r.string("reported_metrics")) ?? [:]
        if r.bool("metrics_measured") { return (stored, reported) }
        var legacy = stored.merging(reported) { old, _ in old }
        legacy["size_mb"] = nil
        return (["size_mb": Double(r.int("size_bytes")) / 1_000_000], legacy)
    }

    static func alias(_ r: SQLRow) -> AliasRecord {
        AliasRecord(model: r.string("model"), alias: r.string("alias"), version: r.int("version"), updatedBy: r.string("updated_by"), updatedAt: r.date("updated_at"))
    }

    static func move(_ r: SQLRow) -> AliasMoveRecord {
        AliasMoveRecord(
            id: r["id"]?.int ?? 0, model: r.string("model"), alias: r.string("alias"), from: r.optionalInt("from_version"),
            to: r.optionalInt("to_version"), movedBy: r.string("moved_by"), forced: r.bool("forced"), movedAt: r.date("moved_at"))
    }

    static func gate(_ r: SQLRow) -> GateRecord {
        GateRecord(
            model: r.string("model"), metric: r.string("metric"), op: r.string("op"), threshold: r.double("threshold"),
            acceptReported: r.bool("accept_reported"), createdBy: r.string("created_by"), createdAt: r.date("created_at"))
    }

    static func key(_ r: SQLRow) -> APIKeyRecord {
        APIKeyRecord(
            id: r.string("id"), name: r.string("name"), role: r.string("role"), keyHash: r.string("key_sha256"),
            createdBy: r.string("created_by"), createdAt: r.date("created_at"), revokedAt: r.optionalDate("revoked_at"),
            expiresAt: r.optionalDate("expires_at"),
            models: r.optionalString("models").map { $0.split(separator: ",").map(String.init) })
    }

    static func audit(_ r: SQLRow) -> AuditEventRecord {
        AuditEventRecord(
            id: r["id"]?.int ?? 0, actor: r.string("actor"), action: r.string("action"), target: r.string("target"),
            before: r.optionalString("before_value"), after: r.optionalString("after_value"), at: r.date("at"),
            address: r.optionalString("address"), requestID: r.optionalString("request_id"))
    }
}
