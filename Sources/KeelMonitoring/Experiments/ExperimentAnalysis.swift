import Foundation
import KeelCore
import KeelStore

/// One labelled prediction of an experiment arm, reduced to what the metrics need.
public struct ArmObservation: Sendable, Equatable {
    /// Binary: 1 when the label is the positive class; regression: the target; otherwise the
    /// label's number when it has one.
    public var outcome: Double
    /// Binary score (positive-class probability) or regression prediction.
    public var score: Double?
    /// Whether the predicted label equals the true one (classifiers).
    public var correct: Bool?
    /// Binary: whether the prediction was the positive class.
    public var predictedPositive: Bool?

    public init(outcome: Double, score: Double?, correct: Bool?, predictedPositive: Bool?) {
        self.outcome = outcome
        self.score = score
        self.correct = correct
        self.predictedPositive = predictedPositive
    }

    /// A joined feedback row as seen through the version's output profile; nil when the
    /// label names nothing the version can be judged on.
    public static func of(_ r: FeedbackRecord, profile: OutputProfile) -> ArmObservation? {
        switch profile.task {
        case .binary, .unknown:
            guard let y = profile.classIndex(of: r.label) else { return nil }
            let positive = y == profile.positiveClass
            let predicted = r.predictedLabel.flatMap(profile.classIndex) ?? r.score.map { $0 > 0.5 ? profile.positiveClass : 1 - profile.positiveClass }
            return ArmObservation(
                outcome: positive ? 1 : 0, score: r.score, correct: predicted.map { $0 == y }, predictedPositive: predicted.map { $0 == profile.positiveClass })
        case .multiclass:
            guard let y = profile.classIndex(of: r.label) else { return nil }
            let predicted = r.predictedLabel.flatMap(profile.classIndex)
            return ArmObservation(outcome: r.labelValue ?? Double(y), score: nil, correct: predicted.map { $0 == y }, predictedPositive: nil)
        case .regression:
            guard let y = r.labelValue else { return nil }
            return ArmObservation(outcome: y, score: r.score, correct: nil, predictedPositive: nil)
        }
    }
}

/// The metric of one arm: its value, sample size and confidence interval.
public struct ArmStatistic: Sendable, Equatable {
    public var name: String
    public var version: String
    /// Labelled predictions of the arm.
    public var labelled: Int
    /// The observations the metric is computed on (e.g. the actual positives for recall).
    public var samples: Int
    public var value: Double?
    public var lower: Double?
    public var upper: Double?
}

/// A treatment arm against the control arm.
public struct ArmComparison: Sendable, Equatable {
    public var arm: String
    public var comparison: Comparison
    /// Whether p is below the (Bonferroni-corrected) level.
    public var significant: Bool
    /// Samples per arm the minimum detectable effect needs at the design's power (nil without one).
    public var requiredSamples: Int?
}

/// What an experiment says now.
public struct ExperimentResult: Sendable, Equatable {
    public enum Verdict: String, Sendable {
        case winner
        case noDifference = "no_difference"
        case undecided
    }

    public var metric: String
    public var goal: String
    public var arms: [ArmStatistic]
    public var comparisons: [ArmComparison]
    public var verdict: Verdict
    /// The winning arm's name.
    public var winner: String?
    public var reason: String
    /// The level each comparison is held to (alpha over the number of comparisons).
    public var level: Double

    public var json: JSONValue {
        func num(_ v: Double?) -> JSONValue { v.map { $0.isFinite ? .number($0) : .null } ?? .null }
        return .object([
            "metric": .string(metric), "goal": .string(goal), "verdict": .string(verdict.rawValue), "winner": winner.map { .string($0) } ?? .null,
            "reason": .string(reason), "level": .number(level),
            "arms": .array(arms.map { a in
                .object([
                    "name": .string(a.name), "version": .string(a.version), "labelled": .number(Double(a.labelled)), "samples": .number(Double(a.samples)),
                    "value": num(a.value), "ci_lower": num(a.lower), "ci_upper": num(a.upper),
                ])
            }),
            "comparisons": .array(comparisons.map { c in
                .object([
                    "arm": .string(c.arm), "vs": .string(arms.first?.name ?? ""), "test": .string(c.comparison.test),
                    "difference": num(c.comparison.difference), "ci_lower": num(c.comparison.lower), "ci_upper": num(c.comparison.upper),
                    "p_value": num(c.comparison.pValue), "significant": .bool(c.significant),
                    "required_samples": c.requiredSamples.map { .number(Double($0)) } ?? .null,
                ])
            }),
        ])
    }
}

/// Judges an A/B experiment: each arm's metric with its interval, each treatment against the
/// control (the first arm) with the test that fits the metric, and a verdict. With a minimum
/// detectable effect the verdict waits until every arm has the sample size that effect needs
/// (a fixed-horizon test: looking early does not inflate false positives), then names the
/// winner or says there is no difference; without one it names a winner once a difference is
/// significant and otherwise stays undecided.
public enum ExperimentAnalysis {
    public struct Arm: Sendable {
        public var name: String
        public var version: String
        public var observations: [ArmObservation]

