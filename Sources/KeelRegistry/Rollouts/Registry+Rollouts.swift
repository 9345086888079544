import Foundation
import KeelCore
import KeelStore

/// Rollouts in the registry. Every change — start, each analysis, a step, pause, resume,
/// promotion, rollback, abort — is one transaction with the model's row locked: the rollout's
/// document, the `candidate` and `production` aliases, the history event and the audit event
/// land together or not at all, so a crash between two steps leaves a rollout at one of them.
extension Registry {
    /// What changes a rollout: a person (pause, resume, promote, abort) or its controller.
    public enum RolloutAction: Sendable, Equatable {
        case pause, resume, promote, abort
        /// The controller's analysis of the current step.
        case analysis([CheckResult])
    }

    /// Starts a rollout of `plan.version` against the model's `production` version: 409 when
    /// the model has no production version, the version already is production, or another
    /// rollout is active. Points `candidate` at the version.
    public func startRollout(_ plan: RolloutPlan, by actor: Principal, now: Date = Date()) async throws(KeelError) -> Rollout {
        try plan.validate()
        return try await store.write { tx throws(KeelError) in
            guard try await tx.lockModel(named: plan.model) != nil else { throw KeelError.notFound("unknown model '\(plan.model)'") }
            guard let target = try await tx.version(model: plan.model, version: plan.version) else {
                throw KeelError.notFound("model '\(plan.model)' has no version \(plan.version)")
            }
            guard target.status != .archived else { throw KeelError(.conflict, "version \(plan.version) of '\(plan.model)' is archived") }
            guard let stable = try await tx.aliases(model: plan.model).first(where: { $0.alias == Self.production })?.version else {
                throw KeelError(.conflict, "model '\(plan.model)' has no production version to roll out against; promote one first")
            }
            guard stable != plan.version else { throw KeelError(.conflict, "version \(plan.version) already serves production") }
            if let active = try await tx.activeRollouts().first(where: { $0.model == plan.model }) {
                throw KeelError(.conflict, "model '\(plan.model)' already has rollout \(active.id) \(active.state); pause, promote or abort it first")
            }
            var r = Rollout(
                model: plan.model, strategy: plan.strategy, candidate: plan.version, stable: stable, state: .running, steps: plan.steps, step: 0,
                interval: plan.interval, checks: plan.checks, failureLimit: plan.failureLimit, failures: 0, minSamples: plan.minSamples,
                sticky: plan.sticky, inconclusiveDeadline: plan.inconclusiveDeadline, stepStartedAt: now, inconclusiveSince: nil,
                lastAnalysis: [], reason: nil, createdBy: actor.actor)
            let move = try await tx.setAlias(model: plan.model, alias: Self.candidate, version: plan.version, actor: actor.actor, forced: false)
            r.id = try await tx.createRollout(RolloutRecord(model: plan.model, state: r.state.rawValue, document: try r.encoded(), createdAt: now, updatedAt: now))
            try await tx.appendRolloutEvent(RolloutEventRecord(
                rolloutID: r.id, at: now, kind: "started",
                message: "\(plan.strategy.rawValue) of v\(plan.version) against v\(stable): steps \(plan.steps.map(RolloutCheck.format).joined(separator: ", ")) % every \(RolloutCheck.format(plan.interval)) s",
                details: nil))
            try await tx.appendAudit(AuditEventRecord(
                by: actor, action: "rollout.start", target: "\(plan.model)/\(plan.version)",
                before: "production v\(stable)", after: "rollout \(r.id) \(plan.strategy.rawValue) \(RolloutCheck.format(r.weight)) %").describing(move))
            return r
        }
    }

    /// The model's active rollout (or experiment), else its newest one; nil when it never had one.
    public func currentRollout(_ model: String, experiment: Bool = false) async throws(KeelError) -> Rollout? {
        let all = try await rollouts(model, limit: 200, experiment: experiment)
        return all.first { $0.state.isActive } ?? all.first
    }

