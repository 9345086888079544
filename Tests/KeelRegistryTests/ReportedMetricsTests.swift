import Foundation
import KeelCore
import KeelRegistry
import KeelStore
import KeelTestSupport
import Testing

/// Metrics a client reports are kept and shown, but only measured ones pass a gate unless the
/// gate accepts reported values.
@Suite struct ReportedMetricsTests {
    let alice = Principal(keyID: "key_a", name: "alice", role: .deployer)

    func register(_ registry: Registry, reported: [String: Double]) async throws -> ModelVersionRecord {
        var new = NewVersion(model: "churn", bytes: Array(repeating: 7, count: 2_000), filename: "model.json", format: "xgboost_json", signature: "{}")
        new.metrics = reported
        return try await registry.register(new, by: alice)
    }

    @Test(arguments: StoreKind.enabled)
    func registrationMetricsAreStoredAsReportedAndSizeIsMeasured(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        let v = try await register(registry, reported: ["roc_auc": 0.91, "size_mb": 0.000001])
        #expect(v.reportedMetrics == ["roc_auc": 0.91, "size_mb": 0.000001])
        #expect(v.metrics == ["size_mb": 0.002])
        let read = try await registry.version("churn", 1)
        #expect(read.metrics == v.metrics)
        #expect(read.reportedMetrics == v.reportedMetrics)
    }

    @Test(arguments: StoreKind.enabled)
    func reportedMetricDoesNotSatisfyAPlainGate(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        _ = try await register(registry, reported: ["roc_auc": 0.95])
        try await registry.setGate("churn", "roc_auc >= 0.85", by: alice)
        let error = await #expect(throws: KeelError.self) {
            try await registry.setAlias("churn", alias: Registry.production, version: 1, by: alice)
        }
        #expect(error?.code == .conflict)
        #expect(error?.message.contains("'roc_auc' has not been measured (the reported 0.95 counts only for a gate marked 'reported-ok')") == true)
        #expect(try await registry.aliases("churn").isEmpty)
    }

    @Test(arguments: StoreKind.enabled)
    func reportedOKGateAcceptsAReportedValueAndSaysSo(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        let v = try await register(registry, reported: ["roc_auc": 0.95])
        try await registry.setGate("churn", "roc_auc >= 0.85 reported-ok", by: alice)
        let results = try await registry.checkGates("churn", v)
        #expect(results.map(\.passed) == [true])
        #expect(results.first?.source == .reported)
        #expect(results.first?.reason == "roc_auc >= 0.85 reported-ok: roc_auc is 0.95 (reported)")
        try await registry.setAlias("churn", alias: Registry.production, version: 1, by: alice)
        #expect(try await registry.version("churn", 1).status == .production)
    }

    @Test(arguments: StoreKind.enabled)
    func acceptReportedFlagEqualsTheTextSuffix(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        _ = try await register(registry, reported: ["roc_auc": 0.95])
        let gate = try await registry.setGate("churn", "roc_auc >= 0.85", acceptReported: true, by: alice)
        #expect(gate.description == "roc_auc >= 0.85 reported-ok")
        #expect(try await registry.gates("churn") == [gate])
    }

    @Test(arguments: StoreKind.enabled)
    func measuredValueWinsOverAReportedOne(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        _ = try await register(registry, reported: ["roc_auc": 0.95])
        try await registry.setGate("churn", "roc_auc >= 0.85 reported-ok", by: alice)
        try await registry.recordMetrics("churn", 1, metrics: ["roc_auc": 0.80], by: alice)
        let result = try #require(try await registry.checkGates("churn", try await registry.version("churn", 1)).first)
        #expect(!result.passed)
        #expect(result.source == .measured)
        #expect(result.value == 0.80)
        await #expect(throws: KeelError.self) { try await registry.setAlias("churn", alias: Registry.production, version: 1, by: alice) }
    }

    @Test(arguments: StoreKind.enabled, [Double.nan, .infinity, -.infinity])
    func nonFiniteReportedMetricIsRefusedAndRegistersNothing(kind: StoreKind, bad: Double) async throws {
        let registry = try await TestRegistry.make(kind)
        let error = await #expect(throws: KeelError.self) { _ = try await register(registry, reported: ["roc_auc": 0.9, "log_loss": bad]) }
        #expect(error?.code == .invalidInput)
        #expect(error?.httpStatus == 400)
        #expect(error?.message.contains("metric 'log_loss'") == true)
        #expect(try await registry.models().isEmpty)
    }

    @Test(arguments: StoreKind.enabled, [Double.nan, .infinity, -.infinity])
    func nonFiniteEvaluationResultIsRefusedAndKeepsTheMeasuredMetrics(kind: StoreKind, bad: Double) async throws {
        let registry = try await TestRegistry.make(kind)
        _ = try await register(registry, reported: [:])
        try await registry.recordMetrics("churn", 1, metrics: ["accuracy": 0.8], by: alice)
        let error = await #expect(throws: KeelError.self) {
            try await registry.recordMetrics("churn", 1, metrics: ["accuracy": 0.9, "r2": bad], by: alice)
        }
        #expect(error?.httpStatus == 400)
        #expect(error?.message.contains("metric 'r2'") == true)
        #expect(try await registry.version("churn", 1).metrics == ["accuracy": 0.8, "size_mb": 0.002])
    }

    @Test(arguments: StoreKind.enabled)
    func modelCardShowsMeasuredAndReportedApart(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        let v = try await register(registry, reported: ["roc_auc": 0.95])
        let card = ModelCard.markdown(model: try await registry.model("churn"), version: v, aliases: [], gates: [])
        let measured = try #require(card.range(of: "## Metrics (measured by Keel)"))
        let reported = try #require(card.range(of: "## Reported metrics"))
        #expect(card[measured.upperBound..<reported.lowerBound].contains("| size_mb |"))
        #expect(card[reported.upperBound...].contains("| roc_auc | 0.9500 |"))
    }
}
