import Foundation
import KeelCore
import Testing
@testable import KeelMonitoring

/// Live quality and holdout evaluation share one implementation, and it equals scikit-learn's
/// functions on the same pairs (1e-9), with undefined metrics null where scikit-learn warns.
@Suite struct QualityParityTests {
    static func cases() throws -> [JSONValue] { try MonitoringFixtures.json("quality.json").arrayValue ?? [] }

    func compare(_ name: String, _ ours: QualityReport, _ expected: JSONValue) {
        guard let metrics = expected["metrics"]?.objectValue else { Issue.record("\(name): no metrics"); return }
        for (metric, value) in metrics {
            let want = MonitoringFixtures.number(value)
            let got = ours.metrics[metric] ?? nil
            switch (got, want) {
            case (nil, nil): break
            case (let g?, let w?) where w.isNaN: Issue.record("\(name) \(metric): Keel \(g), scikit-learn undefined (NaN); Keel must say null")
            case (nil, let w?) where w.isNaN: break
            case (let g?, let w?): #expect(MonitoringFixtures.close(g, w, 1e-9), "\(name) \(metric): Keel \(g), scikit-learn \(w)")
            default: Issue.record("\(name) \(metric): Keel \(String(describing: got)), scikit-learn \(String(describing: want))")
            }
        }
        if let matrix = expected["confusion_matrix"]?.arrayValue {
            #expect(ours.confusionMatrix == matrix.map { MonitoringFixtures.ints($0) }, "\(name): confusion matrix")
        }
    }

    @Test func everyFixtureCaseMatchesScikitLearn() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 8)
        for c in cases {
            let name = c["name"]?.stringValue ?? "?"
            switch c["task"]?.stringValue {
            case "binary":
                let report = try ClassificationQuality.binary(
                    labels: MonitoringFixtures.ints(c["labels"]), scores: MonitoringFixtures.doubles(c["scores"]),
                    predicted: MonitoringFixtures.ints(c["predicted"]))
                compare(name, report, c)
                let observed = (c["calibration"]?["observed"]?.arrayValue ?? []).map(MonitoringFixtures.number)
                let predicted = (c["calibration"]?["predicted"]?.arrayValue ?? []).map(MonitoringFixtures.number)
                let bins = report.calibration ?? []
                #expect(bins.count == 10)
                for (k, bin) in bins.enumerated() where k < observed.count {
                    #expect(bin.observedRate.map { MonitoringFixtures.close($0, observed[k] ?? .nan, 1e-9) } ?? (observed[k] == nil), "\(name) calibration bin \(k)")
                    #expect(bin.meanPredicted.map { MonitoringFixtures.close($0, predicted[k] ?? .nan, 1e-9) } ?? (predicted[k] == nil), "\(name) calibration bin \(k)")
                }
            case "multiclass":
                let rows = (c["probabilities"]?.arrayValue ?? []).map { MonitoringFixtures.doubles($0) }
                let report = try ClassificationQuality.multiclass(
                    labels: MonitoringFixtures.ints(c["labels"]), probabilities: rows, predicted: MonitoringFixtures.ints(c["predicted"]))
                compare(name, report, c)
            case "regression":
                let report = try RegressionQuality.compute(targets: MonitoringFixtures.doubles(c["targets"]), predictions: MonitoringFixtures.doubles(c["predictions"]))
                compare(name, report, c)
            default:
                Issue.record("unknown task in \(name)")
            }
        }
    }

    @Test func aWindowWithOneClassHasNoAUCRatherThanANumber() throws {
        let report = try ClassificationQuality.binary(labels: [1, 1, 1], scores: [0.9, 0.8, 0.4], predicted: [1, 1, 0])
        #expect(report.metrics["roc_auc"] == .some(nil))
        #expect(report.metrics["accuracy"] == .some(2.0 / 3))
        let empty = try ClassificationQuality.binary(labels: [], scores: [], predicted: [])
        #expect(empty.metrics["accuracy"] == .some(nil))
    }

    @Test func mismatchedLengthsAreAnErrorNotATrap() {
        #expect(throws: MonitoringError.self) { try ClassificationQuality.binary(labels: [1], scores: [0.2, 0.3], predicted: [1]) }
        #expect(throws: MonitoringError.self) { try ClassificationQuality.multiclass(labels: [3], probabilities: [[0.5, 0.5]], predicted: [0]) }
        #expect(throws: MonitoringError.self) { try RegressionQuality.compute(targets: [1], predictions: []) }
    }
}
