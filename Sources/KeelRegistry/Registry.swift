import Foundation
import KeelCore
import KeelStore

/// The model registry: models, immutable versions, aliases, promotion gates, model cards and
/// the audit trail, over any `Store` and an `ArtifactStore`. A change of several steps runs
/// in one `store.write`, so it lands whole or not at all.
public struct Registry: Sendable {
    public let store: any Store
    public let artifacts: ArtifactStore
    /// The secret API keys are hashed with.
    public let keySecret: ServerSecret
    public var keys: APIKeys { APIKeys(store: store, secret: keySecret) }

    /// The alias whose moves are gated.
    public static let production = "production"
    /// The alias of the version a rollout is testing; only rollouts move it.
    public static let candidate = "candidate"
    /// `experiment-<arm>` names each arm's version while an experiment runs.
    public static let experimentAliasPrefix = "experiment-"

    /// `keySecret` defaults to one held in memory: keys then last as long as the process.
    /// A server passes the one from `ServerSecret.load`.
    public init(store: any Store, artifacts: ArtifactStore, keySecret: ServerSecret = .ephemeral()) {
        self.store = store
        self.artifacts = artifacts
        self.keySecret = keySecret
    }

    /// Model and alias names follow the one rule for names clients put in URLs.
    static func checkName(_ name: String, _ what: String) throws(KeelError) {
        try ResourceName.validate(name, what: what)
    }

    // MARK: Models and versions

    /// Stores the artifact (content-addressed) and creates the next version of the model,
    /// creating the model on first registration. The client's metrics are kept as reported;
    /// `size_mb` is measured here from the artifact.
    public func register(_ new: NewVersion, by actor: Principal) async throws(KeelError) -> ModelVersionRecord {
        try Self.checkName(new.model, "model name")
        guard !new.bytes.isEmpty else { throw KeelError.invalidInput("the model file is empty") }
        try MetricValues.validate(new.metrics, source: "reported metrics")
        let hash = try artifacts.put(new.bytes)
        let record = ModelVersionRecord(
            model: new.model, artifactSHA256: hash, format: new.format, sizeBytes: new.bytes.count, filename: new.filename,
            signature: new.signature, metrics: ["size_mb": Double(new.bytes.count) / 1_000_000], reportedMetrics: new.metrics,
            params: new.params, tags: new.tags, description: new.description, trainingData: new.trainingData,
            configYAML: new.configYAML, createdBy: actor.actor)
        return try await store.createVersion(record, audit: AuditEventRecord(by: actor, action: "version.register", target: new.model))
    }

    public func models() async throws(KeelError) -> [RegisteredModelRecord] { try await store.models() }

    public func model(_ name: String) async throws(KeelError) -> RegisteredModelRecord {
        guard let m = try await store.model(named: name) else { throw KeelError.notFound("unknown model '\(name)'") }
        return m
    }

    public func updateModel(_ name: String, description: String?, tags: [String: String]?, owner: String?, by actor: Principal) async throws(KeelError) -> RegisteredModelRecord {
        try await store.write { tx throws(KeelError) in
            guard var m = try await tx.lockModel(named: name) else { throw KeelError.notFound("unknown model '\(name)'") }
            let before = "description=\(m.description) tags=\(m.tags.sorted { $0.key < $1.key }) owner=\(m.owner)"
            if let description { m.description = description }
            if let tags { m.tags = tags }
            if let owner { m.owner = owner }
            try await tx.updateModel(m)
            try await tx.appendAudit(AuditEventRecord(
                by: actor, action: "model.update", target: name, before: before,
                after: "description=\(m.description) tags=\(m.tags.sorted { $0.key < $1.key }) owner=\(m.owner)"))
            return m
        }
    }

    public func versions(_ model: String) async throws(KeelError) -> [ModelVersionRecord] {
        try await store.read { db throws(KeelError) in
            guard try await db.model(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
            return try await db.versions(model: model)
        }
    }

    public func version(_ model: String, _ version: Int) async throws(KeelError) -> ModelVersionRecord {
        try await store.read { db throws(KeelError) in try await Self.version(in: db, model, version) }
    }

    /// A version given by number or by alias name.
    public func version(_ model: String, reference: String) async throws(KeelError) -> ModelVersionRecord {
        try await store.read { db throws(KeelError) in
            if let n = Int(reference) { return try await Self.version(in: db, model, n) }
            guard let alias = try await db.aliases(model: model).first(where: { $0.alias == reference }) else {
                guard try await db.model(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
                throw KeelError.notFound("model '\(model)' has no version or alias '\(reference.prefix(128))'")
            }
            return try await Self.version(in: db, model, alias.version)
        }
    }

    static func version(in db: any StoreSnapshot, _ model: String, _ version: Int) async throws(KeelError) -> ModelVersionRecord {
        guard let v = try await db.version(model: model, version: version) else {
            guard try await db.model(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
            throw KeelError.notFound("model '\(model)' has no version \(version)")
        }
        return v
    }

    /// The artifact bytes of a version, hash-checked.
    public func artifact(of version: ModelVersionRecord) throws(KeelError) -> [UInt8] {
        try artifacts.load(version.artifactSHA256)
    }

    /// Archives a version by hand; refused while it serves as `production`.
    public func archive(_ model: String, _ version: Int, by actor: Principal) async throws(KeelError) {
        try await store.write { tx throws(KeelError) in
            guard try await tx.lockModel(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
            if let alias = try await tx.aliases(model: model).first(where: { $0.version == version && $0.alias == Self.production }) {
                throw KeelError(.conflict, "version \(version) of '\(model)' is serving as '\(alias.alias)'; promote another version first")
            }
            let before = try await tx.setStatus(model: model, version: version, status: .archived)
            try await tx.appendAudit(AuditEventRecord(
                by: actor, action: "version.archive", target: "\(model)/\(version)", before: before.rawValue, after: VersionStatus.archived.rawValue))
        }
    }

    public func deleteVersion(_ model: String, _ version: Int, by actor: Principal) async throws(KeelError) {
        try await store.deleteVersion(model: model, version: version, audit: AuditEventRecord(
            by: actor, action: "version.delete", target: "\(model)/\(version)"))
    }

    public func deleteModel(_ model: String, by actor: Principal) async throws(KeelError) {
        try await store.deleteModel(named: model, audit: AuditEventRecord(by: actor, action: "model.delete", target: model))
    }

    /// Adds metrics Keel measured (an evaluation) to a version; NaN and infinities are refused (400).
    public func recordMetrics(_ model: String, _ version: Int, metrics: [String: Double], by actor: Principal) async throws(KeelError) {
        try MetricValues.validate(metrics, source: "evaluation of '\(model)' v\(version)")
        try await store.recordMetrics(model: model, version: version, metrics: metrics, audit: AuditEventRecord(
            by: actor, action: "version.evaluate", target: "\(model)/\(version)"))
    }

    // MARK: Audit

    public func audit(target: String? = nil, limit: Int = 100) async throws(KeelError) -> [AuditEventRecord] {
        try await store.auditEvents(target: target, limit: min(max(limit, 1), 10_000))
    }
}