        public init(name: String, version: String, observations: [ArmObservation]) {
            self.name = name
            self.version = version
            self.observations = observations
        }
    }

    public static let metrics: Set<String> = ["label_mean", "accuracy", "precision", "recall", "roc_auc", "log_loss", "brier", "mae", "mse"]

    /// Per-arm data for a metric: a rate (successes of trials), a sample of values, or an AUC.
    enum Sample {
        case rate(successes: Int, trials: Int)
        case values([Double])
        case auc(value: Double?, positives: Int, negatives: Int)

        var count: Int {
            switch self {
            case .rate(_, let n): n
            case .values(let v): v.count
            case .auc(_, let p, let n): p + n
            }
        }
    }

    static func sample(_ metric: String, _ obs: [ArmObservation]) -> Sample {
        let eps = Double.ulpOfOne
        switch metric {
        case "accuracy":
            let c = obs.compactMap(\.correct)
            return .rate(successes: c.count(where: { $0 }), trials: c.count)
        case "precision":
            let p = obs.filter { $0.predictedPositive == true }
            return .rate(successes: p.count(where: { $0.outcome == 1 }), trials: p.count)
        case "recall":
            let p = obs.filter { $0.outcome == 1 && $0.predictedPositive != nil }
            return .rate(successes: p.count(where: { $0.predictedPositive == true }), trials: p.count)
        case "label_mean":
            if obs.allSatisfy({ $0.outcome == 0 || $0.outcome == 1 }) {
                return .rate(successes: obs.count(where: { $0.outcome == 1 }), trials: obs.count)
            }
            return .values(obs.map(\.outcome))
        case "roc_auc":
            let scored = obs.filter { $0.score != nil }
            let positives = scored.count(where: { $0.outcome == 1 })
            let auc = RankingMetrics.rocAUC(scores: scored.map { $0.score ?? 0 }, positives: scored.map { $0.outcome == 1 })
            return .auc(value: auc, positives: positives, negatives: scored.count - positives)
        case "log_loss":
            return .values(obs.compactMap { o in
                o.score.map { s in -log(min(max(o.outcome == 1 ? s : 1 - s, eps), 1 - eps)) }
            })
        case "brier":
            return .values(obs.compactMap { o in o.score.map { ($0 - o.outcome) * ($0 - o.outcome) } })
        case "mae":
            return .values(obs.compactMap { o in o.score.map { abs($0 - o.outcome) } })
        default:
            return .values(obs.compactMap { o in o.score.map { ($0 - o.outcome) * ($0 - o.outcome) } })
        }
    }

    /// Hanley and McNeil's (1982) standard error of an ROC-AUC.
    static func aucStandardError(_ a: Double, positives: Int, negatives: Int) -> Double {
        let q1 = a / (2 - a), q2 = 2 * a * a / (1 + a)
        let np = Double(positives), nn = Double(negatives)
        let v = (a * (1 - a) + (np - 1) * (q1 - a * a) + (nn - 1) * (q2 - a * a)) / (np * nn)
        return max(v, 0).squareRoot()
    }

