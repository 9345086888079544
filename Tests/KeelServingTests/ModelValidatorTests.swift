import Foundation
import KeelCore
import KeelRegistry
import KeelServing
import Testing

/// `keel models validate`'s checks: each passes on the churn model and fails, by name, on the
/// thing it guards; a failed check skips the ones that depend on it.
@Suite struct ModelValidatorTests {
    static let churn = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models/churn")

    func file(_ name: String) throws -> String { try String(contentsOf: Self.churn.appendingPathComponent(name), encoding: .utf8) }
    func model() throws -> [UInt8] { [UInt8](try Data(contentsOf: Self.churn.appendingPathComponent("1/model.json"))) }
    func config() throws -> ModelConfig { try ModelConfig.parse(yaml: try file("config.yaml"), source: "churn") }

    func outcomes(_ r: ModelValidator.Report) -> [String: ModelValidator.Outcome] {
        Dictionary(uniqueKeysWithValues: r.checks.map { ($0.name, $0.outcome) })
    }

    @Test func theChurnModelPassesEveryCheck() throws {
        let inputs = ModelValidator.Inputs(
            config: try config(), holdout: try CSVTable.parse(try file("holdout.csv")), label: "churn", latencyBudgetMs: 1000,
            gates: [try Gate.parse("roc_auc >= 0.8")])
        let r = ModelValidator(latencySamples: 20).validate(bytes: try model(), filename: "model.json", inputs)
        #expect(r.passed, "\(r.checks)")
        #expect(outcomes(r) == ["load": .passed, "signature": .passed, "warm_up": .passed, "holdout": .passed, "latency": .passed, "gates": .passed])
        // The holdout's metrics are the evaluation's (fixture: roc_auc 0.878 on these 2000 rows).
        #expect(abs((r.metrics["roc_auc"] ?? 0) - 0.8784) < 0.001)
        #expect(r.metrics["holdout_rows"] == 2000)
        #expect((r.metrics["p95_latency_ms"] ?? -1) >= 0)
    }

    @Test func aTruncatedFileFailsLoadAndSkipsTheRest() throws {
        let bytes = Array(try model().prefix(3000))
        let r = ModelValidator(latencySamples: 5).validate(bytes: bytes, filename: "model.json", .init(config: try config()))
        #expect(!r.passed)
        #expect(outcomes(r) == ["load": .failed, "signature": .skipped, "warm_up": .skipped, "holdout": .skipped, "latency": .skipped])
    }

    @Test func aSchemaOfTheWrongWidthFailsTheSignature() throws {
        let yaml = """
            layout: vector
            input_name: input
            features:
              - {name: age, type: number}
              - {name: income, type: number}
            """
        let c = try ModelConfig.parse(yaml: yaml, source: "narrow")
        let r = ModelValidator(latencySamples: 5).validate(bytes: try model(), filename: "model.json", .init(config: c))
        #expect(outcomes(r)["signature"] == .failed)
        #expect(r.checks.first { $0.name == "signature" }?.detail.contains("22") == true)
    }

    @Test func aMissedBudgetAFailingGateAndABadHoldoutFailTheirChecks() throws {
        let holdout = try CSVTable.parse(try file("holdout.csv"))
        let v = ModelValidator(latencySamples: 5)
        let slow = v.validate(bytes: try model(), filename: "model.json", .init(config: try config(), latencyBudgetMs: 1e-9))
        #expect(outcomes(slow)["latency"] == .failed)
        let gated = v.validate(bytes: try model(), filename: "model.json", .init(
            config: try config(), holdout: holdout, label: "churn", gates: [try Gate.parse("roc_auc >= 0.99"), try Gate.parse("f1 >= 0.1")]))
        #expect(outcomes(gated)["gates"] == .failed)
        #expect(gated.checks.first { $0.name == "gates" }?.detail.contains("roc_auc >= 0.99") == true)
        #expect(gated.checks.first { $0.name == "gates" }?.detail.contains("f1") == false)
        let unlabelled = v.validate(bytes: try model(), filename: "model.json", .init(config: try config(), holdout: holdout, label: "outcome"))
        #expect(outcomes(unlabelled)["holdout"] == .failed)
        #expect(unlabelled.checks.first { $0.name == "holdout" }?.detail.contains("no label column 'outcome'") == true)
        // A label that is not a class: a clear failure, not a crash.
        let badLabels = try CSVTable.parse("customer_id,age,churn\nC-1,40,maybe\n")
        let bad = v.validate(bytes: try model(), filename: "model.json", .init(config: try config(), holdout: badLabels, label: "churn"))
        #expect(outcomes(bad)["holdout"] == .failed)
    }
}
