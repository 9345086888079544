import Foundation
import KeelCore

/// The record-level reads of one unit of work; inside `Store.read` they all see one snapshot,
/// inside `Store.write` they see the transaction's own changes.
public protocol StoreSnapshot: MonitoringSnapshot, RolloutSnapshot, JobSnapshot {
    // Models
    func model(named name: String) async throws(KeelError) -> RegisteredModelRecord?
    func models() async throws(KeelError) -> [RegisteredModelRecord]
    /// Highest version number ever handed out under `model` (0 when none); it survives deletes.
    func lastVersionNumber(model: String) async throws(KeelError) -> Int

    // Versions
    func version(model: String, version: Int) async throws(KeelError) -> ModelVersionRecord?
    func versions(model: String) async throws(KeelError) -> [ModelVersionRecord]

    // Aliases
    func aliases(model: String) async throws(KeelError) -> [AliasRecord]
    func allAliases() async throws(KeelError) -> [AliasRecord]
    func aliasMoves(model: String) async throws(KeelError) -> [AliasMoveRecord]
    /// Id of the newest alias move (0 when none): cheap to poll for changes.
    func latestAliasMoveID() async throws(KeelError) -> Int64

    // Gates
    func gates(model: String) async throws(KeelError) -> [GateRecord]

    // API keys
    func key(hash: String) async throws(KeelError) -> APIKeyRecord?
    func keys() async throws(KeelError) -> [APIKeyRecord]

    // Audit
    /// Newest first; `target` filters by prefix (e.g. `churn` for the model and its versions).
    func auditEvents(target: String?, limit: Int) async throws(KeelError) -> [AuditEventRecord]
}
