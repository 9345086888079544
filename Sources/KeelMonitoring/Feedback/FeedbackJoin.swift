import Foundation
import KeelCore
import KeelStore

/// One ground-truth label: for an entity, what really happened, and when.
public struct FeedbackItem: Sendable, Equatable {
    public var entityID: String
    /// As sent: a class name, a class index, a boolean or a number.
    public var label: String
    /// The label as a number when it is one.
    public var labelValue: Double?
    /// When it happened; the label belongs to the latest prediction at or before this time.
    public var time: Date?

    public init(entityID: String, label: String, labelValue: Double? = nil, time: Date? = nil) {
        self.entityID = entityID
        self.label = label
        self.labelValue = labelValue
        self.time = time
    }

    /// Most items one request may carry.
    public static let maxItems = 10_000

    /// `{"feedback": [{"entity_id", "label", "time"?}, …]}`; a malformed item is a 400
    /// naming its index and field.
    public static func parse(_ body: JSONValue, maxItems: Int = maxItems) throws(KeelError) -> [FeedbackItem] {
        guard let list = body["feedback"]?.arrayValue else {
            throw .invalidInput("body must be {\"feedback\": [{\"entity_id\": …, \"label\": …, \"time\"?: …}, …]}")
        }
        guard !list.isEmpty else { throw .invalidInput("'feedback' is empty") }
        guard list.count <= maxItems else {
            throw KeelError(.payloadTooLarge, "'feedback' holds \(list.count) items; one request may carry at most \(maxItems)")
        }
        var out: [FeedbackItem] = []
        out.reserveCapacity(list.count)
        let times = TimeParser()
        for (i, item) in list.enumerated() {
            guard item.objectValue != nil else { throw .invalidInput("feedback[\(i)] must be an object") }
            let entity: String
            switch item["entity_id"] {
            case .string(let s)?: entity = s
            case .number(let d)? where d.isFinite && d == d.rounded() && abs(d) < 1e15: entity = String(Int64(d))
            default: throw .invalidInput("feedback[\(i)].entity_id must be a string")
            }
            guard !entity.isEmpty, entity.utf8.count <= 256 else { throw .invalidInput("feedback[\(i)].entity_id must be 1–256 bytes") }
            var value: Double?
            let label: String
            switch item["label"] {
            case .string(let s)?:
                guard !s.isEmpty, s.utf8.count <= 256 else { throw .invalidInput("feedback[\(i)].label must be 1–256 bytes") }
                label = s
                value = Double(s).flatMap { $0.isFinite ? $0 : nil }
            case .number(let d)?:
                guard d.isFinite else { throw .invalidInput("feedback[\(i)].label must be a finite number") }
                label = d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
                value = d
            case .bool(let b)?:
                label = b ? "true" : "false"
                value = b ? 1 : 0
            default:
                throw .invalidInput("feedback[\(i)].label must be a class name, a class index, a boolean or a number")
            }
            var time: Date?
            switch item["time"] {
            case nil, .null?: break
            case .number(let d)?:
                guard d.isFinite, d >= 0, d < 1e11 else { throw .invalidInput("feedback[\(i)].time must be seconds since 1970 or an ISO 8601 time") }
                time = Date(timeIntervalSince1970: d)
            case .string(let s)?:
                guard let t = times.parse(s) else { throw .invalidInput("feedback[\(i)].time '\(s.prefix(40))' is not an ISO 8601 time") }
                time = t
            default:
                throw .invalidInput("feedback[\(i)].time must be seconds since 1970 or an ISO 8601 time")
            }
            out.append(FeedbackItem(entityID: entity, label: label, labelValue: value, time: time))
        }
        return out
    }

}

/// ISO 8601 times with or without fractional seconds (formatters made once per request).
struct TimeParser {
    let plain = ISO8601DateFormatter()
    let fractional: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()

    func parse(_ s: String) -> Date? {
        plain.date(from: s) ?? fractional.date(from: s)
    }
}

/// How a feedback call went: labels joined to a prediction, and those that found none.
public struct FeedbackOutcome: Sendable, Equatable {
    public var matched: Int
    public var unmatched: Int
    /// The first entities that matched nothing (at most 100).
    public var unmatchedEntities: [String]
}

/// Joins labels to the predictions they label — the latest logged prediction of the entity
/// at or before the label's time — in one transaction; a repeated label for the same
/// prediction replaces the earlier one, and unmatched labels are kept and counted.
public enum FeedbackJoin {
    public static func submit(_ items: [FeedbackItem], model: String, store: any Store, now: Date = Date()) async throws(KeelError) -> FeedbackOutcome {
        try await store.write { tx throws(KeelError) in
            var joined: [FeedbackRecord] = []
            var unmatched: [UnmatchedFeedbackRecord] = []
            for item in items {
                let time = item.time ?? now
                if let p = try await tx.latestPrediction(model: model, entityID: item.entityID, atOrBefore: time) {
                    joined.append(FeedbackRecord(
                        predictionID: p.id, model: model, version: p.version, arm: p.arm, entityID: item.entityID, predictedAt: p.at,
                        score: p.score, predictedLabel: p.label, outputs: p.outputs, label: item.label, labelValue: item.labelValue,
                        labelAt: time, receivedAt: now))
                } else {
                    unmatched.append(UnmatchedFeedbackRecord(model: model, entityID: item.entityID, label: item.label, labelAt: time, receivedAt: now))
                }
            }
            try await tx.saveFeedback(joined)
            try await tx.appendUnmatchedFeedback(unmatched)
            return FeedbackOutcome(matched: joined.count, unmatched: unmatched.count, unmatchedEntities: Array(unmatched.prefix(100).map(\.entityID)))
        }
    }
}
