import CoreMetrics
import Foundation
import KeelCore
import KeelMonitoring
import KeelRegistry
import KeelStore
import Logging
import Synchronization

/// Runs rollouts. On every replica, each round installs the stored splits in the router, so
/// all replicas route with the same weights within a round. The replica holding the
/// `rollouts` lease also analyses each running rollout whose step is over — its checks read
/// the shared prediction log and feedback, so they see every replica's traffic — and applies
/// the decision (next step, promotion, rollback, pause) in one transaction through the registry.
public final class RolloutController: Sendable {
    public let registry: Registry
    public let router: DeploymentRouter
    public let monitoring: MonitoringService?
    public let interval: Duration
    public let holder: String
    /// Where `keel_rollout_weight` and `keel_rollout_decisions_total` go (nil: not published).
    public let metrics: ServingMetrics?
    let logger: Logger
    private let ticks = Atomic<Int>(0)
    /// The weight series this replica published last round (model, version, arm), so a
    /// finished rollout's series are removed.
    private let published = Mutex<Set<[String]>>([])

    /// Who the audit log names for the controller's decisions.
    public static let principal = Principal(keyID: "rollout-controller", name: "rollout controller", role: .admin)
    /// Most predictions a latency check reads per version and analysis.
    static let latencySample = 20_000

    public init(
        registry: Registry, router: DeploymentRouter, monitoring: MonitoringService?, interval: Duration = .seconds(1),
        holder: String = MonitoringController.replicaID(), metrics: ServingMetrics? = nil, logger: Logger = Logger(label: "keel.rollouts")
    ) {
        self.metrics = metrics
        self.registry = registry
        self.router = router
        self.monitoring = monitoring
        self.interval = interval
        self.holder = holder
        self.logger = logger
    }

    public func run() async {
        while !Task.isCancelled {
            await tick()
            try? await Task.sleep(for: interval)
        }
        try? await registry.store.write { tx throws(KeelError) in try await tx.releaseLease(named: "rollouts", holder: holder) }
    }

    /// Completed rounds (for tests).
    public var rounds: Int { ticks.load(ordering: .relaxed) }

    /// One round: routes from the store, then (as leader) the analyses that are due.
    public func tick(now: Date = Date()) async {
        defer { ticks.wrappingAdd(1, ordering: .relaxed) }
        do {
            var active = try await registry.activeRollouts()
            install(active)
            try await saveOutcomes(now: now)
            let leader = try await registry.store.write { tx throws(KeelError) in
                try await tx.acquireLease(named: "rollouts", holder: holder, until: now.addingTimeInterval(10), now: now)
            }
            guard leader else { return }
            var changed = false
            // Experiments have fixed weights and no steps: they are judged when asked, and stopped by a person.
            for r in active where r.state == .running && r.strategy != .experiment && now.timeIntervalSince(r.stepStartedAt) >= r.interval {
                let results = await analyse(r, now: now)
                do {
                    let after = try await registry.changeRollout(r.model, .analysis(results), by: Self.principal, now: now)
                    changed = true
                    if after.state != r.state || after.step != r.step {
                        countDecision(r, after)
                        logger.notice("rollout decision", metadata: [
                            "model": "\(r.model)", "rollout": "\(r.id)", "state": "\(after.state.rawValue)", "weight": "\(after.weight)",
                            "reason": "\(after.reason ?? "")",
                        ])
                    }
                } catch {
                    logger.warning("rollout analysis not applied", metadata: ["model": "\(r.model)", "rollout": "\(r.id)", "error": "\(error)"])
                }
            }
            if changed {
                active = try await registry.activeRollouts()
                install(active)
            }
        } catch {
            logger.warning("rollout round failed", metadata: ["error": "\(error)"])
        }
    }

