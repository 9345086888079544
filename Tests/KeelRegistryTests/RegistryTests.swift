import Foundation
import KeelCore
import KeelRegistry
import KeelServing
import KeelStore
import KeelTestSupport
import Testing

/// Registry behaviour over every enabled store.
@Suite struct RegistryTests {
    let alice = Principal(keyID: "key_a", name: "alice", role: .deployer)

    func registerChurn(_ registry: Registry, metrics: [String: Double] = [:]) async throws -> ModelVersionRecord {
        var new = try RegistryImport.inspect(model: "churn", bytes: try TestRegistry.churnModelBytes(), filename: "model.json", configYAML: try TestRegistry.churnConfigYAML())
        new.metrics = metrics
        return try await registry.register(new, by: alice)
    }

    @Test(arguments: StoreKind.enabled)
    func registrationRecordsSignatureHashAndSize(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        let v = try await registerChurn(registry)
        #expect(v.version == 1)
        #expect(v.format == "xgboost_json")
        #expect(v.artifactSHA256 == ArtifactStore.sha256(try TestRegistry.churnModelBytes()))
        #expect(v.signature.contains("\"input\""))
        #expect(v.metrics["size_mb"] != nil)
        #expect(v.createdBy == alice.actor)
        #expect(try registry.artifact(of: v) == (try TestRegistry.churnModelBytes()))
    }

