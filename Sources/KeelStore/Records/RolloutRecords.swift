import Foundation

/// One rollout as stored: its model, state and the whole plan and progress as a JSON document
/// (`KeelRegistry.Rollout`), so a restarted server resumes it at its step.
public struct RolloutRecord: Sendable, Equatable {
    public var id: Int64
    public var model: String
    /// `running`, `paused`, `promoted`, `rolled_back` or `aborted`.
    public var state: String
    public var document: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: Int64 = 0, model: String, state: String, document: String, createdAt: Date = Date(), updatedAt: Date = Date()) {
        self.id = id
        self.model = model
        self.state = state
        self.document = document
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The states a rollout is still in progress in (at most one per model).
    public static let activeStates = ["running", "paused"]
}

/// One step of a rollout's history: a start, an analysis, a weight change, a decision.
public struct RolloutEventRecord: Sendable, Equatable {
    public var id: Int64
    public var rolloutID: Int64
    public var at: Date
    public var kind: String
    public var message: String
    /// JSON details (check values, weights).
    public var details: String?

    public init(id: Int64 = 0, rolloutID: Int64, at: Date = Date(), kind: String, message: String, details: String? = nil) {
        self.id = id
        self.rolloutID = rolloutID
        self.at = at
        self.kind = kind
        self.message = message
        self.details = details
    }
}