    /// Newest first: rollouts, or with `experiment` experiments.
    public func rollouts(_ model: String, limit: Int = 50, experiment: Bool = false) async throws(KeelError) -> [Rollout] {
        let records = try await store.read { db throws(KeelError) in try await db.rollouts(model: model, limit: min(1_000, limit * 4)) }
        let all = try records.map { r throws(KeelError) in try Rollout.decode(r) }
        return Array(all.filter { ($0.strategy == .experiment) == experiment }.prefix(limit))
    }

    /// Running and paused rollouts of every model (what the router serves).
    public func activeRollouts() async throws(KeelError) -> [Rollout] {
        try await store.read { db throws(KeelError) in try await db.activeRollouts() }.map { r throws(KeelError) in try Rollout.decode(r) }
    }

    public func rolloutEvents(_ id: Int64, limit: Int = 500) async throws(KeelError) -> [RolloutEventRecord] {
        try await store.read { db throws(KeelError) in try await db.rolloutEvents(rolloutID: id, limit: limit) }
    }

    /// Applies an action to the model's active rollout (404 when there is none, 409 when the
    /// action does not fit its state) and returns it as it now stands.
    @discardableResult
    public func changeRollout(_ model: String, _ action: RolloutAction, by actor: Principal, now: Date = Date()) async throws(KeelError) -> Rollout {
        try await store.write { tx throws(KeelError) in
            guard try await tx.lockModel(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
            guard let record = try await tx.activeRollouts().first(where: { $0.model == model }) else {
                throw KeelError.notFound("model '\(model)' has no active rollout")
            }
            var r = try Rollout.decode(record)
            guard r.strategy != .experiment else {
                if case .analysis = action { return r }
                throw KeelError(.conflict, "model '\(model)' runs experiment \(r.id), not a rollout; stop it with POST /api/v1/models/\(model)/experiments/current/stop")
            }
            let before = "\(r.state.rawValue) \(RolloutCheck.format(r.weight)) %"
            var events: [(kind: String, message: String)] = []
            switch action {
            case .pause:
                guard r.state == .running else { throw KeelError(.conflict, "rollout \(r.id) is \(r.state.rawValue), not running") }
                r.state = .paused
                r.reason = "paused by \(actor.actor)"
                events.append(("paused", "paused by \(actor.actor)"))
            case .resume:
                guard r.state == .paused else { throw KeelError(.conflict, "rollout \(r.id) is \(r.state.rawValue), not paused") }
                r.state = .running
                r.reason = nil
                r.stepStartedAt = now
                r.inconclusiveSince = nil
                events.append(("resumed", "resumed by \(actor.actor) at \(RolloutCheck.format(r.weight)) %"))
            case .promote:
                try await Self.promote(in: tx, &r, by: actor, now: now)
                events.append(("promoted", "v\(r.candidate) promoted to production by \(actor.actor)"))
            case .abort:
                try await Self.end(in: tx, &r, as: .aborted, reason: "aborted by \(actor.actor)", by: actor)
                events.append(("aborted", "aborted by \(actor.actor); v\(r.stable) serves everything"))
            case .analysis(let results):
                guard r.state == .running else { return r }
                events = try await Self.decide(in: tx, &r, results, by: actor, now: now)
            }
            try await tx.updateRollout(id: r.id, state: r.state.rawValue, document: try r.encoded(), at: now)
            for e in events {
                try await tx.appendRolloutEvent(RolloutEventRecord(rolloutID: r.id, at: now, kind: e.kind, message: e.message, details: Self.details(r)))
                // Decisions also go to the monitoring events (kind `rollout`) beside drift and quality.
                if ["promoted", "rolled_back", "aborted", "paused", "resumed"].contains(e.kind) {
                    try await tx.appendMonitoringEvent(MonitoringEventRecord(
                        at: now, model: model, version: String(r.candidate), kind: "rollout",
                        severity: e.kind == "rolled_back" || (e.kind == "paused" && r.reason?.hasPrefix("inconclusive") == true) ? "warning" : "info",
                        message: "rollout \(r.id) \(e.kind): \(e.message)", details: Self.details(r)))
                }
            }
            let after = "\(r.state.rawValue) \(RolloutCheck.format(r.weight)) %"
            if before != after || r.state != .running {
                try await tx.appendAudit(AuditEventRecord(
                    by: actor, action: "rollout.\(events.last?.kind ?? "change")", target: "\(model)/\(r.candidate)", before: before,
                    after: after + (r.reason.map { ": \($0)" } ?? "")))
            }
            return r
        }
    }

    /// The decision at the end of a step: any failed check counts one failure (at the limit:
    /// roll back); all passed: the next step, or promotion after the last; otherwise wait,
    /// and past the deadline pause for a human (never promote on missing data).
    static func decide(in tx: any StoreTransaction, _ r: inout Rollout, _ results: [CheckResult], by actor: Principal, now: Date) async throws(KeelError) -> [(kind: String, message: String)] {
        r.lastAnalysis = results
        let failed = results.filter { $0.verdict == .fail }
        let inconclusive = results.filter { $0.verdict == .inconclusive }
        func describe(_ list: [CheckResult]) -> String {
            list.map { "\($0.check) (value \($0.value.map { String(format: "%.4g", $0) } ?? "none"), \($0.samples) samples)" }.joined(separator: "; ")
        }
        var events: [(kind: String, message: String)] = [("analysis", results.isEmpty ? "no checks; step passed" : results.map { "\($0.check): \($0.verdict.rawValue)" }.joined(separator: ", "))]
        if !failed.isEmpty {
            r.failures += 1
            r.inconclusiveSince = nil
            if r.failures >= r.failureLimit {
                try await end(in: tx, &r, as: .rolledBack, reason: "failed checks: \(describe(failed))", by: actor)
                events.append(("rolled_back", "rolled back after \(r.failures) failed analyses: \(describe(failed)); v\(r.stable) serves everything"))
            } else {
                r.stepStartedAt = now
                events.append(("failed", "failed checks (\(r.failures) of \(r.failureLimit)): \(describe(failed))"))
            }
            return events
        }
        if !inconclusive.isEmpty {
            let since = r.inconclusiveSince ?? r.stepStartedAt
            r.inconclusiveSince = since
            if now.timeIntervalSince(since) >= r.inconclusiveDeadline {
                r.state = .paused
                r.reason = "inconclusive for \(Int(now.timeIntervalSince(since))) s: \(describe(inconclusive)); paused for a human"
                events.append(("paused", r.reason ?? ""))
            } else {
                r.stepStartedAt = now
            }
            return events
        }
        r.inconclusiveSince = nil
        if r.step + 1 < r.steps.count {
            r.step += 1
            r.stepStartedAt = now
            events.append(("step", "all checks passed; candidate at \(RolloutCheck.format(r.weight)) %"))
        } else {
            try await promote(in: tx, &r, by: actor, now: now)
            events.append(("promoted", "all steps passed; v\(r.candidate) promoted to production"))
        }
        return events
    }

    /// Moves `production` to the candidate through the same gate check as a manual promotion.
    static func promote(in tx: any StoreTransaction, _ r: inout Rollout, by actor: Principal, now: Date) async throws(KeelError) {
        _ = try await moveAlias(in: tx, r.model, alias: production, version: r.candidate, force: false, by: actor)
        _ = try await tx.removeAlias(model: r.model, alias: candidate, actor: actor.actor)
        r.state = .promoted
        r.reason = nil
    }

    /// Ends a rollout without promotion: the candidate leaves traffic.
    static func end(in tx: any StoreTransaction, _ r: inout Rollout, as state: Rollout.State, reason: String, by actor: Principal) async throws(KeelError) {
        if try await tx.aliases(model: r.model).contains(where: { $0.alias == candidate }) {
            _ = try await tx.removeAlias(model: r.model, alias: candidate, actor: actor.actor)
        }
        r.state = state
        r.reason = reason
    }

    static func details(_ r: Rollout) -> String {
        var w = JSONWriter(nonFinite: .null)
        w.value(.object([
            "weight": .number(r.weight), "step": .number(Double(r.step)), "failures": .number(Double(r.failures)),
            "analysis": r.json["analysis"] ?? .array([]),
        ]))
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
