import Foundation
import KeelCore
import KeelStore

/// The kinds of monitoring event Keel raises.
public enum MonitoringEventKind: String, Sendable, CaseIterable {
    case driftStarted = "drift_started"
    case driftEnded = "drift_ended"
    case qualityBelowFloor = "quality_below_floor"
    case qualityRecovered = "quality_recovered"
    case feedbackJoinRateLow = "feedback_join_rate_low"
    case rollout = "rollout"
}

extension MonitoringEventRecord {
    /// The event as the API and webhooks show it.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "id": .number(Double(id)), "at": .string(ISO8601DateFormatter().string(from: at)), "model": .string(model),
            "version": version.map { .string($0) } ?? .null, "kind": .string(kind), "severity": .string(severity), "message": .string(message),
        ]
        if let details, let parsed = try? JSONParser.parse(Array(details.utf8), errorCode: .invalidInput) { o["details"] = parsed }
        return .object(o)
    }
}
