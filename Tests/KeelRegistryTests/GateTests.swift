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

/// The holdout CSV reader evaluation uses.
@Suite struct CSVTableTests {
    @Test func csvHandlesQuotesAndCommas() throws {
        let t = try CSVTable.parse("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n1,2\n")
        #expect(t.header == ["a", "b"])
        #expect(t.rows == [["x, y", "say \"hi\""], ["1", "2"]])
        #expect(throws: KeelError.self) { try CSVTable.parse("a,b\n1\n") }
    }
}
