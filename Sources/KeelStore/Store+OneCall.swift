import Foundation
import KeelCore

/// One-call conveniences: each is one `read` or one `write`, and a mutation writes its audit
/// event in the same transaction. A change of several steps belongs in one `write` instead.
extension Store {
    // MARK: Reads

    public func model(named name: String) async throws(KeelError) -> RegisteredModelRecord? {
        try await read { db throws(KeelError) in try await db.model(named: name) }
    }

    public func models() async throws(KeelError) -> [RegisteredModelRecord] {
        try await read { db throws(KeelError) in try await db.models() }
    }

    public func version(model: String, version: Int) async throws(KeelError) -> ModelVersionRecord? {
        try await read { db throws(KeelError) in try await db.version(model: model, version: version) }
    }

    public func versions(model: String) async throws(KeelError) -> [ModelVersionRecord] {
        try await read { db throws(KeelError) in try await db.versions(model: model) }
    }

    public func aliases(model: String) async throws(KeelError) -> [AliasRecord] {
        try await read { db throws(KeelError) in try await db.aliases(model: model) }
    }

    public func allAliases() async throws(KeelError) -> [AliasRecord] {
        try await read { db throws(KeelError) in try await db.allAliases() }
    }

    public func aliasMoves(model: String) async throws(KeelError) -> [AliasMoveRecord] {
        try await read { db throws(KeelError) in try await db.aliasMoves(model: model) }
    }

    public func latestAliasMoveID() async throws(KeelError) -> Int64 {
        try await read { db throws(KeelError) in try await db.latestAliasMoveID() }
    }

    public func gates(model: String) async throws(KeelError) -> [GateRecord] {
        try await read { db throws(KeelError) in try await db.gates(model: model) }
    }

    public func key(hash: String) async throws(KeelError) -> APIKeyRecord? {
        try await read { db throws(KeelError) in try await db.key(hash: hash) }
    }

    public func keys() async throws(KeelError) -> [APIKeyRecord] {
        try await read { db throws(KeelError) in try await db.keys() }
    }

    public func auditEvents(target: String?, limit: Int) async throws(KeelError) -> [AuditEventRecord] {
        try await read { db throws(KeelError) in try await db.auditEvents(target: target, limit: limit) }
    }

    // MARK: Changes, each with its audit event

    public func createModel(_ model: RegisteredModelRecord, audit: AuditEventRecord) async throws(KeelError) {
        try await write { tx throws(KeelError) in
            try await tx.createModel(model)
            try await tx.appendAudit(audit)
        }
    }

    public func updateModel(_ model: RegisteredModelRecord, audit: AuditEventRecord) async throws(KeelError) {
        try await write { tx throws(KeelError) in
            try await tx.updateModel(model)
            try await tx.appendAudit(audit)
        }
    }

    public func deleteModel(named name: String, audit: AuditEventRecord) async throws(KeelError) {
        try await write { tx throws(KeelError) in
            try await tx.deleteModel(named: name)
            try await tx.appendAudit(audit)
        }
    }

    /// Creates the version under the next number; the audit's target and `after` default to
    /// `model/number` and the version's number and hash.
    public func createVersion(_ version: ModelVersionRecord, audit: AuditEventRecord) async throws(KeelError) -> ModelVersionRecord {
        try await write { tx throws(KeelError) in
            let created = try await tx.createVersion(version)
            try await tx.appendAudit(audit.registering(created))
            return created
        }
    }

    public func setStatus(model: String, version: Int, status: VersionStatus, audit: AuditEventRecord) async throws(KeelError) {
        try await write { tx throws(KeelError) in
            let previous = try await tx.setStatus(model: model, version: version, status: status)
            var event = audit
            event.before = event.before ?? previous.rawValue
            event.after = event.after ?? status.rawValue
            try await tx.appendAudit(event)
        }
    }

    public func recordMetrics(model: String, version: Int, metrics: [String: Double], audit: AuditEventRecord) async throws(KeelError) {
        try await write { tx throws(KeelError) in
            let change = try await tx.recordMetrics(model: model, version: version, metrics: metrics)
            var event = audit
            if event.before == nil { event.before = try JSONText.encode(change.before, what: "metrics") }
            if event.after == nil { event.after = try JSONText.encode(change.after, what: "metrics") }
            try await tx.appendAudit(event)
        }
    }

    public func deleteVersion(model: String, version: Int, audit: AuditEventRecord) async throws(KeelError) {
        try await write { tx throws(KeelError) in
            try await tx.deleteVersion(model: model, version: version)
            try await tx.appendAudit(audit)
        }
    }

    /// Points an alias at a version, records the move, and fills the audit's before/after.
    @discardableResult
    public func setAlias(model: String, alias: String, version: Int, actor: String, forced: Bool, audit: AuditEventRecord) async throws(KeelError) -> AliasMoveRecord {
        try await write { tx throws(KeelError) in
            let move = try await tx.setAlias(model: model, alias: alias, version: version, actor: actor, forced: forced)
            try await tx.appendAudit(audit.describing(move))
            return move
        }
    }

    @discardableResult
    public func removeAlias(model: String, alias: String, actor: String, audit: AuditEventRecord) async throws(KeelError) -> AliasMoveRecord {
        try await write { tx throws(KeelError) in
            let move = try await tx.removeAlias(model: model, alias: alias, actor: actor)
            try await tx.appendAudit(audit.describing(move))
            return move
        }
    }

    public func setGate(_ gate: GateRecord, audit: AuditEventRecord) async throws(KeelError) {
        try await write { tx throws(KeelError) in
            try await tx.setGate(gate)
            try await tx.appendAudit(audit)
        }
    }

    public func removeGate(model: String, metric: String, op: String, audit: AuditEventRecord) async throws(KeelError) {
        try await write { tx throws(KeelError) in
            try await tx.removeGate(model: model, metric: metric, op: op)
            try await tx.appendAudit(audit)
        }
    }

    public func createKey(_ key: APIKeyRecord, audit: AuditEventRecord) async throws(KeelError) {
        try await write { tx throws(KeelError) in
            try await tx.createKey(key)
            try await tx.appendAudit(audit)
        }
    }

    public func revokeKey(id: String, audit: AuditEventRecord) async throws(KeelError) {
        try await write { tx throws(KeelError) in
            try await tx.revokeKey(id: id)
            try await tx.appendAudit(audit)
        }
    }

    public func appendAudit(_ event: AuditEventRecord) async throws(KeelError) {
        try await write { tx throws(KeelError) in try await tx.appendAudit(event) }
    }
}

extension AuditEventRecord {
    /// This event for a registration: target `model/number` and `after` the number and hash,
    /// unless already given.
    public func registering(_ created: ModelVersionRecord) -> AuditEventRecord {
        var event = self
        if event.after == nil { event.after = "v\(created.version) sha256:\(created.artifactSHA256)" }
        if !event.target.contains("/") { event.target = "\(created.model)/\(created.version)" }
        return event
    }

    /// This event for an alias move: `before`/`after` the versions moved from and to, unless
    /// already given.
    public func describing(_ move: AliasMoveRecord) -> AuditEventRecord {
        var event = self
        event.before = event.before ?? move.from.map { "v\($0)" }
        event.after = event.after ?? move.to.map { "v\($0)" }
        return event
    }
}
