@testable import KeelServing
import Testing

/// The circuit breaker's state machine, driven with explicit instants (no sleeping).
@Suite struct CircuitBreakerTests {
    static let t0 = ContinuousClock.now

    static func breaker(_ configure: (inout CircuitBreakerSettings) -> Void = { _ in }) -> CircuitBreaker {
        var s = CircuitBreakerSettings()
        configure(&s)
        return CircuitBreaker(settings: s, now: t0)
    }

    /// Runs one request at `at` seconds after t0 with the given outcome.
    @discardableResult
    static func request(_ b: CircuitBreaker, _ outcome: CircuitBreaker.Outcome, at seconds: Double, latencyMs: Double = 1) -> CircuitBreaker.Permit {
        let now = t0 + .milliseconds(Int64(seconds * 1000))
        let permit = b.admit(now: now)
        if case .reject = permit { return permit }
        b.record(outcome, latency: .microseconds(Int64(latencyMs * 1000)), permit: permit, now: now)
        return permit
    }

    @Test func opensAfterTheConfiguredFailuresInARow() {
        let b = Self.breaker { $0.consecutiveFailures = 3 }
        Self.request(b, .failure, at: 0)
        Self.request(b, .failure, at: 0.1)
        #expect(b.state == .closed)
        Self.request(b, .success, at: 0.2)  // a success resets the run
        Self.request(b, .failure, at: 0.3)
        Self.request(b, .failure, at: 0.4)
        #expect(b.state == .closed)
        Self.request(b, .failure, at: 0.5)
        #expect(b.state == .open)
        #expect(b.trips == 1)
        guard case .reject(let retryAfter) = b.admit(now: Self.t0 + .seconds(1)) else {
            Issue.record("an open breaker admitted a request")
            return
        }
        #expect(retryAfter > .seconds(9) && retryAfter <= .seconds(10))
    }

    @Test func clientErrorsNeitherTripNorResetTheRun() {
        let b = Self.breaker { $0.consecutiveFailures = 2 }
        for k in 0..<100 { Self.request(b, .neutral, at: Double(k) * 0.01) }
        #expect(b.state == .closed)
        Self.request(b, .failure, at: 1)
        Self.request(b, .neutral, at: 1.1)
        Self.request(b, .failure, at: 1.2)
        #expect(b.state == .open)
    }

    @Test func afterOpenSecondsOneProbeIsLetThroughAndItsSuccessCloses() {
        let b = Self.breaker { $0.consecutiveFailures = 1 }
        Self.request(b, .failure, at: 0)
        #expect(b.state == .open)
        #expect(b.admit(now: Self.t0 + .seconds(9)) != .pass)
        let probeAt = Self.t0 + .seconds(10)
        #expect(b.admit(now: probeAt) == .probe)
        #expect(b.state == .halfOpen)
        // While the probe runs, everyone else still goes to the fallback.
        #expect(b.admit(now: probeAt) == .reject(retryAfter: .zero))
        b.record(.success, latency: .milliseconds(1), permit: .probe, now: probeAt)
        #expect(b.state == .closed)
        #expect(b.admit(now: probeAt) == .pass)
        #expect(b.trips == 1)
    }

    @Test func aFailedProbeReopensForAnotherPeriod() {
        let b = Self.breaker { $0.consecutiveFailures = 1 }
        Self.request(b, .failure, at: 0)
        #expect(Self.request(b, .failure, at: 10) == .probe)
        #expect(b.state == .open)
        #expect(b.admit(now: Self.t0 + .seconds(19)) != .pass)
        #expect(b.admit(now: Self.t0 + .seconds(20)) == .probe)
        #expect(b.trips == 1)  // reopening is the same trip
    }

    @Test func aProbeThatFailsOnTheClientLetsTheNextRequestProbe() {
        let b = Self.breaker { $0.consecutiveFailures = 1 }
        Self.request(b, .failure, at: 0)
        #expect(Self.request(b, .neutral, at: 10) == .probe)
        #expect(b.state == .halfOpen)
        #expect(Self.request(b, .success, at: 10.1) == .probe)
        #expect(b.state == .closed)
    }

    @Test func theErrorRateTripsOnlyWithEnoughRequests() {
        let b = Self.breaker {
            $0.consecutiveFailures = nil
            $0.errorRate = 0.5
            $0.minimumRequests = 20
        }
        // 10 failures in 19 requests: over half, but fewer than min_requests.
        for k in 0..<19 { Self.request(b, k % 2 == 0 ? .failure : .success, at: Double(k) * 0.1) }
        #expect(b.state == .closed)
        Self.request(b, .failure, at: 2)  // 11 of 20
        #expect(b.state == .open)
    }

    @Test func failuresOutsideTheWindowNoLongerCount() {
        let b = Self.breaker {
            $0.consecutiveFailures = nil
            $0.errorRate = 0.5
            $0.minimumRequests = 10
            $0.window = .seconds(10)
        }
        for k in 0..<9 { Self.request(b, .failure, at: Double(k) * 0.1) }
        // Long after, the old failures have slid out: nine successes and one failure.
        for k in 0..<9 { Self.request(b, .success, at: 30 + Double(k) * 0.1) }
        Self.request(b, .failure, at: 31)
        #expect(b.state == .closed)
    }

    @Test func p99LatencyOverTheLimitTrips() {
        let b = Self.breaker {
            $0.consecutiveFailures = nil
            $0.p99LatencyMs = 500
            $0.minimumRequests = 100
        }
        // 100 requests with one slow one: the p99 (nearest rank) is still fast.
        for k in 0..<100 { Self.request(b, .success, at: Double(k) * 0.01, latencyMs: k == 50 ? 900 : 5) }
        #expect(b.state == .closed)
        // A second slow one puts more than 1 % over the limit.
        Self.request(b, .success, at: 1.5, latencyMs: 900)
        #expect(b.state == .open)
    }

    @Test func outcomesOfRequestsAdmittedBeforeItOpenedAreIgnored() {
        let b = Self.breaker { $0.consecutiveFailures = 1 }
        let early = b.admit(now: Self.t0)
        Self.request(b, .failure, at: 0)
        #expect(b.state == .open)
        b.record(.success, latency: .milliseconds(1), permit: early, now: Self.t0 + .milliseconds(1))
        #expect(b.state == .open)
    }
}
