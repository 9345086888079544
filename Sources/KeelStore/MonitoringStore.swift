import Foundation
import KeelCore

/// Which logged predictions to list.
public struct PredictionQuery: Sendable, Equatable {
    public var model: String
    public var version: String?
    public var entityID: String?
    public var since: Date?
    /// Only predictions with a smaller id (paging backwards).
    public var beforeID: Int64?
    public var limit: Int

    public init(model: String, version: String? = nil, entityID: String? = nil, since: Date? = nil, beforeID: Int64? = nil, limit: Int = 100) {
        self.model = model
        self.version = version
        self.entityID = entityID
        self.since = since
        self.beforeID = beforeID
        self.limit = limit
    }
}

/// What drift needs of one logged prediction: its compact inputs and score.
public struct PredictionSignal: Sendable, Equatable {
    public var id: Int64
    public var features: String?
    public var encoded: String?
    public var score: Double?
}

/// The monitoring reads of a unit of work (see `StoreSnapshot`).
public protocol MonitoringSnapshot {
    /// Logged predictions, newest first.
    func predictions(_ query: PredictionQuery) async throws(KeelError) -> [PredictionLogRecord]
    /// The newest prediction for an entity made at or before `time`: the one its label belongs to.
    func latestPrediction(model: String, entityID: String, atOrBefore time: Date) async throws(KeelError) -> PredictionLogRecord?
    /// Compact inputs and scores of a version's predictions, newest first, paging by id.
    func predictionSignals(model: String, version: String, since: Date?, beforeID: Int64?, limit: Int) async throws(KeelError) -> [PredictionSignal]
    /// Labelled predictions of a version, newest prediction first, paging by prediction id;
    /// `outputs` is left empty unless asked for (multi-class quality needs the probabilities).
    func labelledPredictions(model: String, version: String, since: Date?, beforeID: Int64?, limit: Int, withOutputs: Bool) async throws(KeelError) -> [FeedbackRecord]
    /// Labels received for the model that matched no prediction.
    func unmatchedFeedbackCount(model: String, since: Date?) async throws(KeelError) -> Int
    /// The newest reference profile of a version.
    func referenceProfile(model: String, version: String) async throws(KeelError) -> ReferenceProfileRecord?
    /// Monitoring events, newest first; `model` nil for every model.
    func monitoringEvents(model: String?, since: Date?, limit: Int) async throws(KeelError) -> [MonitoringEventRecord]
    /// The latest background result of a kind for a version.
    func monitoringResult(model: String, version: String, kind: String) async throws(KeelError) -> MonitoringResultRecord?
    /// Who holds a lease and until when.
    func lease(named name: String) async throws(KeelError) -> (holder: String, expiresAt: Date)?
}

/// The monitoring changes of a unit of work (see `StoreTransaction`).
public protocol MonitoringTransaction: MonitoringSnapshot {
    /// Appends predictions (many rows per statement).
    func appendPredictions(_ records: [PredictionLogRecord]) async throws(KeelError)
    /// Stores labels; a label for a prediction that already has one replaces it.
    func saveFeedback(_ records: [FeedbackRecord]) async throws(KeelError)
    func appendUnmatchedFeedback(_ records: [UnmatchedFeedbackRecord]) async throws(KeelError)
    /// Deletes predictions (and labels, and unmatched labels) older than `olderThan`, and
    /// predictions beyond the newest `keepNewest`; returns how many predictions went.
    func pruneMonitoring(olderThan: Date?, keepNewest: Int?) async throws(KeelError) -> Int
    @discardableResult
    func appendReferenceProfile(_ profile: ReferenceProfileRecord) async throws(KeelError) -> Int64
    @discardableResult
    func appendMonitoringEvent(_ event: MonitoringEventRecord) async throws(KeelError) -> Int64
    func saveMonitoringResult(_ result: MonitoringResultRecord) async throws(KeelError)
    /// Takes or renews the lease for `holder` until `until`; false while another holder's
    /// lease has not expired at `now`.
    func acquireLease(named name: String, holder: String, until: Date, now: Date) async throws(KeelError) -> Bool
    /// Gives the lease up when `holder` has it.
    func releaseLease(named name: String, holder: String) async throws(KeelError)
}
