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
}

/// The rollout changes of a unit of work (see `StoreTransaction`); lock the model first.
public protocol RolloutTransaction: RolloutSnapshot {
    /// Stores a new rollout and returns its id.
    func createRollout(_ rollout: RolloutRecord) async throws(KeelError) -> Int64
    /// Replaces a rollout's state and document.
    func updateRollout(id: Int64, state: String, document: String, at: Date) async throws(KeelError)
    @discardableResult
    func appendRolloutEvent(_ event: RolloutEventRecord) async throws(KeelError) -> Int64
}
