import Foundation
import KeelCore

/// What serving hands the prediction log after answering one request: the request's own
/// tensors and records (shared, not copied), so turning them into log rows happens later,
/// on the writer's task, never on the request path.
public struct PredictionEvent: Sendable {
    public var at: Date
    public var model: String
    public var version: String
    public var arm: String
    public var requestID: String
    /// One per row; nil: `<request id>:<row>`.
    public var entityIDs: [String]?
    /// The raw records (records API), one per row.
    public var records: [[String: JSONValue]]?
    public var inputs: [String: Tensor]
    public var outputs: [String: Tensor]
    public var latencyMs: Double
    /// How the version's rows are written (shared by all its events).
    public var layout: LogLayout
    /// The answer came from the version's prediction cache (logged as `"cached": true` in each
    /// row's outputs).
    public var cached: Bool
    public var profile: OutputProfile { layout.profile }

    public init(
        at: Date = Date(), model: String, version: String, arm: String = "stable", requestID: String, entityIDs: [String]? = nil,
        records: [[String: JSONValue]]? = nil, inputs: [String: Tensor], outputs: [String: Tensor], latencyMs: Double, layout: LogLayout,
        cached: Bool = false
    ) {
        self.at = at
        self.model = model
        self.version = version
        self.arm = arm
        self.requestID = requestID
        self.entityIDs = entityIDs
        self.records = records
        self.inputs = inputs
        self.outputs = outputs
        self.latencyMs = latencyMs
        self.layout = layout
        self.cached = cached
    }

    /// An event with a layout of its own (tests, benchmarks); serving passes the version's.
    public init(
        at: Date = Date(), model: String, version: String, arm: String = "stable", requestID: String, entityIDs: [String]? = nil,
        records: [[String: JSONValue]]? = nil, inputs: [String: Tensor], outputs: [String: Tensor], latencyMs: Double, profile: OutputProfile
    ) {
        self.init(
            at: at, model: model, version: version, arm: arm, requestID: requestID, entityIDs: entityIDs, records: records,
            inputs: inputs, outputs: outputs, latencyMs: latencyMs, layout: LogLayout(profile: profile))
    }

    /// Rows in the request (the first dimension of its outputs, or of its records).
    public var rows: Int {
        if let records { return records.count }
        return outputs.values.first?.shape.first ?? inputs.values.first?.shape.first ?? 0
    }
}