    /// Every active rollout, at 0 % too (its candidate's smoke tests and the stable version's
    /// answers are counted for the error-rate check).
    func install(_ active: [Rollout]) {
        var splits: [String: TrafficSplit] = [:]
        for r in active {
            splits[r.model] = TrafficSplit(
                rolloutID: r.id, candidate: String(r.candidate), stable: String(r.stable), weight: r.weight, sticky: r.sticky, step: r.step,
                mirror: r.mirror, arms: (r.arms ?? []).map { SplitArm(name: $0.name, version: String($0.version), weight: $0.weight) })
        }
        if splits != router.all { router.install(splits) }
        publishWeights(active)
    }

    /// `keel_rollout_weight{model, version, arm}`: the percent of a model's live traffic each
    /// version of an active rollout or experiment gets (a shadow candidate: the percent of
    /// requests copied to it), set every round on every replica.
    func publishWeights(_ active: [Rollout]) {
        guard let metrics else { return }
        var series: [[String]: Double] = [:]
        for r in active {
            // The outcomes an alert watches exist at 0 from the rollout's start, so their
            // first increment is a visible increase (Prometheus cannot see a series born at 1).
            for decision in [Rollout.State.rolledBack, .promoted] {
                metrics.counter("keel_rollout_decisions_total", [
                    ("model", r.model), ("strategy", r.strategy.rawValue), ("decision", decision.rawValue),
                ]).increment(by: 0)
            }
            switch r.strategy {
            case .experiment:
                for arm in r.arms ?? [] { series[[r.model, String(arm.version), "experiment"], default: 0] += arm.weight }
            case .shadow:
                series[[r.model, String(r.stable), "stable"]] = 100
                series[[r.model, String(r.candidate), "shadow"]] = r.mirror
            case .canary, .blueGreen:
                series[[r.model, String(r.stable), "stable"]] = 100 - r.weight
                series[[r.model, String(r.candidate), "canary"]] = r.weight
            }
        }
        func gauge(_ key: [String]) -> CoreMetrics.Gauge {
            metrics.gauge("keel_rollout_weight", [("model", key[0]), ("version", key[1]), ("arm", key[2])])
        }
        let gone = published.withLock { old in
            let gone = old.subtracting(series.keys)
            old = Set(series.keys)
            return gone
        }
        for key in gone { gauge(key).destroy() }
        for (key, weight) in series { gauge(key).record(weight) }
    }

    /// `keel_rollout_decisions_total{model, strategy, decision}`: the controller's decisions
    /// (`step`, `paused`, `promoted`, `rolled_back`, …), counted by the replica that took them.
    func countDecision(_ before: Rollout, _ after: Rollout) {
        let decision = after.state != before.state ? after.state.rawValue : "step"
        metrics?.counter("keel_rollout_decisions_total", [
            ("model", after.model), ("strategy", after.strategy.rawValue), ("decision", decision),
        ]).increment()
    }

    /// This replica's request and error counts, for the leader to sum.
    func saveOutcomes(now: Date) async throws(KeelError) {
        let counts = router.outcomeCounts
        guard !counts.isEmpty else { return }
        let records = counts.map { k, c in
            RolloutOutcomeRecord(
                rolloutID: k.rolloutID, step: k.step, version: k.version, requests: c.requests, errors: c.errors, compared: c.compared,
                agreed: c.agreed, absDiffSum: c.absDiffSum, absDiffMax: c.absDiffMax, trips: c.trips)
        }
        try await registry.store.write { tx throws(KeelError) in try await tx.saveRolloutOutcomes(replica: holder, records, at: now) }
    }

