import Foundation
import KeelCore
import KeelStore

/// A promotion gate, `metric op threshold` (e.g. `roc_auc >= 0.85`, `p95_latency_ms <= 100`),
/// checked against the metrics Keel measured. Spelled with a trailing `reported-ok`
/// (`roc_auc >= 0.85 reported-ok`), a metric reported at registration may satisfy it when
/// the version has no measured value of that name.
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

    /// The text form's marker for a gate that accepts reported values.
    public static let reportedOK = "reported-ok"
    /// Longest gate text and metric name accepted, in characters.
    public static let maximumTextLength = 256
    public static let maximumMetricLength = 128

    public var metric: String
    public var op: Op
    public var threshold: Double
    /// Whether a reported metric may satisfy the gate when no measured one exists.
    public var acceptReported: Bool

    public init(metric: String, op: Op, threshold: Double, acceptReported: Bool = false) {
        self.metric = metric
        self.op = op
        self.threshold = threshold
        self.acceptReported = acceptReported
    }

    public init(_ record: GateRecord) throws(KeelError) {
        guard let op = Op(rawValue: record.op) else { throw KeelError(.internal, "stored gate on '\(record.metric)' has unknown operator '\(record.op)'") }
        self.init(metric: record.metric, op: op, threshold: record.threshold, acceptReported: record.acceptReported)
    }

    /// Parses `metric op number [reported-ok]`; spaces around the operator are optional.
    public static func parse(_ text: String) throws(KeelError) -> Gate {
        guard text.count <= maximumTextLength else {
            throw KeelError.invalidInput("gate text of \(text.count) characters is too long (at most \(maximumTextLength))")
        }
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        var acceptReported = false
        if trimmed.suffix(reportedOK.count).lowercased() == reportedOK {
            let body = trimmed.dropLast(reportedOK.count)
            if body.last == " " || body.last == "\t" {
                trimmed = body.trimmingCharacters(in: .whitespaces)
                acceptReported = true
            }
        }
        for op in [Op.ge, .le, .eq, .gt, .lt] {
            guard let range = trimmed.range(of: op.rawValue) else { continue }
            let metric = trimmed[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let number = trimmed[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard !metric.isEmpty, metric.count <= maximumMetricLength,
                  metric.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." })
            else {
                throw KeelError.invalidInput("gate '\(text)': metric name must be 1–\(maximumMetricLength) letters, digits, '_' or '.'")
            }
            guard let threshold = Double(number), threshold.isFinite else {
                throw KeelError.invalidInput("gate '\(text)': threshold '\(number)' is not a finite number")
            }
            return Gate(metric: metric, op: op, threshold: threshold, acceptReported: acceptReported)
        }
        throw KeelError.invalidInput("gate '\(text)' must look like 'metric >= number' (operators: >=, >, <=, <, ==), optionally followed by '\(reportedOK)'")
    }

    public var description: String {
        "\(metric) \(op.rawValue) \(Self.format(threshold))\(acceptReported ? " \(Self.reportedOK)" : "")"
    }

    public static func format(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}
