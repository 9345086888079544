import Foundation
import KeelCore

/// Keel's persistence: every method is one transaction. Mutations take the audit event that
/// is written in the same transaction, so a change and its record land together or not at all.
/// Domain failures are `KeelError`s (404 unknown, 409 conflict); database failures too (503).
public protocol Store: Sendable {
    /// Applies the migrations not yet applied, in order.
    func migrate() async throws(KeelError)
    func close() async

    // Models
    func createModel(_ model: RegisteredModelRecord, audit: AuditEventRecord) async throws(KeelError)
    func updateModel(_ model: RegisteredModelRecord, audit: AuditEventRecord) async throws(KeelError)
    func model(named name: String) async throws(KeelError) -> RegisteredModelRecord?
    func models() async throws(KeelError) -> [RegisteredModelRecord]
    /// Deletes a model with all its versions, gates and aliases; refused while an alias exists.
    func deleteModel(named name: String, audit: AuditEventRecord) async throws(KeelError)

    // Versions
    /// Creates the model when it does not exist yet and gives the version the next number.
    func createVersion(_ version: ModelVersionRecord, audit: AuditEventRecord) async throws(KeelError) -> ModelVersionRecord
    func version(model: String, version: Int) async throws(KeelError) -> ModelVersionRecord?
    func versions(model: String) async throws(KeelError) -> [ModelVersionRecord]
    func setStatus(model: String, version: Int, status: VersionStatus, audit: AuditEventRecord) async throws(KeelError)
    /// Adds measured metrics (from an evaluation) to a version, replacing same-named ones.
    func recordMetrics(model: String, version: Int, metrics: [String: Double], audit: AuditEventRecord) async throws(KeelError)
    /// Refused (409) while an alias points at the version.
    func deleteVersion(model: String, version: Int, audit: AuditEventRecord) async throws(KeelError)

    // Aliases
    /// Points an alias at a version, records the move, and fills the audit's before/after.
    @discardableResult
    func setAlias(model: String, alias: String, version: Int, actor: String, forced: Bool, audit: AuditEventRecord) async throws(KeelError) -> AliasMoveRecord
    @discardableResult
    func removeAlias(model: String, alias: String, actor: String, audit: AuditEventRecord) async throws(KeelError) -> AliasMoveRecord
    func aliases(model: String) async throws(KeelError) -> [AliasRecord]
    func allAliases() async throws(KeelError) -> [AliasRecord]
    func aliasMoves(model: String) async throws(KeelError) -> [AliasMoveRecord]
    /// Id of the newest alias move (0 when none): cheap to poll for changes.
    func latestAliasMoveID() async throws(KeelError) -> Int64

    // Gates
    func setGate(_ gate: GateRecord, audit: AuditEventRecord) async throws(KeelError)
    func gates(model: String) async throws(KeelError) -> [GateRecord]
    func removeGate(model: String, metric: String, op: String, audit: AuditEventRecord) async throws(KeelError)

    // API keys
    func createKey(_ key: APIKeyRecord, audit: AuditEventRecord) async throws(KeelError)
    func key(sha256: String) async throws(KeelError) -> APIKeyRecord?
    func keys() async throws(KeelError) -> [APIKeyRecord]
    func revokeKey(id: String, audit: AuditEventRecord) async throws(KeelError)

    // Audit
    func appendAudit(_ event: AuditEventRecord) async throws(KeelError)
    /// Newest first; `target` filters by prefix (e.g. `churn` for the model and its versions).
    func auditEvents(target: String?, limit: Int) async throws(KeelError) -> [AuditEventRecord]
}
