import Foundation
import KeelCore

/// One analysis check of a rollout: `metric op value`, or `metric op stable * factor` to
/// compare the candidate with the stable version (e.g. `p95_latency_ms <= stable * 1.2`).
public struct RolloutCheck: Sendable, Equatable, Codable {
    public var metric: String
    /// The same operators as promotion gates.
    public var op: Gate.Op
    /// The threshold, or the factor of the stable version's value when `relative`.
    public var value: Double
    public var relative: Bool

    public init(metric: String, op: Gate.Op, value: Double, relative: Bool = false) {
        self.metric = metric
        self.op = op
        self.value = value
        self.relative = relative
    }

    /// Metrics read from the prediction log (latency in milliseconds of the version's own
    /// predictions); `error_rate` is the share of the version's requests during the step that
    /// failed on the server's side (5xx), counted by every replica; every other name is a live
    /// quality metric from feedback (`roc_auc`, …).
    public static let latencyMetrics = ["mean_latency_ms", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms"]
    public static let errorRate = "error_rate"
    /// The share of the version's input columns that drift from its training reference over
    /// the step (its predictions' rows in the shared log against its reference profile).
    public static let driftShare = "drift_share"
    /// Not a check one writes: the analysis adds it, failed, when the candidate's circuit
    /// breaker opened during the step (its value is how often).
    public static let circuitBreaker = "circuit_breaker_opened"
    /// A shadow candidate compared with the stable version on the same requests: the share of
    /// rows with the same label, the mean and the largest absolute score difference.
    public static let shadowMetrics = ["shadow_agreement", "shadow_mean_abs_diff", "shadow_max_abs_diff"]

    public var text: String { "\(metric) \(op.rawValue) \(relative ? "stable * " : "")\(Self.format(value))" }

    static func format(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }

    /// Parses `metric op value` / `metric op stable * factor` (spaces optional around the operator).
    public static func parse(_ text: String) throws(KeelError) -> RolloutCheck {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard s.utf8.count <= 200 else { throw .invalidInput("check '\(s.prefix(40))…' is longer than 200 bytes") }
        // The longest operator first, so `<=` is not read as `<`.
        for op in [Gate.Op.le, .ge, .eq, .lt, .gt] {
            guard let r = s.range(of: op.rawValue) else { continue }
            let metric = s[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
            var rhs = s[r.upperBound...].trimmingCharacters(in: .whitespaces)
            guard !metric.isEmpty, metric.utf8.count <= 64,
                  metric.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else { break }
            var relative = false
            if rhs.hasPrefix("stable") {
                rhs = rhs.dropFirst("stable".count).trimmingCharacters(in: .whitespaces)
                if rhs.isEmpty {
                    rhs = "1"
                } else {
                    guard rhs.hasPrefix("*") else { break }
                    rhs = rhs.dropFirst().trimmingCharacters(in: .whitespaces)
                }
                relative = true
            }
            guard let value = Double(rhs), value.isFinite else { break }
            return RolloutCheck(metric: metric, op: op, value: value, relative: relative)
        }
        throw .invalidInput("check '\(s)' must read 'metric op value' or 'metric op stable * factor' with op one of <, <=, >, >=, == (e.g. 'p95_latency_ms < 20', 'roc_auc >= stable * 0.98')")
    }

    /// pass, fail or inconclusive for a candidate value (and the stable one when relative).
    public func verdict(candidate: Double?, stable: Double?) -> CheckVerdict {
        guard let candidate, candidate.isFinite else { return .inconclusive }
        let threshold: Double
        if relative {
            guard let stable, stable.isFinite else { return .inconclusive }
            threshold = stable * value
        } else {
            threshold = value
        }
        return op.holds(candidate, threshold) ? .pass : .fail
    }
}

extension Gate.Op: Codable {}

public enum CheckVerdict: String, Sendable, Codable {
    case pass, fail, inconclusive
}

/// One check's outcome at one analysis.
public struct CheckResult: Sendable, Equatable, Codable {
    public var check: String
    public var value: Double?
    public var stable: Double?
    /// Samples behind the candidate's value (predictions or labels).
    public var samples: Int
    public var verdict: CheckVerdict

    public init(check: String, value: Double?, stable: Double?, samples: Int, verdict: CheckVerdict) {
        self.check = check
        self.value = value
        self.stable = stable
        self.samples = samples
        self.verdict = verdict
    }
}
