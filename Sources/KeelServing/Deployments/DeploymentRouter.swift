import KeelCore
import Synchronization

/// How a model's traffic is split while a rollout runs: the candidate's share and how
/// requests are assigned.
public struct TrafficSplit: Sendable, Equatable {
    public var rolloutID: Int64
    public var candidate: String
    public var stable: String
    /// The candidate's share, 0…100 percent.
    public var weight: Double
    /// Sticky by entity id (a hash of the id and the rollout id) rather than random.
    public var sticky: Bool
    /// The rollout's step (outcomes are counted per step).
    public var step: Int
    /// The share of requests copied to a shadow candidate, 0…100 percent.
    public var mirror: Double
    /// An experiment's arms (empty for a rollout): each request goes to one arm by weight.
    public var arms: [SplitArm]

    public init(
        rolloutID: Int64, candidate: String, stable: String, weight: Double, sticky: Bool, step: Int = 0, mirror: Double = 0, arms: [SplitArm] = []
    ) {
        self.rolloutID = rolloutID
        self.candidate = candidate
        self.stable = stable
        self.weight = weight
        self.sticky = sticky
        self.step = step
        self.mirror = mirror
        self.arms = arms
    }

    /// The weight as a bucket bound out of 10 000 (basis points).
    var bound: UInt64 { UInt64(max(0, min(10_000, (weight * 100).rounded()))) }
}

/// One arm of an experiment as the router sees it: its version and its share.
public struct SplitArm: Sendable, Equatable {
    public var name: String
    public var version: String
    /// Percent of the experiment's traffic, 0…100.
    public var weight: Double

    public init(name: String, version: String, weight: Double) {
        self.name = name
        self.version = version
        self.weight = weight
    }
}

/// Which arm a request or row was served by; logged with every prediction (an experiment's
/// rows are logged as `experiment`, their version naming the arm).
public enum DeploymentArm: String, Sendable {
    case stable, canary, experiment
}

/// Requests and server-side failures of one version during one rollout step on this replica.
public struct OutcomeCount: Sendable, Equatable {
    public var requests: Int64 = 0
    public var errors: Int64 = 0
    /// Shadow rows compared with the stable answers, those with the same label, and the score differences.
    public var compared: Int64 = 0
    public var agreed: Int64 = 0
    public var absDiffSum: Double = 0
    public var absDiffMax: Double = 0
    /// Times the version's circuit breaker opened.
    public var trips: Int64 = 0
}

/// Which counts an outcome adds to.
public struct OutcomeKey: Sendable, Hashable {
    public var rolloutID: Int64
    public var step: Int
    public var version: String

    public init(rolloutID: Int64, step: Int, version: String) {
        self.rolloutID = rolloutID
        self.step = step
        self.version = version
    }
}

/// Decides per request (or per row of a records request) which version serves it. Every
/// replica installs the same splits from the store, and a sticky assignment is a pure
/// function of the entity id and the rollout id, so a customer sees one version on every
/// replica for the rollout's life. Routing takes one lock and one hash per key.
public final class DeploymentRouter: Sendable {
    private let splits = Mutex<[String: TrafficSplit]>([:])
    private let outcomes = Mutex<[OutcomeKey: OutcomeCount]>([:])
    private let counter = Atomic<UInt64>(0)
    private let seed: UInt64

    public init() {
        var g = SystemRandomNumberGenerator()
        seed = g.next()
    }

    /// Replaces every split (model → split); models without one serve their stable version.
    /// Outcome counts of rollouts no longer installed are dropped.
    public func install(_ new: [String: TrafficSplit]) {
        splits.withLock { $0 = new }
        let live = Set(new.values.map(\.rolloutID))
        outcomes.withLock { o in o = o.filter { live.contains($0.key.rolloutID) } }
    }

