import Foundation
import KeelCore
import KeelStore

/// A rollout's plan and progress: the candidate version takes a growing share of the model's
/// traffic, step by step, while its checks pass. Stored whole as one document per rollout.
public struct Rollout: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable, CaseIterable {
        case running, paused, promoted
        case rolledBack = "rolled_back"
        case aborted
        /// An experiment ended without promoting an arm.
        case stopped

        public var isActive: Bool { self == .running || self == .paused }
    }

    public enum Strategy: String, Sendable, Codable, CaseIterable {
        case canary
        /// One step to 100 % once the candidate's checks pass at 0 % (smoke tests go to
        /// `/v2/models/{m}/versions/candidate`).
        case blueGreen = "blue-green"
        /// Each step's share of live traffic is copied to the candidate off the response path;
        /// its answers are compared with the stable version's and discarded.
        case shadow
        /// An A/B experiment: fixed weights over two or more arms (`arms`), judged on a
        /// feedback metric; stopping it can promote the winner.
        case experiment

        /// What `POST …/rollouts` accepts (experiments have their own routes).
        public static let rollouts: [Strategy] = [.canary, .blueGreen, .shadow]
    }

    /// Set from the stored row (not part of the document).
    public var id: Int64 = 0
    public var model: String
    public var strategy: Strategy
    public var candidate: Int
    public var stable: Int
    public var state: State
    /// Traffic percent of the candidate at each step.
    public var steps: [Double]
    /// Index into `steps`.
    public var step: Int
    /// Seconds each step lasts before its analysis.
    public var interval: Double
    public var checks: [RolloutCheck]
    /// Failed analyses that roll back.
    public var failureLimit: Int
    public var failures: Int
    /// Samples a check needs before it can pass or fail.
    public var minSamples: Int
    /// Sticky by entity id (else random per request).
    public var sticky: Bool
    /// Seconds of inconclusive analyses after which the rollout pauses for a human.
    public var inconclusiveDeadline: Double
    public var stepStartedAt: Date
    public var inconclusiveSince: Date?
    public var lastAnalysis: [CheckResult]
    /// Why it paused or ended.
    public var reason: String?
    public var createdBy: String
    /// An experiment's arms (the first is the control) and design; nil for rollouts.
    public var arms: [ExperimentArm]?
    public var design: ExperimentDesign?
    /// An ended experiment's last analysis (JSON), kept with it.
    public var result: String?

    /// The candidate's share of traffic now, 0…100 (a shadow candidate answers none).
    public var weight: Double {
        switch state {
        case .running, .paused: strategy == .shadow || strategy == .experiment ? 0 : (steps.indices.contains(step) ? steps[step] : 0)
        case .promoted: 100
        case .rolledBack, .aborted, .stopped: 0
        }
    }

    /// The share of live traffic copied to a shadow candidate, 0…100.
    public var mirror: Double {
        strategy == .shadow && state.isActive && steps.indices.contains(step) ? steps[step] : 0
    }

    public var json: JSONValue {
        func num(_ v: Double?) -> JSONValue { v.map { $0.isFinite ? .number($0) : .null } ?? .null }
        var o: [String: JSONValue] = [
            "id": .number(Double(id)), "model": .string(model), "strategy": .string(strategy.rawValue),
            "candidate_version": .string(String(candidate)), "stable_version": .string(String(stable)),
            "state": .string(state.rawValue), "steps": .array(steps.map { .number($0) }), "step": .number(Double(step)),
            "weight": .number(weight), "mirror": .number(mirror), "interval": .number(interval), "checks": .array(checks.map { .string($0.text) }),
            "failure_limit": .number(Double(failureLimit)), "failures": .number(Double(failures)),
            "min_samples": .number(Double(minSamples)), "sticky": .bool(sticky), "inconclusive_deadline": .number(inconclusiveDeadline),
            "step_started_at": .string(ISO8601DateFormatter().string(from: stepStartedAt)),
            "created_by": .string(createdBy),
            "analysis": .array(lastAnalysis.map { r in
                .object([
                    "check": .string(r.check), "value": num(r.value), "stable": num(r.stable),
                    "samples": .number(Double(r.samples)), "verdict": .string(r.verdict.rawValue),
                ])
            }),
        ]
        if let reason { o["reason"] = .string(reason) }
        if let arms {
            o["arms"] = .array(arms.map { .object(["name": .string($0.name), "version": .string(String($0.version)), "weight": .number($0.weight)]) })
        }
        if let design { o["design"] = design.json }
        if let result, let v = try? JSONParser.parse(Array(result.utf8), errorCode: .internal) { o["result"] = v }
        return .object(o)
    }

    func encoded() throws(KeelError) -> String {
        do {
            let e = JSONEncoder()
            e.dateEncodingStrategy = .secondsSince1970
            e.outputFormatting = .sortedKeys
            return String(decoding: try e.encode(self), as: UTF8.self)
        } catch {
            throw KeelError(.internal, "cannot encode rollout: \(error)")
        }
    }

    static func decode(_ record: RolloutRecord) throws(KeelError) -> Rollout {
        do {
            let d = JSONDecoder()
            d.dateDecodingStrategy = .secondsSince1970
            var r = try d.decode(Rollout.self, from: Data(record.document.utf8))
            r.id = record.id
            return r
        } catch {
            throw KeelError(.internal, "stored rollout \(record.id) cannot be read: \(error)")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case model, strategy, candidate, stable, state, steps, step, interval, checks, failureLimit, failures, minSamples, sticky
        case inconclusiveDeadline, stepStartedAt, inconclusiveSince, lastAnalysis, reason, createdBy, arms, design, result
    }
}