    @Test func unloadableFileIsRefusedBeforeItEntersTheRegistry() {
        #expect(throws: KeelError.self) {
            _ = try RegistryImport.inspect(model: "x", bytes: Array("not a model".utf8), filename: "model.json", configYAML: nil)
        }
    }

    @Test(arguments: StoreKind.enabled)
    func productionMoveIsRefusedNamingEachFailingGate(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        _ = try await registerChurn(registry, metrics: ["roc_auc": 0.80])
        try await registry.setGate("churn", "roc_auc >= 0.85", by: alice)
        try await registry.setGate("churn", "precision >= 0.75", by: alice)
        let error = await #expect(throws: KeelError.self) {
            try await registry.setAlias("churn", alias: "production", version: 1, by: alice)
        }
        #expect(error?.code == .conflict)
        #expect(error?.message.contains("roc_auc >= 0.85") == true)
        #expect(error?.message.contains("precision >= 0.75: 'precision' has not been measured") == true)
        #expect(try await registry.aliases("churn").isEmpty)
        // Staging is not gated.
        try await registry.setAlias("churn", alias: "staging", version: 1, by: alice)
        #expect(try await registry.version("churn", 1).status == .staging)
    }

    @Test(arguments: StoreKind.enabled)
    func forcedMoveIsAuditedAsAnOverride(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        _ = try await registerChurn(registry)
        try await registry.setGate("churn", "roc_auc >= 0.85", by: alice)
        let move = try await registry.setAlias("churn", alias: "production", version: 1, force: true, by: alice)
        #expect(move.forced)
        let override = try #require(try await registry.audit(target: "churn").first { $0.action == "gate.override" })
        #expect(override.target == "churn/production")
        #expect(override.actor == alice.actor)
        #expect(override.after?.contains("forced past: roc_auc >= 0.85: 'roc_auc' has not been measured") == true)
        #expect(try await registry.version("churn", 1).status == .production)
    }

    @Test(arguments: StoreKind.enabled)
    func evaluationOnTheChurnHoldoutPassesItsGates(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        _ = try await registerChurn(registry)
        try await registry.setGate("churn", "roc_auc >= 0.85", by: alice)
        try await registry.setGate("churn", "p95_latency_ms <= 100", by: alice)
        try await registry.setGate("churn", "size_mb <= 500", by: alice)
        let metrics = try await ModelEvaluator(registry: registry).evaluate(
            model: "churn", version: 1, csv: try TestRegistry.churnHoldoutCSV(), label: "churn", by: alice)
        for name in ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "p50_latency_ms", "p95_latency_ms", "size_mb"] {
            #expect(metrics[name] != nil, "missing \(name)")
        }
        #expect(metrics["roc_auc"]! > 0.85)
        #expect(metrics["accuracy"]! > 0.7)
        #expect(metrics["holdout_rows"] == 2000)
        #expect(try await registry.version("churn", 1).metrics["roc_auc"] == metrics["roc_auc"])
        try await registry.setAlias("churn", alias: "production", version: 1, by: alice)
        #expect(try await registry.aliases("churn").first?.version == 1)
    }

    @Test(arguments: StoreKind.enabled)
    func evaluationWithAnUnknownLabelColumnIsRefused(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        _ = try await registerChurn(registry)
        let error = await #expect(throws: KeelError.self) {
            _ = try await ModelEvaluator(registry: registry).evaluate(model: "churn", version: 1, csv: try TestRegistry.churnHoldoutCSV(), label: "nope", by: alice)
        }
        #expect(error?.message.contains("no label column 'nope'") == true)
    }

    @Test(arguments: StoreKind.enabled)
    func compareFindsTheBestVersionPerMeasuredMetric(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        _ = try await registerChurn(registry, metrics: ["roc_auc": 0.99])
        _ = try await registerChurn(registry)
        try await registry.recordMetrics("churn", 1, metrics: ["roc_auc": 0.8, "log_loss": 0.4], by: alice)
        try await registry.recordMetrics("churn", 2, metrics: ["roc_auc": 0.9, "log_loss": 0.5], by: alice)
        let c = try await registry.compare("churn", versions: [])
        #expect(c.versions == [1, 2])
        #expect(c.best["roc_auc"] == 2)
        #expect(c.best["log_loss"] == 1)
    }

    @Test(arguments: StoreKind.enabled)
    func modelCardCarriesMetadataMetricsAndGates(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        _ = try await registerChurn(registry)
        try await registry.recordMetrics("churn", 1, metrics: ["roc_auc": 0.9], by: alice)
        let v = try await registry.version("churn", 1)
        try await registry.setGate("churn", "roc_auc >= 0.85", by: alice)
        let card = ModelCard.markdown(model: try await registry.model("churn"), version: v, aliases: [], gates: try await registry.checkGates("churn", v))
        #expect(card.hasPrefix("# churn — version 1"))
        #expect(card.contains("| roc_auc | 0.9000 |"))
        #expect(card.contains("✅ roc_auc >= 0.85"))
        #expect(card.contains(v.artifactSHA256))
        #expect(card.contains("risk_bands"))
    }

    @Test(arguments: StoreKind.enabled)
    func productionVersionCannotBeArchivedOrDeleted(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        _ = try await registerChurn(registry)
        _ = try await registerChurn(registry)
        try await registry.setAlias("churn", alias: "production", version: 1, by: alice)
        await #expect(throws: KeelError.self) { try await registry.archive("churn", 1, by: alice) }
        await #expect(throws: KeelError.self) { try await registry.deleteVersion("churn", 1, by: alice) }
        try await registry.setAlias("churn", alias: "production", version: 2, by: alice)
        #expect(try await registry.version("churn", 1).status == .archived)
        try await registry.deleteVersion("churn", 1, by: alice)
    }

    @Test(arguments: StoreKind.enabled)
    func firstStartBootstrapsOneAdminKey(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        let secret = try #require(try await registry.keys.bootstrapAdmin(environmentKey: nil))
        #expect(try await registry.keys.authenticate(secret).role == .admin)
        #expect(try await registry.keys.bootstrapAdmin(environmentKey: nil) == nil)
        #expect(try await registry.keys.list().count == 1)
        #expect(try await registry.keys.list().first?.keySHA256 == APIKeys.hash(secret))

        let other = try await TestRegistry.make(kind)
        #expect(try await other.keys.bootstrapAdmin(environmentKey: "env-admin-key-0123456789") == nil)
        #expect(try await other.keys.authenticate("env-admin-key-0123456789").role == .admin)
        await #expect(throws: KeelError.self) { _ = try await other.keys.authenticate("wrong-key-0123456789") }
    }
}