    static func statistic(_ s: Sample, z: Double) -> (value: Double?, lower: Double?, upper: Double?, sd: Double?) {
        switch s {
        case .rate(let x, let n):
            guard n > 0 else { return (nil, nil, nil, nil) }
            let p = Double(x) / Double(n)
            let se = (p * (1 - p) / Double(n)).squareRoot()
            return (p, p - z * se, p + z * se, (p * (1 - p)).squareRoot())
        case .values(let v):
            guard !v.isEmpty else { return (nil, nil, nil, nil) }
            let m = v.reduce(0, +) / Double(v.count)
            guard v.count > 1 else { return (m, nil, nil, nil) }
            let sd = (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)).squareRoot()
            let se = sd / Double(v.count).squareRoot()
            return (m, m - z * se, m + z * se, sd)
        case .auc(let a, let p, let n):
            guard let a else { return (nil, nil, nil, nil) }
            let se = aucStandardError(a, positives: p, negatives: n)
            return (a, a - z * se, a + z * se, nil)
        }
    }

    static func compare(_ control: Sample, _ treatment: Sample, alpha: Double) -> Comparison? {
        switch (control, treatment) {
        case (.rate(let x1, let n1), .rate(let x2, let n2)):
            return SignificanceTests.proportions(successes: x1, trials: n1, successes: x2, trials: n2, alpha: alpha)
        case (.values(let a), .values(let b)):
            return SignificanceTests.welch(a, b, alpha: alpha)
        case (.auc(let a1?, let p1, let n1), .auc(let a2?, let p2, let n2)):
            let se = (pow(aucStandardError(a1, positives: p1, negatives: n1), 2) + pow(aucStandardError(a2, positives: p2, negatives: n2), 2)).squareRoot()
            let d = a2 - a1
            let q = Distributions.normalQuantile(1 - alpha / 2)
            let p = se > 0 ? 2 * (1 - Normal.cdf(abs(d / se))) : (d == 0 ? 1 : 0)
            return Comparison(control: a1, treatment: a2, difference: d, lower: d - q * se, upper: d + q * se, pValue: p, test: "Hanley–McNeil z-test")
        default:
            // A label mean whose arms differ in kind (one all 0/1): compare as means.
            return nil
        }
    }

    /// Samples per arm that detect `effect` with `power` at two-sided `level`.
    static func required(_ control: Sample, _ treatment: Sample, comparison: Comparison, effect: Double, level: Double, power: Double) -> Int? {
        switch control {
        case .rate(let x, let n) where n > 0:
            let p = Double(x) / Double(n)
            // The rate of the control, moved by the effect in the direction that stays inside (0, 1).
            let signed = p + effect < 1 ? effect : -effect
            return SignificanceTests.sampleSize(baselineRate: min(max(p, 1e-6), 1 - 1e-6), effect: signed, alpha: level, power: power)
        case .values(let a) where a.count > 1:
            var pooled = a
            if case .values(let b) = treatment { pooled += b }
            let m = pooled.reduce(0, +) / Double(pooled.count)
            let sd = (pooled.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(pooled.count - 1)).squareRoot()
            return SignificanceTests.sampleSize(standardDeviation: sd, effect: effect, alpha: level, power: power)
        default:
            // AUC: the standard error of the difference shrinks as 1/√n, so scale the current one.
            let q = Distributions.normalQuantile(1 - level / 2)
            let se = (comparison.upper - comparison.lower) / (2 * q)
            let n = Double(min(control.count, treatment.count))
            let z = q + Distributions.normalQuantile(power)
            let needed = n * pow(z * se / effect, 2)
            return needed.isFinite && needed < 1e12 ? Int(needed.rounded(.up)) : nil
        }
    }

    public static func analyse(
        metric: String, maximize: Bool, arms: [Arm], minimumDetectableEffect: Double?, alpha: Double, power: Double, minSamples: Int
    ) -> ExperimentResult {
        let level = alpha / Double(max(1, arms.count - 1))
        let zArm = Distributions.normalQuantile(1 - alpha / 2)
        var samples = arms.map { sample(metric, $0.observations) }
        // A numeric label mean in any arm: compare every arm as means.
        if metric == "label_mean", samples.contains(where: { if case .values = $0 { true } else { false } }) {
            samples = arms.map { .values($0.observations.map(\.outcome)) }
        }
        let stats = zip(arms, samples).map { arm, s in
            let st = statistic(s, z: zArm)
            return ArmStatistic(name: arm.name, version: arm.version, labelled: arm.observations.count, samples: s.count, value: st.value, lower: st.lower, upper: st.upper)
        }
        var comparisons: [ArmComparison] = []
        for i in arms.indices.dropFirst() {
            guard let c = compare(samples[0], samples[i], alpha: level) else { continue }
            let req = minimumDetectableEffect.flatMap { required(samples[0], samples[i], comparison: c, effect: $0, level: level, power: power) }
            comparisons.append(ArmComparison(arm: arms[i].name, comparison: c, significant: c.pValue < level, requiredSamples: req))
        }
        var result = ExperimentResult(
            metric: metric, goal: maximize ? "maximize" : "minimize", arms: stats, comparisons: comparisons, verdict: .undecided, winner: nil, reason: "",
            level: level)
        if let short = zip(arms, samples).first(where: { $0.1.count < minSamples }) {
            result.reason = "arm '\(short.0.name)' has \(short.1.count) of the \(minSamples) samples it needs"
            return result
        }
        guard comparisons.count == arms.count - 1 else {
            result.reason = "the metric cannot be computed for every arm yet"
            return result
        }
        if minimumDetectableEffect != nil {
            let needed = comparisons.compactMap(\.requiredSamples).max() ?? 0
            if let short = zip(arms, samples).first(where: { $0.1.count < needed }) {
                result.reason = "arm '\(short.0.name)' has \(short.1.count) of the \(needed) samples the minimum detectable effect needs"
                return result
            }
        }
        func better(_ d: Double) -> Bool { maximize ? d > 0 : d < 0 }
        let winners = comparisons.filter { $0.significant && better($0.comparison.difference) }
        if let best = winners.max(by: { maximize ? $0.comparison.treatment < $1.comparison.treatment : $0.comparison.treatment > $1.comparison.treatment }) {
            result.verdict = .winner
            result.winner = best.arm
            result.reason = String(format: "'%@' beats '%@' by %.4g (p = %.3g)", best.arm, arms[0].name, best.comparison.difference, best.comparison.pValue)
        } else if comparisons.allSatisfy({ $0.significant && !better($0.comparison.difference) }) {
            result.verdict = .winner
            result.winner = arms[0].name
            result.reason = "the control '\(arms[0].name)' beats every other arm significantly"
        } else if minimumDetectableEffect != nil {
            result.verdict = .noDifference
            result.reason = "no significant difference at the sample size that detects the minimum effect"
        } else {
            result.reason = "no significant difference yet; give a minimum detectable effect to conclude there is none"
        }
        return result
    }
}
