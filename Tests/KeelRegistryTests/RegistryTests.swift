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
        #expect(try await registry.keys.list().first?.keyHash == registry.keySecret.hash(secret))

        let other = try await TestRegistry.make(kind)
        #expect(try await other.keys.bootstrapAdmin(environmentKey: "env-admin-key-0123456789") == nil)
        #expect(try await other.keys.authenticate("env-admin-key-0123456789").role == .admin)
        await #expect(throws: KeelError.self) { _ = try await other.keys.authenticate("wrong-key-0123456789") }
    }

    @Test(arguments: StoreKind.enabled)
    func keysAreStoredAsKeyedHashesExpireAndAreLimitedToModels(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        let folder = TestStores.temporaryDirectory()
        let secret = try ServerSecret("one-server-secret-shared-by-every-replica-0123", source: "test")
        let registry = Registry(store: store, artifacts: ArtifactStore(dataDirectory: folder), keySecret: secret)
        let issued = try await registry.keys.create(name: "app", role: .predictor, limits: KeyLimits(models: ["fraud", "churn", "churn"]), by: alice)
        // Stored: the HMAC under the server secret, never the bare SHA-256.
        #expect(issued.record.keyHash.hasPrefix("hmac-sha256:"))
        #expect(issued.record.keyHash != APIKeys.legacyHash(issued.secret))
        #expect(issued.record.models == ["churn", "fraud"])
        let caller = try await registry.keys.authenticate(issued.secret)
        #expect(caller.models == ["churn", "fraud"])
        // Another replica with the same secret accepts the key; one with another secret does not.
        let twin = Registry(store: store, artifacts: ArtifactStore(dataDirectory: folder), keySecret: try ServerSecret("one-server-secret-shared-by-every-replica-0123", source: "twin"))
        #expect(try await twin.keys.authenticate(issued.secret).keyID == issued.record.id)
        let stranger = Registry(store: store, artifacts: ArtifactStore(dataDirectory: folder), keySecret: .ephemeral())
        await #expect(throws: KeelError.self) { _ = try await stranger.keys.authenticate(issued.secret) }

        // Expiry: refused once past, with a message that says so.
        let now = Date()
        let short = try await registry.keys.create(name: "short", role: .viewer, limits: KeyLimits(expiresAt: now.addingTimeInterval(60)), by: alice, now: now)
        #expect(try await registry.keys.authenticate(short.secret, now: now.addingTimeInterval(59)).role == .viewer)
        do {
            _ = try await registry.keys.authenticate(short.secret, now: now.addingTimeInterval(61))
            Issue.record("an expired key was accepted")
        } catch {
            #expect(error.code == .unauthorized)
            #expect(error.message.contains("expired"))
        }
        // Bounds: past expiry, over 10 years, empty or bad model lists.
        for limits in [KeyLimits(expiresAt: now.addingTimeInterval(-1)), KeyLimits(expiresAt: now.addingTimeInterval(11 * 366 * 86_400)),
                       KeyLimits(models: []), KeyLimits(models: ["../etc"]), KeyLimits(models: (0...100).map { "m\($0)" })] {
            await #expect(throws: KeelError.self) { _ = try await registry.keys.create(name: "bad", role: .viewer, limits: limits, by: alice, now: now) }
        }

        // A key from before keyed hashes (bare SHA-256) still works and is rehashed on first use.
        let legacySecret = "keel_legacy_0123456789abcdef0123456789abcdef"
        try await store.createKey(
            APIKeyRecord(id: "key_legacy", name: "old", role: "viewer", keyHash: APIKeys.legacyHash(legacySecret), createdBy: "test"),
            audit: AuditEventRecord(actor: "test", action: "key.create", target: "keys/key_legacy"))
        #expect(try await registry.keys.authenticate(legacySecret).keyID == "key_legacy")
        #expect(try await store.key(hash: APIKeys.legacyHash(legacySecret)) == nil)
        #expect(try await store.key(hash: secret.hash(legacySecret))?.id == "key_legacy")
        #expect(try await registry.keys.authenticate(legacySecret).keyID == "key_legacy")
        await store.close()
    }

    @Test func theServerSecretComesFromTheEnvironmentOrAnOwnerOnlyFile() throws {
        let folder = TestStores.temporaryDirectory()
        // Shared store without KEEL_SECRET: refused (each replica would make its own).
        #expect(throws: KeelError.self) { _ = try ServerSecret.load(environment: nil, dataDirectory: folder, shared: true) }
        #expect(throws: KeelError.self) { _ = try ServerSecret.load(environment: "too-short", dataDirectory: folder, shared: true) }
        let fromEnvironment = try ServerSecret.load(environment: "an-environment-secret-long-enough-0123456789", dataDirectory: folder, shared: true)
        #expect(fromEnvironment.source == "KEEL_SECRET")
        // One node: generated once into the data folder, mode 0600, and the same on the next start.
        let first = try ServerSecret.load(environment: nil, dataDirectory: folder, shared: false)
        let second = try ServerSecret.load(environment: nil, dataDirectory: folder, shared: false)
        #expect(first.hash("k") == second.hash("k"))
        let path = folder.appendingPathComponent(ServerSecret.fileName).path
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try OwnerOnlyFile.create(folder.appendingPathComponent(ServerSecret.fileName), contents: "x") == false)
    }
}
