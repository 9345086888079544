import Foundation
import KeelCore
import KeelStore

/// Quality of a version on its labelled predictions in a window, with how many labels there
/// were and how many found no prediction.
public struct LiveQuality: Sendable, Equatable {
    public var model: String
    public var version: String
    public var window: Window
    public var labelled: Int
    public var unmatched: Int
    /// Labels that name no class of the model (counted, not used).
    public var unusable: Int
    public var report: QualityReport

    /// `{"model", "version", "window", "labelled", "unmatched", "metrics", …}`.
    public var json: JSONValue {
        var metrics: [String: JSONValue] = [:]
        for (k, v) in report.metrics { metrics[k] = v.map { .number($0) } ?? .null }
        var o: [String: JSONValue] = [
            "model": .string(model), "version": .string(version), "window": .string(window.description),
            "labelled": .number(Double(labelled)), "unmatched": .number(Double(unmatched)), "unusable_labels": .number(Double(unusable)),
            "metrics": .object(metrics),
        ]
        if let m = report.confusionMatrix { o["confusion_matrix"] = .array(m.map { .array($0.map { .number(Double($0)) }) }) }
        if let bins = report.calibration {
            o["calibration"] = .array(bins.map { b in
                .object([
                    "lower": .number(b.lower), "upper": .number(b.upper), "count": .number(Double(b.count)),
                    "mean_predicted": b.meanPredicted.map { .number($0) } ?? .null, "observed_rate": b.observedRate.map { .number($0) } ?? .null,
                ])
            })
        }
        return .object(o)
    }

    /// Reads the window's labelled predictions and computes the task's metrics.
    public static func compute(
        store: any Store, model: String, version: String, window: Window, profile: OutputProfile, now: Date = Date()
    ) async throws(KeelError) -> LiveQuality {
        let (since, limit) = window.bounds(now: now)
        let multiclass = profile.task == .multiclass
        var rows: [FeedbackRecord] = []
        var before: Int64?
        while rows.count < limit {
            let pageSize = min(50_000, limit - rows.count)
            let page = try await store.read { db throws(KeelError) in
                try await db.labelledPredictions(
                    model: model, version: version, since: since, beforeID: before, limit: pageSize, withOutputs: multiclass)
            }
            rows += page
            guard let last = page.last, page.count == pageSize else { break }
            before = last.predictionID
        }
        let unmatched = try await store.read { db throws(KeelError) in try await db.unmatchedFeedbackCount(model: model, since: since) }
        var unusable = 0
        let report: QualityReport
        switch profile.task {
        case .binary, .unknown:
            var labels: [Int] = [], scores: [Double] = [], predicted: [Int] = []
            labels.reserveCapacity(rows.count)
            for r in rows {
                guard let y = profile.classIndex(of: r.label), let s = r.score else { unusable += 1; continue }
                labels.append(y == profile.positiveClass ? 1 : 0)
                scores.append(s)
                let p = r.predictedLabel.flatMap(profile.classIndex) ?? (s > 0.5 ? profile.positiveClass : 1 - profile.positiveClass)
                predicted.append(p == profile.positiveClass ? 1 : 0)
            }
            report = try quality { () throws(MonitoringError) in try ClassificationQuality.binary(labels: labels, scores: scores, predicted: predicted) }
        case .multiclass:
            var labels: [Int] = [], probabilities: [[Double]] = [], predicted: [Int] = []
            for r in rows {
                guard let y = profile.classIndex(of: r.label), let row = classScores(r.outputs, profile: profile) else { unusable += 1; continue }
                labels.append(y)
                probabilities.append(row)
                predicted.append(r.predictedLabel.flatMap(profile.classIndex) ?? (row.indices.max { row[$0] < row[$1] } ?? 0))
            }
            report = try quality { () throws(MonitoringError) in
                try ClassificationQuality.multiclass(labels: labels, probabilities: probabilities, predicted: predicted)
            }
        case .regression:
            var targets: [Double] = [], predictions: [Double] = []
            for r in rows {
                guard let y = r.labelValue, let p = r.score else { unusable += 1; continue }
                targets.append(y)
                predictions.append(p)
            }
            report = try quality { () throws(MonitoringError) in try RegressionQuality.compute(targets: targets, predictions: predictions) }
        }
        return LiveQuality(model: model, version: version, window: window, labelled: rows.count, unmatched: unmatched, unusable: unusable, report: report)
    }

    private static func quality(_ f: () throws(MonitoringError) -> QualityReport) throws(KeelError) -> QualityReport {
        do { return try f() } catch { throw error.keelError }
    }

    /// Class probabilities in label order from a logged `outputs` object's `scores`.
    static func classScores(_ outputs: String, profile: OutputProfile) -> [Double]? {
        guard let doc = try? JSONParser.parse(Array(outputs.utf8), errorCode: .invalidInput), let scores = doc["scores"]?.objectValue else { return nil }
        let labels = profile.classLabels
        guard !labels.isEmpty else { return nil }
        var row: [Double] = []
        for l in labels {
            guard let v = scores[l]?.doubleValue else { return nil }
            row.append(v)
        }
        return row
    }
}
