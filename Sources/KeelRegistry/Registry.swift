import Foundation
import KeelCore
import KeelStore

/// What a caller supplies when registering a version; the artifact's hash and size are
/// computed here, its format and signature by whoever read the model (KeelServing).
public struct NewVersion: Sendable {
    public var model: String
    public var bytes: [UInt8]
    public var filename: String
    public var format: String
    public var signature: String
    public var metrics: [String: Double] = [:]
    public var params: [String: String] = [:]
    public var tags: [String: String] = [:]
    public var description: String = ""
    public var trainingData: String?
    public var configYAML: String?

    public init(model: String, bytes: [UInt8], filename: String, format: String, signature: String) {
        self.model = model
        self.bytes = bytes
        self.filename = filename
        self.format = format
        self.signature = signature
    }
}

/// Metrics of several versions side by side, with the best version per metric.
public struct VersionComparison: Sendable, Equatable {
    public var versions: [Int]
    public var metrics: [String]
    /// values[metric][version]
    public var values: [String: [Int: Double]]
    public var best: [String: Int]
}

/// The model registry: models, immutable versions, aliases, promotion gates, model cards and
/// the audit trail, over any `Store` and an `ArtifactStore`.
public struct Registry: Sendable {
    public let store: any Store
    public let artifacts: ArtifactStore
    public var keys: APIKeys { APIKeys(store: store) }

    /// The alias whose moves are gated.
    public static let production = "production"

    public init(store: any Store, artifacts: ArtifactStore) {
        self.store = store
        self.artifacts = artifacts
    }

    static func checkName(_ name: String, _ what: String) throws(KeelError) {
        guard !name.isEmpty, name.count <= 128,
              name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !name.hasPrefix(".")
        else { throw KeelError.invalidInput("\(what) '\(name)' must be 1–128 letters, digits, '-', '_' or '.'") }
    }

    // MARK: Models and versions

    /// Stores the artifact (content-addressed) and creates the next version of the model,
    /// creating the model on first registration.
    public func register(_ new: NewVersion, by actor: Principal) async throws(KeelError) -> ModelVersionRecord {
        try Self.checkName(new.model, "model name")
        guard !new.bytes.isEmpty else { throw KeelError.invalidInput("the model file is empty") }
        let hash = try artifacts.put(new.bytes)
        var record = ModelVersionRecord(
            model: new.model, artifactSHA256: hash, format: new.format, sizeBytes: new.bytes.count, filename: new.filename,
            signature: new.signature, metrics: new.metrics, params: new.params, tags: new.tags, description: new.description,
            trainingData: new.trainingData, configYAML: new.configYAML, createdBy: actor.actor)
        if record.metrics["size_mb"] == nil { record.metrics["size_mb"] = Double(new.bytes.count) / 1_000_000 }
        return try await store.createVersion(record, audit: AuditEventRecord(actor: actor.actor, action: "version.register", target: new.model))
    }

    public func models() async throws(KeelError) -> [RegisteredModelRecord] { try await store.models() }

    public func model(_ name: String) async throws(KeelError) -> RegisteredModelRecord {
        guard let m = try await store.model(named: name) else { throw KeelError.notFound("unknown model '\(name)'") }
        return m
    }

    public func updateModel(_ name: String, description: String?, tags: [String: String]?, owner: String?, by actor: Principal) async throws(KeelError) -> RegisteredModelRecord {
        var m = try await model(name)
        let before = "description=\(m.description) tags=\(m.tags.sorted { $0.key < $1.key }) owner=\(m.owner)"
        if let description { m.description = description }
        if let tags { m.tags = tags }
        if let owner { m.owner = owner }
        try await store.updateModel(m, audit: AuditEventRecord(
            actor: actor.actor, action: "model.update", target: name, before: before,
            after: "description=\(m.description) tags=\(m.tags.sorted { $0.key < $1.key }) owner=\(m.owner)"))
        return m
    }

    public func versions(_ model: String) async throws(KeelError) -> [ModelVersionRecord] {
        _ = try await self.model(model)
        return try await store.versions(model: model)
    }

    public func version(_ model: String, _ version: Int) async throws(KeelError) -> ModelVersionRecord {
        guard let v = try await store.version(model: model, version: version) else {
            _ = try await self.model(model)
            throw KeelError.notFound("model '\(model)' has no version \(version)")
        }
        return v
    }

