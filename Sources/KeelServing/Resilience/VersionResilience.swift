import CoreMetrics
import KeelCore
import KeelEngine

/// A served version's circuit breaker, fallback and prediction cache, as its config.yaml asks
/// (each absent unless configured), with their metrics: `keel_circuit_breaker_state` (0
/// closed, 1 open, 2 half-open), `keel_circuit_breaker_trips_total`, `keel_fallback_total` and
/// `keel_cache_hits_total` / `keel_cache_misses_total`, all by model and version.
public final class VersionResilience: Sendable {
    public let breaker: CircuitBreaker?
    public let fallback: FallbackSettings?
    /// The static default answer, built for the version's output signature.
    let staticAnswer: StaticAnswer?
    public let cache: PredictionCache?
    let fallbacks: CoreMetrics.Counter?

    /// Whether any of them is configured (when not, requests take the plain path).
    public let isEnabled: Bool

    /// Builds them for a version; a static answer that does not fit `metadata`'s outputs fails
    /// with a message naming the output.
    init(config: ModelConfig, metadata: ModelMetadata, metrics: VersionMetrics, what: String) throws(KeelError) {
        let dims = [("model", metrics.model), ("version", metrics.version)]
        let factory = metrics.factory
        breaker = config.circuitBreaker.map {
            CircuitBreaker(
                settings: $0, stateGauge: CoreMetrics.Gauge(label: "keel_circuit_breaker_state", dimensions: dims, factory: factory),
                tripCounter: CoreMetrics.Counter(label: "keel_circuit_breaker_trips_total", dimensions: dims, factory: factory))
        }
        fallback = config.fallback
        if case .outputs(let values) = config.fallback {
            staticAnswer = try StaticAnswer(values, signatures: metadata.outputs, what: what)
        } else {
            staticAnswer = nil
        }
        fallbacks = config.fallback.map { _ in CoreMetrics.Counter(label: "keel_fallback_total", dimensions: dims, factory: factory) }
        cache = config.cache.map {
            PredictionCache(
                settings: $0, hits: CoreMetrics.Counter(label: "keel_cache_hits_total", dimensions: dims, factory: factory),
                misses: CoreMetrics.Counter(label: "keel_cache_misses_total", dimensions: dims, factory: factory))
        }
        isEnabled = breaker != nil || fallback != nil || cache != nil
    }

    /// Checks a configuration's static answer against a model's outputs (registration and
    /// loading both run it, so a bad default never reaches serving).
    static func check(config: ModelConfig, metadata: ModelMetadata, what: String) throws(KeelError) {
        if case .outputs(let values) = config.fallback {
            _ = try StaticAnswer(values, signatures: metadata.outputs, what: what)
        }
    }
}
