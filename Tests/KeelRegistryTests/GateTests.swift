import KeelCore
import KeelRegistry
import Testing

@Suite struct GateTests {
    @Test func parsesOperatorsWithOrWithoutSpaces() throws {
        #expect(try Gate.parse("roc_auc >= 0.85") == Gate(metric: "roc_auc", op: .ge, threshold: 0.85))
        #expect(try Gate.parse("p95_latency_ms<=100") == Gate(metric: "p95_latency_ms", op: .le, threshold: 100))
        #expect(try Gate.parse("size_mb < 500").op == .lt)
        #expect(try Gate.parse("precision > 0.7").op == .gt)
        #expect(try Gate.parse("roc_auc >= 0.85").description == "roc_auc >= 0.85")
    }

    @Test func reportedOKSuffixMarksAGateThatAcceptsReportedValues() throws {
        let gate = try Gate.parse("roc_auc >= 0.85 reported-ok")
        #expect(gate == Gate(metric: "roc_auc", op: .ge, threshold: 0.85, acceptReported: true))
        #expect(gate.description == "roc_auc >= 0.85 reported-ok")
        #expect(try Gate.parse(gate.description) == gate)
        #expect(try Gate.parse("  f1>0.5   Reported-OK ").acceptReported)
        #expect(try Gate.parse("roc_auc >= 0.85").acceptReported == false)
    }

    @Test func reportedValueCountsOnlyForAReportedOKGateAndOnlyWhenNothingWasMeasured() throws {
        let strict = try Gate.parse("roc_auc >= 0.85")
        let lenient = try Gate.parse("roc_auc >= 0.85 reported-ok")
        #expect(!strict.check(measured: [:], reported: ["roc_auc": 0.9]).passed)
        #expect(strict.check(measured: [:], reported: ["roc_auc": 0.9]).source == nil)
        #expect(lenient.check(measured: [:], reported: ["roc_auc": 0.9]).passed)
        #expect(lenient.check(measured: [:], reported: ["roc_auc": 0.9]).source == .reported)
        let both = lenient.check(measured: ["roc_auc": 0.8], reported: ["roc_auc": 0.9])
        #expect(!both.passed)
        #expect(both.source == .measured)
        #expect(!lenient.check(measured: [:], reported: [:]).passed)
    }

    @Test func refusesMalformedGatesByName() {
        for bad in ["roc_auc", ">= 0.8", "roc_auc >= high", "roc auc >= 1", "roc_auc >= 0.8reported-ok", "roc_auc >= inf", "roc_auc >= nan",
                    "reported-ok", String(repeating: "a", count: 300) + " >= 1", String(repeating: "a", count: 129) + " >= 1"] {
            #expect(throws: KeelError.self) { try Gate.parse(bad) }
        }
    }

    @Test func unmeasuredMetricFails() throws {
        let result = try Gate.parse("roc_auc >= 0.85").check(["accuracy": 0.99])
        #expect(!result.passed)
        #expect(result.reason.contains("has not been measured"))
    }

    @Test func comparesAgainstThreshold() throws {
        let gate = try Gate.parse("roc_auc >= 0.85")
        #expect(gate.check(["roc_auc": 0.85]).passed)
        #expect(!gate.check(["roc_auc": 0.84]).passed)
    }
}

@Suite struct QualityMetricsTests {
    @Test func binaryMetricsOnAHandCheckedExample() throws {
        let m = try QualityMetrics.binary(probabilities: [0.9, 0.8, 0.3, 0.6, 0.1], labels: [1, 1, 1, 0, 0])
        #expect(m["accuracy"] == 0.6)
        #expect(abs(m["precision"]! - 2.0 / 3.0) < 1e-12)
        #expect(abs(m["recall"]! - 2.0 / 3.0) < 1e-12)
        // Pairs (pos, neg): 6, correctly ordered: 0.9>0.6, 0.9>0.1, 0.8>0.6, 0.8>0.1, 0.3>0.1 → 5/6.
        #expect(abs(m["roc_auc"]! - 5.0 / 6.0) < 1e-12)
        #expect(m["log_loss"]! > 0)
    }

    @Test func predictionsAndLabelsOfDifferentLengthsAreAnErrorNotATrap() {
        #expect(throws: KeelError.self) { try QualityMetrics.binary(probabilities: [0.9, 0.1], labels: [1]) }
        #expect(throws: KeelError.self) { try QualityMetrics.multiclass(probabilities: [[0.5, 0.5]], labels: [0, 1]) }
        #expect(throws: KeelError.self) { try QualityMetrics.multiclass(probabilities: [[0.5, 0.5], [0.2, 0.3, 0.5]], labels: [0, 2]) }
        #expect(QualityMetrics.rocAUC(scores: [0.9, 0.1, 0.5], labels: [1, 0]) == nil)
        #expect(QualityMetrics.percentile([1, 2, 3], .nan) == 3)
    }

    @Test func aucAveragesTies() {
        #expect(QualityMetrics.rocAUC(scores: [0.5, 0.5], labels: [1, 0]) == 0.5)
        #expect(QualityMetrics.rocAUC(scores: [0.5, 0.5], labels: [1, 1]) == nil)
    }

    @Test func regressionMetrics() {
        let m = QualityMetrics.regression(predictions: [1, 2, 3], targets: [1, 2, 5])
        #expect(abs(m["mae"]! - 2.0 / 3.0) < 1e-12)
        #expect(abs(m["rmse"]! - (4.0 / 3.0).squareRoot()) < 1e-12)
        #expect(m["r2"]! < 1)
    }

    @Test func percentilesByNearestRank() {
        let samples = (1...100).map(Double.init)
        #expect(QualityMetrics.percentile(samples, 0.5) == 50)
        #expect(QualityMetrics.percentile(samples, 0.95) == 95)
    }

    @Test func csvHandlesQuotesAndCommas() throws {
        let t = try CSVTable.parse("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n1,2\n")
        #expect(t.header == ["a", "b"])
        #expect(t.rows == [["x, y", "say \"hi\""], ["1", "2"]])
        #expect(throws: KeelError.self) { try CSVTable.parse("a,b\n1\n") }
    }
}