    /// A version given by number or by alias name.
    public func version(_ model: String, reference: String) async throws(KeelError) -> ModelVersionRecord {
        if let n = Int(reference) { return try await version(model, n) }
        guard let alias = try await store.aliases(model: model).first(where: { $0.alias == reference }) else {
            _ = try await self.model(model)
            throw KeelError.notFound("model '\(model)' has no version or alias '\(reference)'")
        }
        return try await version(model, alias.version)
    }

    /// The artifact bytes of a version, hash-checked.
    public func artifact(of version: ModelVersionRecord) throws(KeelError) -> [UInt8] {
        try artifacts.load(version.artifactSHA256)
    }

    public func archive(_ model: String, _ version: Int, by actor: Principal) async throws(KeelError) {
        let aliases = try await store.aliases(model: model).filter { $0.version == version }
        if let alias = aliases.first(where: { $0.alias == Self.production }) {
            throw KeelError(.conflict, "version \(version) of '\(model)' is serving as '\(alias.alias)'; promote another version first")
        }
        try await store.setStatus(model: model, version: version, status: .archived, audit: AuditEventRecord(
            actor: actor.actor, action: "version.archive", target: "\(model)/\(version)"))
    }

    public func deleteVersion(_ model: String, _ version: Int, by actor: Principal) async throws(KeelError) {
        try await store.deleteVersion(model: model, version: version, audit: AuditEventRecord(
            actor: actor.actor, action: "version.delete", target: "\(model)/\(version)"))
    }

    public func deleteModel(_ model: String, by actor: Principal) async throws(KeelError) {
        try await store.deleteModel(named: model, audit: AuditEventRecord(actor: actor.actor, action: "model.delete", target: model))
    }

    public func recordMetrics(_ model: String, _ version: Int, metrics: [String: Double], by actor: Principal) async throws(KeelError) {
        try await store.recordMetrics(model: model, version: version, metrics: metrics, audit: AuditEventRecord(
            actor: actor.actor, action: "version.evaluate", target: "\(model)/\(version)"))
    }

    // MARK: Aliases

    public func aliases(_ model: String) async throws(KeelError) -> [AliasRecord] {
        _ = try await self.model(model)
        return try await store.aliases(model: model)
    }

    /// Points an alias at a version. Moving `production` requires every gate to pass (409
    /// naming each failing gate) unless `force`, which is audited as an override. The target
    /// version's status follows `production`/`staging`; a version leaving `production` is archived.
    @discardableResult
    public func setAlias(_ model: String, alias: String, version: Int, force: Bool = false, by actor: Principal) async throws(KeelError) -> AliasMoveRecord {
        try Self.checkName(alias, "alias")
        guard Int(alias) == nil else { throw KeelError.invalidInput("alias '\(alias)' must not be a number (numbers name versions)") }
        let target = try await self.version(model, version)
        let previous = try await store.aliases(model: model).first { $0.alias == alias }?.version
        var audit = AuditEventRecord(actor: actor.actor, action: "alias.set", target: "\(model)/\(alias)")
        if alias == Self.production {
            let failing = try await checkGates(model, target).filter { !$0.passed }
            if !failing.isEmpty {
                guard force else {
                    throw KeelError(.conflict, "cannot move 'production' of '\(model)' to version \(version): failing gates: \(failing.map(\.reason).joined(separator: "; ")) (use --force to override)")
                }
                // The override is the move's own audit event, so both land in one transaction.
                audit.action = "gate.override"
                audit.before = previous.map { "v\($0)" }
                audit.after = "v\(version), forced past: \(failing.map(\.reason).joined(separator: "; "))"
            }
        }
        let forced = audit.action == "gate.override"
        let move = try await store.setAlias(model: model, alias: alias, version: version, actor: actor.actor, forced: forced, audit: audit)
        // A production version that also becomes staging stays production.
        if let status = VersionStatus(rawValue: alias), status == .production || status == .staging, target.status != status,
           !(status == .staging && target.status == .production) {
            try await store.setStatus(model: model, version: version, status: status, audit: AuditEventRecord(
                actor: actor.actor, action: "version.status", target: "\(model)/\(version)"))
        }
        if alias == Self.production, let previous, previous != version {
            try await store.setStatus(model: model, version: previous, status: .archived, audit: AuditEventRecord(
                actor: actor.actor, action: "version.status", target: "\(model)/\(previous)"))
        }
        return move
    }

