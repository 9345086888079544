import Testing
@testable import KeelMonitoring

/// Small cases worked out by hand.
@Suite struct HandCheckedQualityTests {
    @Test func binaryMetricsOnAHandCheckedExample() throws {
        let scores = [0.9, 0.8, 0.3, 0.6, 0.1]
        let m = try ClassificationQuality.binary(labels: [1, 1, 1, 0, 0], scores: scores, predicted: scores.map { $0 > 0.5 ? 1 : 0 }).metrics
        #expect(m["accuracy"] == .some(0.6))
        #expect(abs((m["precision"] ?? nil)! - 2.0 / 3.0) < 1e-12)
        #expect(abs((m["recall"] ?? nil)! - 2.0 / 3.0) < 1e-12)
        // Pairs (pos, neg): 6, correctly ordered: 0.9>0.6, 0.9>0.1, 0.8>0.6, 0.8>0.1, 0.3>0.1 → 5/6.
        #expect(abs((m["roc_auc"] ?? nil)! - 5.0 / 6.0) < 1e-12)
        #expect((m["log_loss"] ?? nil)! > 0)
    }

    @Test func aucAveragesTies() {
        #expect(RankingMetrics.rocAUC(scores: [0.5, 0.5], positives: [true, false]) == 0.5)
        #expect(RankingMetrics.rocAUC(scores: [0.5, 0.5], positives: [true, true]) == nil)
    }

    @Test func regressionMetrics() throws {
        let m = try RegressionQuality.compute(targets: [1, 2, 5], predictions: [1, 2, 3]).metrics
        #expect(abs((m["mae"] ?? nil)! - 2.0 / 3.0) < 1e-12)
        #expect(abs((m["rmse"] ?? nil)! - (4.0 / 3.0).squareRoot()) < 1e-12)
        #expect((m["r2"] ?? nil)! < 1)
        #expect(try RegressionQuality.compute(targets: [2, 2], predictions: [1, 3]).metrics["r2"] == .some(nil))
    }

    @Test func percentilesByNearestRank() {
        let samples = (1...100).map(Double.init)
        #expect(Percentile.nearestRank(samples, 0.5) == 50)
        #expect(Percentile.nearestRank(samples, 0.95) == 95)
        #expect(Percentile.nearestRank([1, 2, 3], .nan) == 0)
    }
}