/// What a client asks for when it starts a rollout.
public struct RolloutPlan: Sendable, Equatable {
    public var model: String
    public var version: Int
    public var strategy: Rollout.Strategy
    public var steps: [Double]
    public var interval: Double
    public var checks: [RolloutCheck]
    public var failureLimit: Int
    public var minSamples: Int
    public var sticky: Bool
    public var inconclusiveDeadline: Double

    public init(
        model: String, version: Int, strategy: Rollout.Strategy = .canary, steps: [Double] = [5, 25, 50, 100], interval: Double = 60,
        checks: [RolloutCheck] = [], failureLimit: Int = 2, minSamples: Int = 100, sticky: Bool = true, inconclusiveDeadline: Double? = nil
    ) {
        self.model = model
        self.version = version
        self.strategy = strategy
        self.steps = strategy == .blueGreen ? [0, 100] : steps
        self.interval = interval
        self.checks = checks
        self.failureLimit = failureLimit
        self.minSamples = minSamples
        self.sticky = sticky
        self.inconclusiveDeadline = inconclusiveDeadline ?? max(600, 10 * interval)
    }

    /// Every bound checked before anything is stored.
    func validate() throws(KeelError) {
        guard !steps.isEmpty, steps.count <= 100 else { throw .invalidInput("steps must hold 1 to 100 traffic percentages") }
        for (i, s) in steps.enumerated() {
            guard s.isFinite, s >= 0, s <= 100 else { throw .invalidInput("steps[\(i)] must be a percentage from 0 to 100") }
            if i > 0, s < steps[i - 1] { throw .invalidInput("steps must not decrease (\(steps[i - 1]) then \(s))") }
        }
        guard steps.last == 100 else { throw .invalidInput("the last step must be 100 (the candidate takes all traffic before promotion)") }
        guard interval.isFinite, interval >= 1, interval <= 7 * 86_400 else { throw .invalidInput("interval must be 1 s to 7 days") }
        guard checks.count <= 32 else { throw .invalidInput("at most 32 checks") }
        guard (1...100).contains(failureLimit) else { throw .invalidInput("failure_limit must be 1 to 100") }
        guard (1...10_000_000).contains(minSamples) else { throw .invalidInput("min_samples must be 1 to 10000000") }
        guard inconclusiveDeadline.isFinite, inconclusiveDeadline >= interval, inconclusiveDeadline <= 30 * 86_400 else {
            throw .invalidInput("inconclusive_deadline must be from the interval up to 30 days")
        }
    }
}
