import Foundation

/// One logged prediction: which version (and arm) answered whom, with what, and how fast.
/// `features` and `encoded` are compact encodings the monitoring module writes and reads
/// (the store only keeps them); `record` and `outputs` are JSON for people and the API.
public struct PredictionLogRecord: Sendable, Equatable {
    public var id: Int64
    public var at: Date
    public var model: String
    public var version: String
    public var arm: String
    public var requestID: String
    public var entityID: String
    public var record: String?
    public var features: String?
    public var encoded: String?
    public var outputs: String
    /// Positive-class probability (binary), top-class probability (multi-class) or the prediction (regression).
    public var score: Double?
    public var label: String?
    public var latencyMs: Double

    public init(
        id: Int64 = 0, at: Date, model: String, version: String, arm: String, requestID: String, entityID: String,
        record: String? = nil, features: String? = nil, encoded: String? = nil, outputs: String, score: Double? = nil,
        label: String? = nil, latencyMs: Double
    ) {
        self.id = id
        self.at = at
        self.model = model
        self.version = version
        self.arm = arm
        self.requestID = requestID
        self.entityID = entityID
        self.record = record
        self.features = features
        self.encoded = encoded
        self.outputs = outputs
        self.score = score
        self.label = label
        self.latencyMs = latencyMs
    }
}

/// A ground-truth label joined to the prediction it labels (one per prediction; a repeated
/// label replaces the earlier one). The prediction's score and label are copied in so live
/// quality reads one table.
public struct FeedbackRecord: Sendable, Equatable {
    public var predictionID: Int64
    public var model: String
    public var version: String
    public var arm: String
    public var entityID: String
    public var predictedAt: Date
    public var score: Double?
    public var predictedLabel: String?
    /// The prediction's outputs JSON (class probabilities for multi-class quality).
    public var outputs: String
    /// The label as sent: a class name, a class index or a number.
    public var label: String
    /// The label as a number when it is one (regression targets, class indexes).
    public var labelValue: Double?
    public var labelAt: Date
    public var receivedAt: Date

    public init(
        predictionID: Int64, model: String, version: String, arm: String, entityID: String, predictedAt: Date, score: Double?,
        predictedLabel: String?, outputs: String, label: String, labelValue: Double?, labelAt: Date, receivedAt: Date
    ) {
        self.predictionID = predictionID
        self.model = model
        self.version = version
        self.arm = arm
        self.entityID = entityID
        self.predictedAt = predictedAt
        self.score = score
        self.predictedLabel = predictedLabel
        self.outputs = outputs
        self.label = label
        self.labelValue = labelValue
        self.labelAt = labelAt
        self.receivedAt = receivedAt
    }
}

/// A label that found no logged prediction for its entity.
public struct UnmatchedFeedbackRecord: Sendable, Equatable {
    public var model: String
    public var entityID: String
    public var label: String
    public var labelAt: Date
    public var receivedAt: Date

    public init(model: String, entityID: String, label: String, labelAt: Date, receivedAt: Date) {
        self.model = model
        self.entityID = entityID
        self.label = label
        self.labelAt = labelAt
        self.receivedAt = receivedAt
    }
}

/// An immutable profile of a version's reference data (its holdout or training sample):
/// `summary` (per-column statistics) and `sample` (the values the drift tests need) are
/// written and read by the monitoring module.
public struct ReferenceProfileRecord: Sendable, Equatable {
    public var id: Int64
    public var model: String
    public var version: String
    /// Where the data came from (`evaluation`, `registration`, …).
    public var source: String
    public var rowCount: Int
    /// Whether `sample` holds a seeded sample rather than every row.
    public var sampled: Bool
    public var seed: Int
    public var summary: String
    public var sample: String
    public var createdBy: String
    public var createdAt: Date

    public init(
        id: Int64 = 0, model: String, version: String, source: String, rowCount: Int, sampled: Bool, seed: Int, summary: String,
        sample: String, createdBy: String, createdAt: Date = Date()
    ) {
        self.id = id
        self.model = model
        self.version = version
        self.source = source
        self.rowCount = rowCount
        self.sampled = sampled
        self.seed = seed
        self.summary = summary
        self.sample = sample
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

/// Something monitoring noticed: drift started or ended, quality below its floor, labels not
/// joining, a rollout decision.
public struct MonitoringEventRecord: Sendable, Equatable {
    public var id: Int64
    public var at: Date
    public var model: String
    public var version: String?
    public var kind: String
    public var severity: String
    public var message: String
    /// JSON with the event's numbers.
    public var details: String?

    public init(id: Int64 = 0, at: Date = Date(), model: String, version: String?, kind: String, severity: String, message: String, details: String? = nil) {
        self.id = id
        self.at = at
        self.model = model
        self.version = version
        self.kind = kind
        self.severity = severity
        self.message = message
        self.details = details
    }
}

/// The latest background result of one kind (`drift`, `quality`) for a version, as JSON, so
/// every replica serves what the one running the monitoring controller computed.
public struct MonitoringResultRecord: Sendable, Equatable {
    public var model: String
    public var version: String
    public var kind: String
    public var computedAt: Date
    public var window: String
    public var report: String

    public init(model: String, version: String, kind: String, computedAt: Date, window: String, report: String) {
        self.model = model
        self.version = version
        self.kind = kind
        self.computedAt = computedAt
        self.window = window
        self.report = report
    }
}
