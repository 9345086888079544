import Foundation
import KeelStore

/// Where a metric value came from.
public enum MetricSource: String, Sendable, Equatable {
    /// Measured by Keel: an evaluation (quality, latency) or the size computed at registration.
    case measured
    /// Supplied by the client at registration: shown, but trusted only by gates that accept it.
    case reported
}

/// One gate's outcome for one version, with the value and its source when one was used.
public struct GateResult: Sendable, Equatable {
    public var gate: Gate
    public var value: Double?
    /// Which of the version's metrics decided the gate; nil when none could.
    public var source: MetricSource?
    public var passed: Bool
    public var reason: String
}

extension Gate {
    /// Checks a version: its measured metric decides; a reported one only when the gate
    /// accepts reported values and nothing was measured.
    public func check(_ version: ModelVersionRecord) -> GateResult {
        check(measured: version.metrics, reported: version.reportedMetrics)
    }

    /// Checks measured (and optionally reported) metrics; a metric that was never measured
    /// fails the gate unless it accepts a reported value that exists.
    public func check(measured: [String: Double], reported: [String: Double] = [:]) -> GateResult {
        if let value = measured[metric] { return compare(value, .measured) }
        if let value = reported[metric] {
            if acceptReported { return compare(value, .reported) }
            return GateResult(
                gate: self, value: nil, source: nil, passed: false,
                reason: "\(description): '\(metric)' has not been measured (the reported \(Self.format(value)) counts only for a gate marked '\(Self.reportedOK)')")
        }
        return GateResult(gate: self, value: nil, source: nil, passed: false, reason: "\(description): '\(metric)' has not been measured")
    }

    /// Checks measured metrics only.
    public func check(_ measured: [String: Double]) -> GateResult {
        check(measured: measured)
    }

    private func compare(_ value: Double, _ source: MetricSource) -> GateResult {
        let passed = op.holds(value, threshold)
        let origin = source == .reported ? " (reported)" : ""
        return GateResult(gate: self, value: value, source: source, passed: passed,
                          reason: "\(description): \(metric) is \(Self.format(value))\(origin)\(passed ? "" : " — fails")")
    }
}
