import Foundation
import KeelCore
import KeelStore

/// A promotion gate, `metric op threshold` (e.g. `roc_auc >= 0.85`, `p95_latency_ms <= 100`).
public struct Gate: Sendable, Equatable, CustomStringConvertible {
    public enum Op: String, Sendable, CaseIterable {
        case ge = ">=", gt = ">", le = "<=", lt = "<", eq = "=="

        func holds(_ value: Double, _ threshold: Double) -> Bool {
            switch self {
            case .ge: return value >= threshold
            case .gt: return value > threshold
            case .le: return value <= threshold
            case .lt: return value < threshold
            case .eq: return value == threshold
            }
        }
    }

    public var metric: String
    public var op: Op
    public var threshold: Double

    public init(metric: String, op: Op, threshold: Double) {
        self.metric = metric
        self.op = op
        self.threshold = threshold
    }

    public init(_ record: GateRecord) throws(KeelError) {
        guard let op = Op(rawValue: record.op) else { throw KeelError(.internal, "stored gate has unknown operator '\(record.op)'") }
        self.init(metric: record.metric, op: op, threshold: record.threshold)
    }

    /// Parses `metric op number`; spaces around the operator are optional.
    public static func parse(_ text: String) throws(KeelError) -> Gate {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for op in [Op.ge, .le, .eq, .gt, .lt] {
            guard let range = trimmed.range(of: op.rawValue) else { continue }
            let metric = trimmed[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let number = trimmed[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard !metric.isEmpty, metric.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                throw KeelError.invalidInput("gate '\(text)': metric name must be letters, digits, '_' or '.'")
            }
            guard let threshold = Double(number), threshold.isFinite else {
                throw KeelError.invalidInput("gate '\(text)': threshold '\(number)' is not a number")
            }
            return Gate(metric: metric, op: op, threshold: threshold)
        }
        throw KeelError.invalidInput("gate '\(text)' must look like 'metric >= number' (operators: >=, >, <=, <, ==)")
    }

    public var description: String { "\(metric) \(op.rawValue) \(Self.format(threshold))" }

    public static func format(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }

    /// Checks a version's metrics; a metric that was never measured fails the gate.
    public func check(_ metrics: [String: Double]) -> GateResult {
        guard let value = metrics[metric] else {
            return GateResult(gate: self, value: nil, passed: false, reason: "\(description): '\(metric)' has not been measured")
        }
        let passed = op.holds(value, threshold)
        return GateResult(gate: self, value: value, passed: passed,
                          reason: "\(description): \(metric) is \(Self.format(value))\(passed ? "" : " — fails")")
    }
}

/// One gate's outcome for one version.
public struct GateResult: Sendable, Equatable {
    public var gate: Gate
    public var value: Double?
    public var passed: Bool
    public var reason: String
}