    /// Counts one request a rollout's version answered (or failed on the server's side).
    public func record(_ split: TrafficSplit, version: String, failed: Bool) {
        let key = OutcomeKey(rolloutID: split.rolloutID, step: split.step, version: version)
        outcomes.withLock { o in
            o[key, default: OutcomeCount()].requests &+= 1
            if failed { o[key, default: OutcomeCount()].errors &+= 1 }
        }
    }

    /// Counts one opening of a rollout version's circuit breaker.
    public func recordTrip(_ split: TrafficSplit, version: String) {
        let key = OutcomeKey(rolloutID: split.rolloutID, step: split.step, version: version)
        outcomes.withLock { o in o[key, default: OutcomeCount()].trips &+= 1 }
    }

    /// Adds a shadow comparison of `rows` rows.
    public func recordShadow(_ split: TrafficSplit, version: String, rows: Int64, agreed: Int64, absDiffSum: Double, absDiffMax: Double) {
        let key = OutcomeKey(rolloutID: split.rolloutID, step: split.step, version: version)
        outcomes.withLock { o in
            var c = o[key, default: OutcomeCount()]
            c.compared &+= rows
            c.agreed &+= agreed
            c.absDiffSum += absDiffSum
            c.absDiffMax = max(c.absDiffMax, absDiffMax)
            o[key] = c
        }
    }

    /// Whether this request is copied to the shadow candidate (a draw per request).
    public func mirrors(_ split: TrafficSplit) -> Bool {
        let bound = UInt64(max(0, min(10_000, (split.mirror * 100).rounded())))
        if bound == 0 { return false }
        return bound >= 10_000 || Self.mix(seed &+ counter.wrappingAdd(1, ordering: .relaxed).newValue) % 10_000 < bound
    }

    /// This replica's counts so far (the rollout controller stores them for the leader).
    public var outcomeCounts: [OutcomeKey: OutcomeCount] { outcomes.withLock { $0 } }

    /// The model's split when its candidate takes any traffic.
    public func split(for model: String) -> TrafficSplit? {
        splits.withLock { s in s.isEmpty ? nil : s[model] }
    }

    public var all: [String: TrafficSplit] { splits.withLock { $0 } }

    /// The arm for one key: sticky splits hash the key with the rollout id, others draw per call.
    public func arm(_ split: TrafficSplit, key: String) -> DeploymentArm {
        let bound = split.bound
        if bound == 0 { return .stable }
        if bound >= 10_000 { return .canary }
        let h = split.sticky ? Self.stickyHash(rolloutID: split.rolloutID, key: key) : Self.mix(seed &+ counter.wrappingAdd(1, ordering: .relaxed).newValue)
        return h % 10_000 < bound ? .canary : .stable
    }

    /// The index of the experiment arm serving `key`: sticky splits hash the key with the
    /// experiment's id, others draw per call; arms take consecutive ranges of 10 000 buckets.
    public func armIndex(_ split: TrafficSplit, key: String) -> Int {
        let arms = split.arms
        guard arms.count > 1 else { return 0 }
        let h = split.sticky ? Self.stickyHash(rolloutID: split.rolloutID, key: key) : Self.mix(seed &+ counter.wrappingAdd(1, ordering: .relaxed).newValue)
        let bucket = Double(h % 10_000)
        var upper = 0.0
        for (i, arm) in arms.enumerated() {
            upper += arm.weight * 100
            if bucket < upper.rounded() { return i }
        }
        return arms.count - 1
    }

    /// FNV-1a over the rollout id's bytes and the key's UTF-8, finished with a mixer so
    /// neighbouring ids spread evenly over the buckets.
    static func stickyHash(rolloutID: Int64, key: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        var id = UInt64(bitPattern: rolloutID)
        for _ in 0..<8 {
            h = (h ^ (id & 0xFF)) &* 0x0000_0100_0000_01B3
            id >>= 8
        }
        var k = key
        k.withUTF8 { bytes in
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        return mix(h)
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
