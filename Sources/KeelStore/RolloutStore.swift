import Foundation
import KeelCore

/// The rollout reads of a unit of work (see `StoreSnapshot`).
public protocol RolloutSnapshot {
    /// A model's rollouts, newest first.
    func rollouts(model: String, limit: Int) async throws(KeelError) -> [RolloutRecord]
    /// Every running or paused rollout (at most one per model), oldest first.
    func activeRollouts() async throws(KeelError) -> [RolloutRecord]
    func rollout(id: Int64) async throws(KeelError) -> RolloutRecord?
    /// A rollout's history, oldest first.
    func rolloutEvents(rolloutID: Int64, limit: Int) async throws(KeelError) -> [RolloutEventRecord]
    /// Every replica's counts during one step, summed per version (the largest difference is the maximum).
    func rolloutOutcomes(rolloutID: Int64, step: Int) async throws(KeelError) -> [String: RolloutOutcomeRecord]
}

/// One replica's counts for one version during one rollout step.
public struct RolloutOutcomeRecord: Sendable, Equatable {
    public var rolloutID: Int64
    public var step: Int
    public var version: String
    public var requests: Int64
    public var errors: Int64
    /// Shadow rows compared with the stable version's answers, and those with the same label.
    public var compared: Int64
    public var agreed: Int64
    public var absDiffSum: Double
    public var absDiffMax: Double
    /// Times the version's circuit breaker opened during the step.
    public var trips: Int64

    public init(
        rolloutID: Int64, step: Int, version: String, requests: Int64, errors: Int64, compared: Int64 = 0, agreed: Int64 = 0,
        absDiffSum: Double = 0, absDiffMax: Double = 0, trips: Int64 = 0
    ) {
        self.trips = trips
        self.rolloutID = rolloutID
        self.step = step
        self.version = version
        self.requests = requests
        self.errors = errors
        self.compared = compared
        self.agreed = agreed
        self.absDiffSum = absDiffSum
        self.absDiffMax = absDiffMax
    }
}

/// The rollout changes of a unit of work (see `StoreTransaction`); lock the model first.
public protocol RolloutTransaction: RolloutSnapshot {
    /// Stores a new rollout and returns its id.
    func createRollout(_ rollout: RolloutRecord) async throws(KeelError) -> Int64
    /// Replaces a rollout's state and document.
    func updateRollout(id: Int64, state: String, document: String, at: Date) async throws(KeelError)
    @discardableResult
    func appendRolloutEvent(_ event: RolloutEventRecord) async throws(KeelError) -> Int64
    /// Replaces this replica's counts (they are cumulative per step on the replica).
    func saveRolloutOutcomes(replica: String, _ outcomes: [RolloutOutcomeRecord], at: Date) async throws(KeelError)
}