    @discardableResult
    public func removeAlias(_ model: String, alias: String, by actor: Principal) async throws(KeelError) -> AliasMoveRecord {
        try await store.removeAlias(model: model, alias: alias, actor: actor.actor, audit: AuditEventRecord(
            actor: actor.actor, action: "alias.remove", target: "\(model)/\(alias)"))
    }

    // MARK: Gates

    public func gates(_ model: String) async throws(KeelError) -> [Gate] {
        _ = try await self.model(model)
        var out: [Gate] = []
        for record in try await store.gates(model: model) { out.append(try Gate(record)) }
        return out
    }

    @discardableResult
    public func setGate(_ model: String, _ expression: String, by actor: Principal) async throws(KeelError) -> Gate {
        let gate = try Gate.parse(expression)
        let previous = try await gates(model).first { $0.metric == gate.metric && $0.op == gate.op }
        try await store.setGate(
            GateRecord(model: model, metric: gate.metric, op: gate.op.rawValue, threshold: gate.threshold, createdBy: actor.actor),
            audit: AuditEventRecord(actor: actor.actor, action: "gate.set", target: model, before: previous?.description, after: gate.description))
        return gate
    }

    /// Removes a gate given as `metric op` or a full expression (its threshold is ignored).
    public func removeGate(_ model: String, _ expression: String, by actor: Principal) async throws(KeelError) {
        let existing = try await gates(model)
        let text = expression.trimmingCharacters(in: .whitespaces)
        let gate = (try? Gate.parse(text)) ?? existing.first { "\($0.metric) \($0.op.rawValue)" == text || $0.metric == text }
        guard let gate, let found = existing.first(where: { $0.metric == gate.metric && $0.op == gate.op }) else {
            throw KeelError.notFound("model '\(model)' has no gate '\(expression)' (gates: \(existing.map(\.description).joined(separator: ", ")))")
        }
        try await store.removeGate(model: model, metric: found.metric, op: found.op.rawValue, audit: AuditEventRecord(
            actor: actor.actor, action: "gate.remove", target: model, before: found.description))
    }

    /// Every gate of the model checked against a version's metrics.
    public func checkGates(_ model: String, _ version: ModelVersionRecord) async throws(KeelError) -> [GateResult] {
        try await gates(model).map { $0.check(version.metrics) }
    }

    // MARK: Compare, card, audit

    public func compare(_ model: String, versions numbers: [Int]) async throws(KeelError) -> VersionComparison {
        var records: [ModelVersionRecord] = []
        if numbers.isEmpty {
            records = try await versions(model)
        } else {
            for n in numbers { records.append(try await version(model, n)) }
        }
        let names = Set(records.flatMap { $0.metrics.keys }).sorted()
        var values: [String: [Int: Double]] = [:]
        var best: [String: Int] = [:]
        for name in names {
            var row: [Int: Double] = [:]
            for r in records { if let v = r.metrics[name] { row[r.version] = v } }
            values[name] = row
            // Bookkeeping, not quality: no "best" row count.
            if name == "holdout_rows" { continue }
            let lowerIsBetter = Self.lowerIsBetter(name)
            if let winner = row.min(by: { a, b in
                if a.value == b.value { return a.key < b.key }
                return lowerIsBetter ? a.value < b.value : a.value > b.value
            }) { best[name] = winner.key }
        }
        return VersionComparison(versions: records.map(\.version), metrics: names, values: values, best: best)
    }

    /// Losses, errors, latencies and sizes are better small; scores are better large.
    public static func lowerIsBetter(_ metric: String) -> Bool {
        ["loss", "mae", "rmse", "mse", "latency", "size", "error"].contains { metric.contains($0) }
    }

    public func audit(target: String? = nil, limit: Int = 100) async throws(KeelError) -> [AuditEventRecord] {
        try await store.auditEvents(target: target, limit: min(max(limit, 1), 10_000))
    }
}
