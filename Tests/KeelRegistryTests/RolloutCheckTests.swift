import KeelCore
import KeelRegistry
import Testing

@Suite struct RolloutCheckTests {
    @Test func checksParseInBothForms() throws {
        #expect(try RolloutCheck.parse("p95_latency_ms < 20") == RolloutCheck(metric: "p95_latency_ms", op: .lt, value: 20))
        #expect(try RolloutCheck.parse("roc_auc>=0.85") == RolloutCheck(metric: "roc_auc", op: .ge, value: 0.85))
        #expect(try RolloutCheck.parse(" p99_latency_ms <= stable * 1.2 ") == RolloutCheck(metric: "p99_latency_ms", op: .le, value: 1.2, relative: true))
        #expect(try RolloutCheck.parse("accuracy > stable") == RolloutCheck(metric: "accuracy", op: .gt, value: 1, relative: true))
        #expect(try RolloutCheck.parse("p95_latency_ms <= stable * 1.2").text == "p95_latency_ms <= stable * 1.2")
    }

    @Test(arguments: ["", "p95_latency_ms", "p95_latency_ms = 3", "< 3", "p95 latency < 3", "roc_auc >= nan", "roc_auc >= inf",
                      "roc_auc >= stable + 1", "roc_auc >= 1e400", "x;drop < 1", String(repeating: "a", count: 300) + " < 1"])
    func malformedChecksAreRefusedWithTheirForm(_ text: String) {
        #expect(throws: KeelError.self) { try RolloutCheck.parse(text) }
    }

    @Test func verdictsNeedAValueAndForRelativeChecksTheStableOne() throws {
        let absolute = try RolloutCheck.parse("p95_latency_ms < 20")
        #expect(absolute.verdict(candidate: 10, stable: nil) == .pass)
        #expect(absolute.verdict(candidate: 20, stable: nil) == .fail)
        #expect(absolute.verdict(candidate: nil, stable: nil) == .inconclusive)
        #expect(absolute.verdict(candidate: .nan, stable: nil) == .inconclusive)
        let relative = try RolloutCheck.parse("roc_auc >= stable * 0.98")
        #expect(relative.verdict(candidate: 0.90, stable: 0.91) == .pass)
        #expect(relative.verdict(candidate: 0.80, stable: 0.91) == .fail)
        #expect(relative.verdict(candidate: 0.90, stable: nil) == .inconclusive)
    }
}
