import Foundation
import KeelCore
import Synchronization

/// A rate: `rate` requests a second on average, bursts of up to `burst`.
public struct RateLimit: Sendable, Equatable {
    public var rate: Double
    public var burst: Int

    public init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = burst
    }

    /// `RATE` or `RATE:BURST` (requests a second; the burst defaults to the rate, at least 1).
    public init(parsing text: String) throws(KeelError) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard text.utf8.count <= 40, let rate = Double(parts[0]), rate.isFinite, rate > 0, rate <= 1_000_000 else {
            throw .invalidInput("rate limit '\(text.prefix(40))' must be RATE or RATE:BURST with RATE requests a second in (0, 1000000]")
        }
        var burst = max(1, Int(rate.rounded(.up)))
        if parts.count == 2 {
            guard let b = Int(parts[1]), b >= 1, b <= 10_000_000 else {
                throw .invalidInput("rate limit '\(text.prefix(40))': BURST must be an integer in 1...10000000")
            }
            burst = b
        }
        self.rate = rate
        self.burst = burst
    }
}

/// Token buckets by caller (an API key's id, or a client address for anonymous traffic), one
/// set per replica. The table is bounded: when it is full, buckets that have refilled (idle
/// callers) are forgotten first, since forgetting a full bucket changes nothing.
public final class RateLimiter: Sendable {
    public let limit: RateLimit
    let maxCallers: Int
    private struct Bucket {
        var tokens: Double
        var at: Double
    }
    private let buckets = Mutex<[String: Bucket]>([:])
    private let start = ContinuousClock.now

    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        public var remaining: Int
        /// Seconds until the bucket is full again.
        public var resetSeconds: Int
        /// Seconds until the next request is allowed (0 when this one was).
        public var retryAfterSeconds: Int
    }

    public init(_ limit: RateLimit, maxCallers: Int = 100_000) {
        self.limit = limit
        self.maxCallers = max(16, maxCallers)
    }

    /// Callers with a bucket now.
    var count: Int { buckets.withLock { $0.count } }

    /// Seconds since the limiter started (monotonic).
    func now() -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// Takes one token from `caller`'s bucket at time `now` (seconds, monotonic).
    public func take(_ caller: String, now: Double? = nil) -> Decision {
        let t = now ?? self.now()
        let capacity = Double(limit.burst)
        let rate = limit.rate
        return buckets.withLock { table in
            if table[caller] == nil, table.count >= maxCallers {
                table = table.filter { min(capacity, $0.value.tokens + (t - $0.value.at) * rate) < capacity }
                if table.count >= maxCallers { table.removeAll(keepingCapacity: true) }
            }
            var bucket = table[caller] ?? Bucket(tokens: capacity, at: t)
            bucket.tokens = min(capacity, bucket.tokens + max(0, t - bucket.at) * rate)
            bucket.at = t
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            table[caller] = bucket
            let reset = Int(((capacity - bucket.tokens) / rate).rounded(.up).clamped(0, 86_400))
            let retry = allowed ? 0 : max(1, Int(((1 - bucket.tokens) / rate).rounded(.up).clamped(1, 86_400)))
            return Decision(allowed: allowed, remaining: Int(bucket.tokens.rounded(.down).clamped(0, capacity)), resetSeconds: reset, retryAfterSeconds: retry)
        }
    }
}

extension Double {
    fileprivate func clamped(_ low: Double, _ high: Double) -> Double { Swift.min(high, Swift.max(low, self)) }
}
