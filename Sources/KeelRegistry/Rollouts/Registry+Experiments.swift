import Foundation
import KeelCore
import KeelStore

/// A/B experiments in the registry. An experiment is stored with the rollouts (so a model has
/// at most one active rollout or experiment), its arms' versions held by `experiment-<arm>`
/// aliases so every replica loads them; starting and stopping are each one transaction.
extension Registry {
    /// Starts an experiment: 409 when the model has no production version, an arm's version
    /// is archived, or a rollout or experiment is active.
    public func startExperiment(_ plan: ExperimentPlan, by actor: Principal, now: Date = Date()) async throws(KeelError) -> Rollout {
        try plan.validate()
        return try await store.write { tx throws(KeelError) in
            guard try await tx.lockModel(named: plan.model) != nil else { throw KeelError.notFound("unknown model '\(plan.model)'") }
            for arm in plan.arms {
                guard let v = try await tx.version(model: plan.model, version: arm.version) else {
                    throw KeelError.notFound("model '\(plan.model)' has no version \(arm.version) (arm '\(arm.name)')")
                }
                guard v.status != .archived else { throw KeelError(.conflict, "version \(arm.version) of '\(plan.model)' is archived (arm '\(arm.name)')") }
            }
            guard let stable = try await tx.aliases(model: plan.model).first(where: { $0.alias == Self.production })?.version else {
                throw KeelError(.conflict, "model '\(plan.model)' has no production version; promote one first")
            }
            if let active = try await tx.activeRollouts().first(where: { $0.model == plan.model }) {
                throw KeelError(.conflict, "model '\(plan.model)' already has rollout or experiment \(active.id) \(active.state); end it first")
            }
            var r = Rollout(
                model: plan.model, strategy: .experiment, candidate: plan.arms[1].version, stable: stable, state: .running, steps: [0], step: 0,
                interval: 60, checks: [], failureLimit: 1, failures: 0, minSamples: plan.design.minSamples, sticky: plan.sticky,
                inconclusiveDeadline: 600, stepStartedAt: now, inconclusiveSince: nil, lastAnalysis: [], reason: nil, createdBy: actor.actor,
                arms: plan.arms, design: plan.design)
            for arm in plan.arms {
                _ = try await tx.setAlias(model: plan.model, alias: arm.alias, version: arm.version, actor: actor.actor, forced: false)
            }
            r.id = try await tx.createRollout(RolloutRecord(model: plan.model, state: r.state.rawValue, document: try r.encoded(), createdAt: now, updatedAt: now))
            let arms = plan.arms.map { "\($0.name) v\($0.version) \(RolloutCheck.format($0.weight)) %" }.joined(separator: ", ")
            try await tx.appendRolloutEvent(RolloutEventRecord(
                rolloutID: r.id, at: now, kind: "started", message: "experiment on \(plan.design.metric) (\(plan.design.goal.rawValue)): \(arms)", details: nil))
            try await tx.appendAudit(AuditEventRecord(
                by: actor, action: "experiment.start", target: plan.model, before: "production v\(stable)", after: "experiment \(r.id): \(arms)"))
            return r
        }
    }

    /// Stops the model's active experiment, keeping `result` (the last analysis, JSON) with it.
    /// With `promote`, production moves to that arm's version through the gates in the same
    /// transaction (a 409 from a gate stops nothing).
    @discardableResult
    public func stopExperiment(_ model: String, promote: Int?, result: String?, summary: String, by actor: Principal, now: Date = Date()) async throws(KeelError) -> Rollout {
        try await store.write { tx throws(KeelError) in
            guard try await tx.lockModel(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
            guard let record = try await tx.activeRollouts().first(where: { $0.model == model }) else {
                throw KeelError.notFound("model '\(model)' has no active experiment")
            }
            var r = try Rollout.decode(record)
            guard r.strategy == .experiment, let arms = r.arms else {
                throw KeelError(.conflict, "model '\(model)' runs rollout \(r.id), not an experiment; see /api/v1/models/\(model)/rollouts/current")
            }
            let stable = try await tx.aliases(model: model).first(where: { $0.alias == Self.production })?.version
            var kind = "stopped"
            var message = "stopped by \(actor.actor): \(summary)"
            if let promote {
                guard let arm = arms.first(where: { $0.version == promote }) else {
                    throw KeelError.invalidInput("version \(promote) is in no arm of experiment \(r.id)")
                }
                if stable != promote {
                    _ = try await Self.moveAlias(in: tx, model, alias: Self.production, version: promote, force: false, by: actor)
                    kind = "promoted"
                    message = "arm '\(arm.name)' (v\(promote)) promoted to production by \(actor.actor): \(summary)"
                } else {
                    message += "; the winner v\(promote) already serves production"
                }
            }
            let held = Set(try await tx.aliases(model: model).map(\.alias))
            for arm in arms where held.contains(arm.alias) {
                _ = try await tx.removeAlias(model: model, alias: arm.alias, actor: actor.actor)
            }
            r.state = kind == "promoted" ? .promoted : .stopped
            r.reason = message
            r.result = result
            try await tx.updateRollout(id: r.id, state: r.state.rawValue, document: try r.encoded(), at: now)
            try await tx.appendRolloutEvent(RolloutEventRecord(rolloutID: r.id, at: now, kind: kind, message: message, details: result))
            try await tx.appendMonitoringEvent(MonitoringEventRecord(
                at: now, model: model, version: String(promote ?? r.stable), kind: "experiment", severity: "info",
                message: "experiment \(r.id) \(kind): \(message)", details: result))
            try await tx.appendAudit(AuditEventRecord(
                by: actor, action: "experiment.\(kind == "promoted" ? "promote" : "stop")", target: model, before: "experiment \(r.id) running",
                after: message))
            return r
        }
    }
}
