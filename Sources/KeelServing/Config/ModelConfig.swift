import KeelCore

/// A model's serving configuration (`<repo>/<model>/config.yaml`): batching, class labels,
/// risk bands and the feature schema for records. `parse(yaml:source:)` validates every value
/// against the limits below (docs/json.md lists them).
public struct ModelConfig: Sendable, Equatable {
    /// Most rows one engine call takes; larger requests run alone.
    public var maxBatchSize: Int = 256
    /// How long the first request of a batch may wait for company. 0: batch only what is
    /// already queued while the previous batch runs (no added latency).
    public var maxQueueDelayMicroseconds: Int = 0
    /// Engine calls of one version that may run at once.
    public var instanceCount: Int = 1
    /// Class labels in output column order (defaults to the model's own).
    public var labels: [String]?
    /// Index of the positive class whose probability the records API reports.
    public var positiveClass: Int?
    /// Ordered bands over the positive-class probability.
    public var riskBands: [RiskBand] = []
    /// Turns records into input tensors for `POST /v1/models/{m}:predict`.
    public var featureSchema: FeatureSchema?
    /// Record field echoed into each prediction (e.g. `customer_id`).
    public var idField: String?
    /// Prediction log sampling, drift and quality settings (`monitoring:`).
    public var monitoring = MonitoringSettings()
    /// Circuit breaker of each version (`circuit_breaker:`); nil: off.
    public var circuitBreaker: CircuitBreakerSettings?
    /// Where answers come from when a version cannot give them (`fallback:`); nil: none.
    public var fallback: FallbackSettings?
    /// Prediction cache (`cache:`); nil: off.
    public var cache: PredictionCacheSettings?

    public init() {}

    /// Largest `max_batch_size`.
    public static let maxBatchSizeLimit = 65_536
    /// Largest `instance_count`.
    public static let maxInstanceCount = 64
    /// Largest `max_queue_delay_us` (one second).
    public static let maxQueueDelayLimit = 1_000_000
    /// Most class labels.
    public static let maxLabels = 65_536
    /// Most risk bands.
    public static let maxRiskBands = 64

    /// One named band: probabilities below `upper` (and at or above the previous band's upper).
    public struct RiskBand: Sendable, Equatable {
        public var name: String
        public var upper: Double?
        public init(name: String, upper: Double?) {
            self.name = name
            self.upper = upper
        }
    }

    /// The band a probability falls in, or nil when no bands are configured.
    public func riskBand(for probability: Double) -> String? {
        riskBandIndex(for: probability).map { riskBands[$0].name }
    }

    /// The position in `riskBands` of the band a probability falls in.
    public func riskBandIndex(for probability: Double) -> Int? {
        guard !riskBands.isEmpty else { return nil }
        for (i, band) in riskBands.enumerated() {
            guard let upper = band.upper else { return i }
            if probability < upper { return i }
        }
        return riskBands.count - 1
    }
}
