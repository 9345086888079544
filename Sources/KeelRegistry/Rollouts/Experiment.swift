import Foundation
import KeelCore

/// One arm of an A/B experiment: a name, the version it serves and its fixed share of the
/// model's unversioned traffic.
public struct ExperimentArm: Sendable, Equatable, Codable {
    public var name: String
    public var version: Int
    /// Percent, above 0; an experiment's weights add up to 100.
    public var weight: Double

    public init(name: String, version: Int, weight: Double) {
        self.name = name
        self.version = version
        self.weight = weight
    }

    /// The alias that keeps the arm's version loaded on every replica while the experiment
    /// runs (`/v2/models/{m}/versions/experiment-<arm>` serves it by name).
    public var alias: String { Registry.experimentAliasPrefix + name }
}

/// How an experiment is judged: a metric from ground-truth feedback, whether higher or lower
/// is better, the test's level and power, and the smallest difference worth detecting.
public struct ExperimentDesign: Sendable, Equatable, Codable {
    public enum Goal: String, Sendable, Codable, CaseIterable {
        case maximize, minimize
    }

    public var metric: String
    public var goal: Goal
    /// Absolute difference of the metric the experiment must be able to detect; with it the
    /// verdict waits for the sample size that gives `power`, and can then say "no difference".
    public var minimumDetectableEffect: Double?
    public var alpha: Double
    public var power: Double
    /// Labelled predictions each arm needs before any verdict.
    public var minSamples: Int

    public init(metric: String, goal: Goal? = nil, minimumDetectableEffect: Double? = nil, alpha: Double = 0.05, power: Double = 0.8, minSamples: Int = 100) {
        self.metric = metric
        self.goal = goal ?? Self.metrics[metric] ?? .maximize
        self.minimumDetectableEffect = minimumDetectableEffect
        self.alpha = alpha
        self.power = power
        self.minSamples = minSamples
    }

    /// The metrics an experiment can test, with their natural direction. Rates (accuracy,
    /// precision, recall, and the label mean of 0/1 outcomes) use the two-proportion z-test;
    /// per-prediction losses and a numeric label mean use Welch's t-test; ROC-AUC uses the
    /// Hanley–McNeil standard error.
    public static let metrics: [String: Goal] = [
        "label_mean": .maximize, "accuracy": .maximize, "precision": .maximize, "recall": .maximize, "roc_auc": .maximize,
        "log_loss": .minimize, "brier": .minimize, "mae": .minimize, "mse": .minimize,
    ]

    public var json: JSONValue {
        .object([
            "metric": .string(metric), "goal": .string(goal.rawValue), "minimum_detectable_effect": minimumDetectableEffect.map { .number($0) } ?? .null,
            "alpha": .number(alpha), "power": .number(power), "min_samples": .number(Double(minSamples)),
        ])
    }

    func validate() throws(KeelError) {
        guard Self.metrics[metric] != nil else {
            throw .invalidInput("metric '\(metric.prefix(64))' cannot be tested per arm; use one of \(Self.metrics.keys.sorted().joined(separator: ", "))")
        }
        if let e = minimumDetectableEffect { guard e.isFinite, e > 0, e <= 1e9 else { throw .invalidInput("minimum_detectable_effect must be a positive number") } }
        guard alpha.isFinite, alpha > 0, alpha <= 0.5 else { throw .invalidInput("alpha must be above 0 and at most 0.5") }
        guard power.isFinite, power >= 0.5, power < 1 else { throw .invalidInput("power must be from 0.5 up to (not including) 1") }
        guard (2...10_000_000).contains(minSamples) else { throw .invalidInput("min_samples must be 2 to 10000000") }
    }
}

/// What a client asks for when it starts an experiment.
public struct ExperimentPlan: Sendable, Equatable {
    public var model: String
    public var arms: [ExperimentArm]
    public var design: ExperimentDesign
    public var sticky: Bool

    public init(model: String, arms: [ExperimentArm], design: ExperimentDesign, sticky: Bool = true) {
        self.model = model
        self.arms = arms
        self.design = design
        self.sticky = sticky
    }

    func validate() throws(KeelError) {
        guard (2...10).contains(arms.count) else { throw .invalidInput("an experiment has 2 to 10 arms") }
        var names = Set<String>(), versions = Set<Int>()
        var total = 0.0
        for (i, arm) in arms.enumerated() {
            guard !arm.name.isEmpty, arm.name.utf8.count <= 32,
                  arm.name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw .invalidInput("arms[\(i)].name must be 1–32 characters of a-z, 0-9, - and _")
            }
            guard names.insert(arm.name).inserted else { throw .invalidInput("arm name '\(arm.name)' appears twice") }
            guard arm.version >= 1 else { throw .invalidInput("arms[\(i)].version must be a version number (1 or more)") }
            guard versions.insert(arm.version).inserted else { throw .invalidInput("version \(arm.version) is in two arms; each arm serves its own version") }
            guard arm.weight.isFinite, arm.weight > 0, arm.weight <= 100 else { throw .invalidInput("arms[\(i)].weight must be a percentage above 0") }
            total += arm.weight
        }
        guard abs(total - 100) < 1e-6 else { throw .invalidInput("the arms' weights add up to \(total); they must add up to 100") }
        try design.validate()
    }
}