    /// Every check of the rollout over the step that just ended.
    func analyse(_ r: Rollout, now: Date) async -> [CheckResult] {
        var latencies: [Int: [Double]] = [:]
        var outcomes: [String: RolloutOutcomeRecord]?
        var qualities: [Int: LiveQuality?] = [:]
        var drifts: [Int: (Double, Int)?] = [:]
        var out: [CheckResult] = []
        for check in r.checks {
            func value(_ version: Int) async -> (Double?, Int) {
                if check.metric == RolloutCheck.errorRate || RolloutCheck.shadowMetrics.contains(check.metric) {
                    if outcomes == nil {
                        outcomes = (try? await registry.store.read { db throws(KeelError) in try await db.rolloutOutcomes(rolloutID: r.id, step: r.step) }) ?? [:]
                    }
                    guard let o = outcomes?[String(version)] else { return (nil, 0) }
                    switch check.metric {
                    case RolloutCheck.errorRate:
                        return o.requests > 0 ? (Double(o.errors) / Double(o.requests), Int(clamping: o.requests)) : (nil, 0)
                    case _ where o.compared == 0: return (nil, 0)
                    case "shadow_agreement": return (Double(o.agreed) / Double(o.compared), Int(clamping: o.compared))
                    case "shadow_mean_abs_diff": return (o.absDiffSum / Double(o.compared), Int(clamping: o.compared))
                    default: return (o.absDiffMax, Int(clamping: o.compared))
                    }
                }
                if RolloutCheck.latencyMetrics.contains(check.metric) {
                    // The candidate over the step; the stable version over its newest predictions
                    // (at 100 % it gets none during the step, and its baseline is what it was).
                    if latencies[version] == nil {
                        latencies[version] = await latency(r.model, version, since: version == r.candidate ? r.stepStartedAt : nil)
                    }
                    let sample = latencies[version] ?? []
                    return (Self.latencyStatistic(check.metric, sample), sample.count)
                }
                if check.metric == RolloutCheck.driftShare {
                    // The share of drifting input columns against the version's reference: the
                    // candidate over the step, the stable version over the same span of its newest rows.
                    if drifts[version] == nil {
                        let span = max(1, now.timeIntervalSince(r.stepStartedAt))
                        let report = try? await monitoring?.drift(r.model, version: String(version), window: .duration(span))?.report
                        drifts[version] = .some(report.map { ($0.driftShare, $0.columns.map(\.currentRows).max() ?? 0) })
                    }
                    guard let d = drifts[version] ?? nil else { return (nil, 0) }
                    return (d.0, d.1)
                }
                if qualities[version] == nil {
                    qualities[version] = .some(try? await monitoring?.quality(r.model, version: String(version), window: nil))
                }
                guard let q = qualities[version] ?? nil else { return (nil, 0) }
                return ((q.report.metrics[check.metric] ?? nil), q.labelled)
            }
            let (candidate, samples) = await value(r.candidate)
            var stable: Double?
            if check.relative { stable = await value(r.stable).0 }
            let verdict = samples < r.minSamples ? .inconclusive : check.verdict(candidate: candidate, stable: stable)
            out.append(CheckResult(check: check.text, value: candidate, stable: stable, samples: samples, verdict: verdict))
        }
        // A candidate whose circuit breaker opened during the step fails, whatever its checks say.
        if outcomes == nil {
            outcomes = (try? await registry.store.read { db throws(KeelError) in try await db.rolloutOutcomes(rolloutID: r.id, step: r.step) }) ?? [:]
        }
        if let o = outcomes?[String(r.candidate)], o.trips > 0 {
            out.append(CheckResult(check: RolloutCheck.circuitBreaker, value: Double(o.trips), stable: nil, samples: Int(clamping: o.requests), verdict: .fail))
        }
        return out
    }

    /// Latencies (ms) of a version's newest logged predictions (since `since`).
    func latency(_ model: String, _ version: Int, since: Date?) async -> [Double] {
        let rows = try? await registry.store.read { db throws(KeelError) in
            try await db.predictions(PredictionQuery(model: model, version: String(version), since: since, limit: Self.latencySample))
        }
        return rows?.map(\.latencyMs) ?? []
    }

    static func latencyStatistic(_ metric: String, _ sample: [Double]) -> Double? {
        guard !sample.isEmpty else { return nil }
        if metric == "mean_latency_ms" { return sample.reduce(0, +) / Double(sample.count) }
        let q = metric == "p50_latency_ms" ? 0.5 : metric == "p95_latency_ms" ? 0.95 : 0.99
        let sorted = sample.sorted()
        // Nearest rank.
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }
}
