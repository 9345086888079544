import Foundation
import KeelCore

/// The record-level changes of one `Store.write`. Every change to a model's state (its
/// versions, statuses, metrics, aliases, gates) first locks the model's row, so two units of
/// work on one model run one after the other, on PostgreSQL too; call `lockModel` first when
/// a decision depends on what you read. Audit events are appended explicitly.
public protocol StoreTransaction: StoreSnapshot, MonitoringTransaction, RolloutTransaction, JobTransaction {
    /// Locks the model's row for the rest of the transaction and returns it (nil when unknown).
    @discardableResult
    func lockModel(named name: String) async throws(KeelError) -> RegisteredModelRecord?
    /// Locks the key table, for decisions about the set of keys (first-start bootstrap).
    func lockKeys() async throws(KeelError)

    // Models
    /// 409 when the model exists.
    func createModel(_ model: RegisteredModelRecord) async throws(KeelError)
    /// Updates description, tags and owner; 404 when unknown.
    func updateModel(_ model: RegisteredModelRecord) async throws(KeelError)
    /// Deletes a model with all its versions and gates; refused (409) while an alias exists.
    /// Its version counter stays, so a re-registered model never reuses a number.
    func deleteModel(named name: String) async throws(KeelError)

    // Versions
    /// Takes the model's next version number (never reused, also after deletes).
    func nextVersionNumber(model: String) async throws(KeelError) -> Int
    /// Creates the model when it does not exist yet and stores the version under the next
    /// number; returns it as stored. Metrics must be finite (400 otherwise).
    func createVersion(_ version: ModelVersionRecord) async throws(KeelError) -> ModelVersionRecord
    /// Sets a version's status and returns the previous one.
    @discardableResult
    func setStatus(model: String, version: Int, status: VersionStatus) async throws(KeelError) -> VersionStatus
    /// Adds measured metrics to a version, replacing same-named ones; returns the measured
    /// metrics before and after. Non-finite values are refused (400).
    @discardableResult
    func recordMetrics(model: String, version: Int, metrics: [String: Double]) async throws(KeelError) -> (before: [String: Double], after: [String: Double])
    /// Refused (409) while an alias points at the version.
    func deleteVersion(model: String, version: Int) async throws(KeelError)

    // Aliases
    /// Points an alias at a version and records the move.
    @discardableResult
    func setAlias(model: String, alias: String, version: Int, actor: String, forced: Bool) async throws(KeelError) -> AliasMoveRecord
    /// Removes an alias (404 when absent) and records the move.
    @discardableResult
    func removeAlias(model: String, alias: String, actor: String) async throws(KeelError) -> AliasMoveRecord

    // Gates
    /// Sets (or replaces the gate with the same metric and operator); returns the replaced one.
    @discardableResult
    func setGate(_ gate: GateRecord) async throws(KeelError) -> GateRecord?
    /// 404 when the model has no such gate.
    func removeGate(model: String, metric: String, op: String) async throws(KeelError)

    // API keys
    func createKey(_ key: APIKeyRecord) async throws(KeelError)
    /// Replaces a key's stored hash `old` by `new` (a legacy hash upgraded on first use);
    /// nothing when the key's hash is no longer `old`.
    func rehashKey(id: String, from old: String, to new: String) async throws(KeelError)
    /// 404 when unknown or already revoked.
    func revokeKey(id: String) async throws(KeelError)

    // Audit
    func appendAudit(_ event: AuditEventRecord) async throws(KeelError)
}
