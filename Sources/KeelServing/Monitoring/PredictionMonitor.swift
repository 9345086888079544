import Foundation
import KeelCore
import KeelMonitoring
import Synchronization

/// Hands answered requests to the prediction log, sampled per model (config.yaml
/// `monitoring.sample_rate`), without ever waiting: the writer's queue drops and counts when full.
public final class PredictionMonitor: Sendable {
    public let writer: PredictionLogWriter
    private let counter = Atomic<UInt64>(0)
    private let seed: UInt64

    public init(writer: PredictionLogWriter) {
        self.writer = writer
        var g = SystemRandomNumberGenerator()
        seed = g.next()
    }

    /// Whether this request is logged at `rate` (a cheap hash of a counter, no system call).
    func sampled(_ rate: Double) -> Bool {
        if rate >= 1 { return true }
        if rate <= 0 { return false }
        var z = seed &+ counter.wrappingAdd(1, ordering: .relaxed).newValue &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(UInt64(1) << 53) < rate
    }

    /// Logs one answered request of `served` (when sampled); `cached`: the answer came from
    /// the version's prediction cache.
    func record(
        _ served: ServedVersion, arm: String, requestID: String, entityIDs: [String]?, records: [[String: JSONValue]]?,
        inputs: [String: Tensor], outputs: [String: Tensor], started: ContinuousClock.Instant, cached: Bool = false
    ) {
        guard sampled(served.config.monitoring.sampleRate) else { return }
        let (s, atto) = (ContinuousClock.now - started).components
        writer.submit(PredictionEvent(
            model: served.modelName, version: served.version, arm: arm, requestID: requestID, entityIDs: entityIDs, records: records,
            inputs: inputs, outputs: outputs, latencyMs: (Double(s) + Double(atto) / 1e18) * 1000, layout: served.logLayout, cached: cached))
    }
}
