import Foundation
import KeelCore
import KeelStore
import KeelTestSupport
import Testing

/// Version numbers are never handed out twice, whatever was deleted in between.
@Suite struct VersionNumberTests {
    func version(_ model: String) -> ModelVersionRecord {
        ModelVersionRecord(model: model, artifactSHA256: "ab", format: "xgboost_json", sizeBytes: 10, createdBy: "alice")
    }

    func register(_ store: any Store, _ model: String) async throws -> Int {
        try await store.createVersion(version(model), audit: TestStores.audit("register", model)).version
    }

    @Test(arguments: StoreKind.enabled)
    func deletingTheNewestVersionDoesNotFreeItsNumber(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await register(store, "m")
        _ = try await register(store, "m")
        try await store.deleteVersion(model: "m", version: 2, audit: TestStores.audit("version.delete", "m/2"))
        #expect(try await register(store, "m") == 3)
    }

    @Test(arguments: StoreKind.enabled)
    func reRegisteringADeletedModelContinuesItsNumbers(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        for _ in 0..<3 { _ = try await register(store, "m") }
        try await store.deleteModel(named: "m", audit: TestStores.audit("model.delete", "m"))
        #expect(try await store.model(named: "m") == nil)
        #expect(try await register(store, "m") == 4)
        #expect(try await store.model(named: "m")?.lastVersion == 4)
        #expect(try await store.read { db throws(KeelError) in try await db.lastVersionNumber(model: "m") } == 4)
    }

    @Test(arguments: StoreKind.enabled)
    func aModelCreatedAgainByHandKeepsItsCounter(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await register(store, "m")
        _ = try await register(store, "m")
        try await store.deleteModel(named: "m", audit: TestStores.audit("model.delete", "m"))
        try await store.createModel(RegisteredModelRecord(name: "m"), audit: TestStores.audit("model.create", "m"))
        #expect(try await store.model(named: "m")?.lastVersion == 2)
        #expect(try await register(store, "m") == 3)
    }

    @Test(arguments: StoreKind.enabled)
    func concurrentRegistrationsAfterADeleteStillGetDistinctNewNumbers(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        for _ in 0..<5 { _ = try await register(store, "race") }
        try await store.deleteModel(named: "race", audit: TestStores.audit("model.delete", "race"))
        let numbers = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 { group.addTask { try await register(store, "race") } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(numbers.sorted() == Array(6...13))
    }
}
