import CoreMetrics
import Foundation
import Metrics
import Prometheus
import Synchronization

/// Keel's Prometheus metrics: one registry per server (no global bootstrap, so several
/// servers — and tests — can run in one process), reached through swift-metrics types.
public final class ServingMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    private let perVersion = Mutex<[String: VersionMetrics]>([:])
    private let perRoute = Mutex<[RouteKey: RouteMetrics]>([:])

    struct RouteKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }
    /// Counters with one label, by metric name and label value.
    private let labelled = Mutex<[String: CoreMetrics.Counter]>([:])

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
            .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        factory.valueHistogramBuckets["keel_inference_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        self.factory = factory
    }

    /// The factory other modules (batch jobs, streams) create their metrics with, so they land
    /// in this server's registry.
    public var metricsFactory: any MetricsFactory { factory }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }

    /// Handles for one model version, created once and cached.
    public func version(model: String, version: String) -> VersionMetrics {
        let key = model + "\u{0}" + version
        return perVersion.withLock { cache in
            if let m = cache[key] { return m }
            let m = VersionMetrics(model: model, version: version, factory: factory)
            cache[key] = m
            return m
        }
    }

    /// Handles for one HTTP route, method and status, created once and cached.
    public func route(_ route: String, method: String, status: Int) -> RouteMetrics {
        let key = RouteKey(route: route, method: method, status: status)
        return perRoute.withLock { cache in
            if let m = cache[key] { return m }
            let m = RouteMetrics(route: route, method: method, status: status, factory: factory)
            cache[key] = m
            return m
        }
    }
}

extension ServingMetrics {
    /// Counts a refused authentication (`keel_auth_failures_total{reason}`): missing, invalid
    /// or forbidden key, or no keys configured.
    public func authFailure(reason: String) {
        counter("keel_auth_failures_total", "reason", reason).increment()
    }

    /// Counts a request refused with 429 (`keel_rate_limited_total{class}`): `inference` or
    /// `management` routes.
    public func rateLimited(class name: String) {
        counter("keel_rate_limited_total", "class", name).increment()
    }

    /// A counter with two dimensions, created once per series (for per-call counts such as
    /// `keel_grpc_requests_total{method, code}`).
    public func counter(_ label: String, _ first: (String, String), _ second: (String, String)) -> CoreMetrics.Counter {
        let key = label + "\u{0}" + first.1 + "\u{0}" + second.1
        return labelled.withLock { cache in
            if let c = cache[key] { return c }
            let c = CoreMetrics.Counter(label: label, dimensions: [first, second], factory: factory)
            cache[key] = c
            return c
        }
    }

    /// A counter with one label, created once and cached.
    func counter(_ label: String, _ dimension: String, _ value: String) -> CoreMetrics.Counter {
        let key = label + "\u{0}" + value
        return labelled.withLock { cache in
            if let c = cache[key] { return c }
            let c = CoreMetrics.Counter(label: label, dimensions: [(dimension, value)], factory: factory)
            cache[key] = c
            return c
        }
    }
}

/// Metric handles of one HTTP route/method/status.
public final class RouteMetrics: Sendable {
    public let requests: CoreMetrics.Counter
    public let duration: CoreMetrics.Timer

    init(route: String, method: String, status: Int, factory: PrometheusMetricsFactory) {
        let dims = [("route", route), ("method", method), ("status", String(status))]
        requests = CoreMetrics.Counter(label: "keel_http_requests_total", dimensions: dims, factory: factory)
        duration = CoreMetrics.Timer(label: "keel_http_request_duration_seconds", dimensions: dims, factory: factory)
    }
}

/// Metric handles of one served model version.
public final class VersionMetrics: Sendable {
    public let model: String
    public let version: String
    let factory: PrometheusMetricsFactory
    public let successes: CoreMetrics.Counter
    public let rows: CoreMetrics.Counter
    public let executions: CoreMetrics.Counter
    public let requestDuration: CoreMetrics.Timer
    public let queueDuration: CoreMetrics.Timer
    public let computeDuration: CoreMetrics.Timer
    public let batchSize: CoreMetrics.Recorder
    public let inFlight: CoreMetrics.Meter
    public let loadSeconds: CoreMetrics.Gauge
    /// The same events, kept readable for the statistics extension (`/v2/models/…/stats`).
    public let statistics = InferenceStatistics()
    private let failures = Mutex<[String: CoreMetrics.Counter]>([:])

    init(model: String, version: String, factory: PrometheusMetricsFactory) {
        self.model = model
        self.version = version
        self.factory = factory
        let dims = [("model", model), ("version", version)]
        successes = CoreMetrics.Counter(label: "keel_inference_requests_total", dimensions: dims + [("status", "success"), ("reason", "")], factory: factory)
        rows = CoreMetrics.Counter(label: "keel_inference_rows_total", dimensions: dims, factory: factory)
        executions = CoreMetrics.Counter(label: "keel_inference_executions_total", dimensions: dims, factory: factory)
        requestDuration = CoreMetrics.Timer(label: "keel_inference_request_duration_seconds", dimensions: dims, factory: factory)
        queueDuration = CoreMetrics.Timer(label: "keel_inference_queue_duration_seconds", dimensions: dims, factory: factory)
        computeDuration = CoreMetrics.Timer(label: "keel_inference_compute_duration_seconds", dimensions: dims, factory: factory)
        batchSize = CoreMetrics.Recorder(label: "keel_inference_batch_size", dimensions: dims, aggregate: true, factory: factory)
        inFlight = CoreMetrics.Meter(label: "keel_inference_in_flight", dimensions: dims, factory: factory)
        loadSeconds = CoreMetrics.Gauge(label: "keel_model_load_seconds", dimensions: dims, factory: factory)
    }

    /// Counts a failed request under its reason (the error code).
    public func failure(reason: String) {
        let counter = failures.withLock { cache in
            if let c = cache[reason] { return c }
            let c = CoreMetrics.Counter(
                label: "keel_inference_requests_total",
                dimensions: [("model", model), ("version", version), ("status", "failure"), ("reason", reason)],
                factory: factory)
            cache[reason] = c
            return c
        }
        counter.increment()
    }
}

extension ServingMetrics {
    /// A gauge by label and dimensions, created once per distinct series.
    public func gauge(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory)
    }

    /// A counter by label and dimensions.
    public func counter(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
    }
}
