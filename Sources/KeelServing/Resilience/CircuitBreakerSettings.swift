import KeelCore

/// When a version's circuit breaker opens and how long it stays open (`circuit_breaker:` in
/// config.yaml). The breaker is on only when the section is present; each trigger is off
/// unless configured, except `consecutive_failures` (5 unless set; 0 turns it off).
public struct CircuitBreakerSettings: Sendable, Equatable {
    /// Server-side failures in a row that open the breaker; nil: this trigger is off.
    public var consecutiveFailures: Int? = 5
    /// Share of server-side failures over `window` above which it opens; nil: off.
    public var errorRate: Double?
    /// The sliding window of the error-rate and latency triggers.
    public var window: Duration = .seconds(30)
    /// Requests the window must hold before its error rate or p99 latency may open the breaker.
    public var minimumRequests = 20
    /// p99 latency over the window above which it opens, in milliseconds; nil: off.
    public var p99LatencyMs: Double?
    /// How long it stays open before one probe request may try the version again.
    public var openDuration: Duration = .seconds(10)

    public init() {}

    static let keys: Set<String> = ["consecutive_failures", "error_rate", "window_s", "min_requests", "p99_latency_ms", "open_s"]

    /// Reads the `circuit_breaker:` mapping (nil when absent); every value is bounded and named in the error.
    static func parse(_ value: YAMLValue?, source: String) throws(KeelError) -> CircuitBreakerSettings? {
        guard let value else { return nil }
        let f = try ConfigFields(value == .null ? .mapping([:]) : value, source: source, context: "circuit_breaker", known: keys)
        var s = CircuitBreakerSettings()
        if let n = try f.int("consecutive_failures", in: 0...10_000) { s.consecutiveFailures = n == 0 ? nil : n }
        if let rate = try f.number("error_rate", in: 0...1) {
            guard rate > 0, rate < 1 else { throw f.fail("'error_rate' must be above 0 and below 1, got \(rate)") }
            s.errorRate = rate
        }
        if let w = try f.number("window_s", in: 1...3_600) { s.window = .milliseconds(Int64((w * 1000).rounded())) }
        s.minimumRequests = try f.int("min_requests", in: 1...1_000_000) ?? s.minimumRequests
        s.p99LatencyMs = try f.number("p99_latency_ms", in: 0.1...3_600_000)
        if let o = try f.number("open_s", in: 1...3_600) { s.openDuration = .milliseconds(Int64((o * 1000).rounded())) }
        guard s.consecutiveFailures != nil || s.errorRate != nil || s.p99LatencyMs != nil else {
            throw f.fail("no trigger is on: set 'consecutive_failures' above 0, 'error_rate' or 'p99_latency_ms'")
        }
        return s
    }
}
