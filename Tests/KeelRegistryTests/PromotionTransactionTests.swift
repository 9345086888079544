import Foundation
import KeelCore
import KeelRegistry
import KeelStore
import KeelTestSupport
import Testing

/// A promotion (gate check, alias move, move record, status changes, audit) is one
/// transaction, on every enabled store and under concurrency.
@Suite struct PromotionTransactionTests {
    let alice = Principal(keyID: "key_a", name: "alice", role: .deployer)

    /// Registers `count` versions of a small model whose measured roc_auc is `auc`.
    func registerVersions(_ registry: Registry, _ model: String, count: Int, auc: Double = 0.9) async throws {
        for _ in 0..<count {
            var new = NewVersion(model: model, bytes: Array("model bytes".utf8), filename: "model.json", format: "xgboost_json", signature: "{}")
            new.metrics = ["roc_auc": 0.99]
            let v = try await registry.register(new, by: alice)
            try await registry.recordMetrics(model, v.version, metrics: ["roc_auc": auc], by: alice)
        }
    }

    /// Alias, statuses, moves and audit agree with each other.
    func expectConsistent(_ registry: Registry, _ model: String, promotions: Int) async throws {
        let production = try #require(try await registry.aliases(model).first { $0.alias == Registry.production })
        let versions = try await registry.versions(model)
        #expect(versions.filter { $0.status == .production }.map(\.version) == [production.version])
        let moves = try await registry.store.aliasMoves(model: model).filter { $0.alias == Registry.production }
        #expect(moves.count == promotions)
        #expect(moves.last?.to == production.version)
        for (earlier, later) in zip(moves, moves.dropFirst()) { #expect(later.from == earlier.to, "moves form one chain") }
        let moved = try await registry.audit(target: "\(model)/\(Registry.production)", limit: 1000)
        #expect(moved.count == promotions)
        // Every version that was production and is no longer is archived.
        let left = Set(moves.compactMap(\.from)).subtracting([production.version])
        for number in left { #expect(versions.first { $0.version == number }?.status == .archived, "v\(number) archived") }
    }

    @Test(arguments: StoreKind.enabled)
    func concurrentPromotionsOfDifferentVersionsEndConsistent(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        try await registerVersions(registry, "churn", count: 8)
        try await registry.setGate("churn", "roc_auc >= 0.85", by: alice)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 1...8 {
                group.addTask { try await registry.setAlias("churn", alias: Registry.production, version: number, by: alice) }
            }
            try await group.waitForAll()
        }
        try await expectConsistent(registry, "churn", promotions: 8)
    }

    @Test(arguments: StoreKind.enabled)
    func concurrentPromotionsAcrossTwoServersEndConsistent(kind: StoreKind) async throws {
        // Two stores on one database act as two replicas (separate pools and locks).
        let database = TestDatabase.fresh(kind)
        let artifacts = ArtifactStore(dataDirectory: TestStores.temporaryDirectory())
        let one = Registry(store: try await database.open(), artifacts: artifacts)
        let two = Registry(store: try await database.open(), artifacts: artifacts)
        defer { Task { await one.store.close(); await two.store.close() } }
        try await registerVersions(one, "churn", count: 6)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 1...6 {
                let replica = number % 2 == 0 ? one : two
                group.addTask { try await replica.setAlias("churn", alias: Registry.production, version: number, by: alice) }
            }
            try await group.waitForAll()
        }
        try await expectConsistent(one, "churn", promotions: 6)
    }

    @Test(arguments: StoreKind.enabled)
    func failureMidPromotionChangesNothing(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        try await registerVersions(registry, "churn", count: 2)
        try await registry.setAlias("churn", alias: Registry.production, version: 1, by: alice)
        let auditBefore = try await registry.audit(limit: 1000)
        // The last step, archiving the version that leaves production, fails in the database.
        try await RawSQL.failStatusUpdates(to: .archived, in: registry.store)
        let error = await #expect(throws: KeelError.self) {
            try await registry.setAlias("churn", alias: Registry.production, version: 2, by: alice)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("injected") == false)
        #expect(try await registry.aliases("churn").map(\.version) == [1])
        #expect(try await registry.store.aliasMoves(model: "churn").count == 1)
        #expect(try await registry.version("churn", 1).status == .production)
        #expect(try await registry.version("churn", 2).status == .development)
        #expect(try await registry.audit(limit: 1000) == auditBefore)
    }

    func tryPromote(_ registry: Registry, _ model: String, _ version: Int) async -> Bool {
        do {
            try await registry.setAlias(model, alias: Registry.production, version: version, by: alice)
            return true
        } catch {
            return false
        }
    }

    @Test(arguments: StoreKind.enabled)
    func gateAddedDuringAPromotionIsSeenOrComesAfterIt(kind: StoreKind) async throws {
        let registry = try await TestRegistry.make(kind)
        for round in 0..<6 {
            let model = "race\(round)"
            try await registerVersions(registry, model, count: 1, auc: 0.8)
            async let promoted = tryPromote(registry, model, 1)
            async let gated: Gate = registry.setGate(model, "roc_auc >= 0.85", by: alice)
            let (didPromote, _) = try await (promoted, gated)
            let events = try await registry.audit(target: model, limit: 100).reversed().map(\.action)
            let gateAt = try #require(events.firstIndex(of: "gate.set"))
            if didPromote {
                // The promotion committed before the gate existed.
                let moveAt = try #require(events.firstIndex(of: "alias.set"))
                #expect(moveAt < gateAt)
                #expect(try await registry.version(model, 1).status == .production)
            } else {
                #expect(try await registry.aliases(model).isEmpty)
                #expect(!events.contains("alias.set"))
            }
        }
    }
}
