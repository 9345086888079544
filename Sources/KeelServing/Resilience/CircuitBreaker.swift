import CoreMetrics
import Synchronization

/// One served version's circuit breaker. Closed, it counts outcomes and opens after too many
/// server-side failures in a row, or an error rate or p99 latency over the limit in its
/// sliding window; open, requests go to the fallback; after `open_s` it is half-open and lets
/// one probe request through: success closes it, a server-side failure opens it again.
/// Client errors (4xx) count for nothing. Each call takes one short lock and does a few
/// additions: no allocation, no clock other than the caller's.
public final class CircuitBreaker: Sendable {
    /// The breaker's state, as the `keel_circuit_breaker_state` gauge reports it.
    public enum State: Int, Sendable {
        case closed = 0
        case open = 1
        case halfOpen = 2
    }

    /// What a request may do.
    enum Permit: Equatable {
        /// Run the version; its outcome counts.
        case pass
        /// Run the version as the half-open probe; its outcome decides the state.
        case probe
        /// Do not run the version: the breaker is open (for at most `retryAfter` more).
        case reject(retryAfter: Duration)
    }

    /// How a request that ran the version ended.
    enum Outcome {
        case success
        /// A server-side failure (status >= 500).
        case failure
        /// A client error: neither a success nor a failure.
        case neutral
    }

    public let settings: CircuitBreakerSettings
    private let core: Mutex<Core>
    private let stateGauge: CoreMetrics.Gauge?
    private let tripCounter: CoreMetrics.Counter?

    init(settings: CircuitBreakerSettings, stateGauge: CoreMetrics.Gauge? = nil, tripCounter: CoreMetrics.Counter? = nil, now: ContinuousClock.Instant = .now) {
        self.settings = settings
        self.stateGauge = stateGauge
        self.tripCounter = tripCounter
        core = Mutex(Core(window: SlidingOutcomes(length: settings.window, origin: now)))
        stateGauge?.record(State.closed.rawValue)
    }

    /// The current state (open until its time is up, even if no request has asked since).
    public var state: State { core.withLock { $0.state } }

    /// How many times the breaker opened from closed (reopening after a failed probe is not
    /// a new trip).
    public var trips: Int64 { core.withLock { $0.trips } }

    /// Whether a request may run the version now.
    func admit(now: ContinuousClock.Instant = .now) -> Permit {
        let (permit, changed) = core.withLock { c -> (Permit, State?) in
            switch c.state {
            case .closed:
                return (.pass, nil)
            case .open:
                guard now >= c.openUntil else { return (.reject(retryAfter: c.openUntil - now), nil) }
                c.state = .halfOpen
                c.probing = true
                return (.probe, .halfOpen)
            case .halfOpen:
                guard !c.probing else { return (.reject(retryAfter: .zero), nil) }
                c.probing = true
                return (.probe, nil)
            }
        }
        if let changed { stateGauge?.record(changed.rawValue) }
        return permit
    }

    /// Counts the outcome of a request that ran the version under `permit`.
    func record(_ outcome: Outcome, latency: Duration, permit: Permit, now: ContinuousClock.Instant = .now) {
        let s = settings
        let slow = s.p99LatencyMs.map { latency > .microseconds(Int64($0 * 1000)) } ?? false
        let (changed, tripped) = core.withLock { c -> (State?, Bool) in
            if permit == .probe {
                c.probing = false
                switch outcome {
                case .neutral: return (nil, false)
                case .success:
                    c.state = .closed
                    c.consecutive = 0
                    c.window.reset(origin: now)
                    return (.closed, false)
                case .failure:
                    c.state = .open
                    c.openUntil = now + s.openDuration
                    return (.open, false)
                }
            }
            // Requests admitted before the breaker opened finish while it is open: not counted.
            guard c.state == .closed, outcome != .neutral else { return (nil, false) }
            let failed = outcome == .failure
            c.consecutive = failed ? c.consecutive + 1 : 0
            let totals = c.window.add(failed: failed, slow: slow, now: now)
            var trip = s.consecutiveFailures.map { c.consecutive >= $0 } ?? false
            if !trip, totals.requests >= s.minimumRequests {
                if let rate = s.errorRate, Double(totals.failures) > rate * Double(totals.requests) { trip = true }
                // p99 (nearest rank) exceeds the limit when more requests were slower than it
                // than the top 1 % holds.
                if s.p99LatencyMs != nil, totals.slow > totals.requests - Int((0.99 * Double(totals.requests)).rounded(.up)) { trip = true }
            }
            guard trip else { return (nil, false) }
            c.state = .open
            c.openUntil = now + s.openDuration
            c.trips += 1
            return (.open, true)
        }
        if let changed { stateGauge?.record(changed.rawValue) }
        if tripped { tripCounter?.increment() }
    }

    private struct Core {
        var state: State = .closed
        var openUntil: ContinuousClock.Instant = .now
        /// A probe is running (half-open admits one at a time).
        var probing = false
        var consecutive = 0
        var trips: Int64 = 0
        var window: SlidingOutcomes
    }
}

/// Counts of requests, server-side failures and slow requests over a sliding window, kept in
/// ten slots of a tenth of the window each (the window slides a slot at a time).
struct SlidingOutcomes {
    struct Totals {
        var requests = 0
        var failures = 0
        var slow = 0
    }

    static let slots = 10
    private let slotLength: Duration
    private var origin: ContinuousClock.Instant
    private var epochs = [Int](repeating: Int.min, count: slots)
    private var counts = [Totals](repeating: Totals(), count: slots)
    private var totals = Totals()

    init(length: Duration, origin: ContinuousClock.Instant) {
        slotLength = length / Self.slots
        self.origin = origin
    }

    mutating func reset(origin: ContinuousClock.Instant) {
        self.origin = origin
        for k in 0..<Self.slots {
            epochs[k] = .min
            counts[k] = Totals()
        }
        totals = Totals()
    }

    /// Adds one outcome at `now` and returns the window's totals.
    mutating func add(failed: Bool, slow: Bool, now: ContinuousClock.Instant) -> Totals {
        let epoch = now < origin ? 0 : Int(min((now - origin) / slotLength, 1e15))
        for k in 0..<Self.slots where epochs[k] != .min && epochs[k] <= epoch - Self.slots {
            expire(k)
        }
        let k = epoch % Self.slots
        if epochs[k] != epoch {
            expire(k)
            epochs[k] = epoch
        }
        counts[k].requests += 1
        totals.requests += 1
        if failed {
            counts[k].failures += 1
            totals.failures += 1
        }
        if slow {
            counts[k].slow += 1
            totals.slow += 1
        }
        return totals
    }

    private mutating func expire(_ k: Int) {
        totals.requests -= counts[k].requests
        totals.failures -= counts[k].failures
        totals.slow -= counts[k].slow
        counts[k] = Totals()
        epochs[k] = .min
    }
}
