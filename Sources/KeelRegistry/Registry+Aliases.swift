import Foundation
import KeelCore
import KeelStore

/// Aliases and promotion: one move is one transaction.
extension Registry {
    public func aliases(_ model: String) async throws(KeelError) -> [AliasRecord] {
        try await store.read { db throws(KeelError) in
            guard try await db.model(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
            return try await db.aliases(model: model)
        }
    }

    /// Points an alias at a version. Moving `production` requires every gate to pass (409
    /// naming each failing gate) unless `force`, which is audited as an override. The target
    /// version's status follows `production`/`staging`; a version leaving `production` is archived.
    ///
    /// Gate check, alias move, its recorded move, the status changes and their audit events are
    /// one transaction with the model's row locked first: concurrent promotions and gate changes
    /// of the model happen one after the other, and a failure at any step changes nothing.
    @discardableResult
    public func setAlias(_ model: String, alias: String, version: Int, force: Bool = false, by actor: Principal) async throws(KeelError) -> AliasMoveRecord {
        try Self.checkName(alias, "alias")
        guard Int(alias) == nil else { throw KeelError.invalidInput("alias '\(alias)' must not be a number (numbers name versions)") }
        try Self.refuseReserved(alias)
        return try await store.write { tx throws(KeelError) in
            guard try await tx.lockModel(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
            return try await Self.moveAlias(in: tx, model, alias: alias, version: version, force: force, by: actor)
        }
    }

    /// Only rollouts move `candidate`, and only experiments the `experiment-` aliases.
    static func refuseReserved(_ alias: String) throws(KeelError) {
        guard alias != Self.candidate else {
            throw KeelError(.conflict, "alias '\(Self.candidate)' is reserved: it names the version a rollout is testing (start one with POST /api/v1/models/{model}/rollouts)")
        }
        guard !alias.hasPrefix(Self.experimentAliasPrefix) else {
            throw KeelError(.conflict, "aliases starting '\(Self.experimentAliasPrefix)' are reserved: they name an experiment's arms (start one with POST /api/v1/models/{model}/experiments)")
        }
    }

    /// The alias move of `setAlias` inside the caller's transaction (the model's row locked).
    static func moveAlias(in tx: any StoreTransaction, _ model: String, alias: String, version: Int, force: Bool, by actor: Principal) async throws(KeelError) -> AliasMoveRecord {
        guard let target = try await tx.version(model: model, version: version) else {
            throw KeelError.notFound("model '\(model)' has no version \(version)")
        }
        let previous = try await tx.aliases(model: model).first { $0.alias == alias }?.version
        var audit = AuditEventRecord(by: actor, action: "alias.set", target: "\(model)/\(alias)")
        var forced = false
        if alias == Self.production {
            let failing = try await Self.gates(in: tx, model).map { $0.check(target) }.filter { !$0.passed }
            if !failing.isEmpty {
                let reasons = failing.map(\.reason).joined(separator: "; ")
                guard force else {
                    throw KeelError(.conflict, "cannot move 'production' of '\(model)' to version \(version): failing gates: \(reasons) (use --force to override)")
                }
                forced = true
                audit.action = "gate.override"
                audit.after = "v\(version), forced past: \(reasons)"
            }
        }
        let move = try await tx.setAlias(model: model, alias: alias, version: version, actor: actor.actor, forced: forced)
        try await tx.appendAudit(audit.describing(move))
        // A production version that also becomes staging stays production.
        if let status = VersionStatus(rawValue: alias), status == .production || status == .staging, target.status != status,
           !(status == .staging && target.status == .production) {
            try await Self.changeStatus(tx, model, version, to: status, by: actor)
        }
        if alias == Self.production, let previous, previous != version {
            try await Self.changeStatus(tx, model, previous, to: .archived, by: actor)
        }
        return move
    }

    @discardableResult
    public func removeAlias(_ model: String, alias: String, by actor: Principal) async throws(KeelError) -> AliasMoveRecord {
        try Self.refuseReserved(alias)
        return try await store.removeAlias(model: model, alias: alias, actor: actor.actor, audit: AuditEventRecord(
            by: actor, action: "alias.remove", target: "\(model)/\(alias)"))
    }

    /// A status change with its audit event, inside the caller's transaction.
    static func changeStatus(_ tx: any StoreTransaction, _ model: String, _ version: Int, to status: VersionStatus, by actor: Principal) async throws(KeelError) {
        let before = try await tx.setStatus(model: model, version: version, status: status)
        try await tx.appendAudit(AuditEventRecord(
            by: actor, action: "version.status", target: "\(model)/\(version)", before: before.rawValue, after: status.rawValue))
    }
}
