import Foundation
import KeelCore
import KeelStore
import KeelTestSupport
import Testing

/// `Store.write` and `Store.read` against every enabled store.
@Suite struct UnitOfWorkTests {
    func version(_ model: String) -> ModelVersionRecord {
        ModelVersionRecord(model: model, artifactSHA256: "ab", format: "xgboost_json", sizeBytes: 10, createdBy: "alice")
    }

    @Test(arguments: StoreKind.enabled)
    func writeCommitsEveryStepTogether(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        let move = try await store.write { tx throws(KeelError) in
            let created = try await tx.createVersion(version("m"))
            try await tx.setGate(GateRecord(model: "m", metric: "roc_auc", op: ">=", threshold: 0.8))
            let move = try await tx.setAlias(model: "m", alias: "production", version: created.version, actor: "bob", forced: false)
            try await tx.setStatus(model: "m", version: created.version, status: .production)
            try await tx.appendAudit(TestStores.audit("alias.set", "m/production"))
            return move
        }
        #expect(move.from == nil && move.to == 1)
        #expect(try await store.aliases(model: "m").map(\.version) == [1])
        #expect(try await store.version(model: "m", version: 1)?.status == .production)
        #expect(try await store.gates(model: "m").count == 1)
        #expect(try await store.auditEvents(target: "m", limit: 10).map(\.action) == ["alias.set"])
    }

    @Test(arguments: StoreKind.enabled)
    func writeThatThrowsLeavesNothingChanged(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        let error = await #expect(throws: KeelError.self) {
            try await store.write { tx throws(KeelError) in
                _ = try await tx.createVersion(version("m"))
                try await tx.setAlias(model: "m", alias: "staging", version: 1, actor: "bob", forced: false)
                try await tx.appendAudit(TestStores.audit("alias.set", "m/staging"))
                throw KeelError(.conflict, "changed my mind")
            }
        }
        #expect(error?.message == "changed my mind")
        #expect(try await store.versions(model: "m").map(\.version) == [1])
        #expect(try await store.aliases(model: "m").isEmpty)
        #expect(try await store.aliasMoves(model: "m").isEmpty)
        #expect(try await store.auditEvents(target: "m", limit: 10).count == 1)
    }

    @Test(arguments: StoreKind.enabled)
    func databaseFailureMidWriteRollsBackAndNamesNoInternals(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        try await RawSQL.failStatusUpdates(to: .archived, in: store)
        let error = await #expect(throws: KeelError.self) {
            try await store.write { tx throws(KeelError) in
                try await tx.setAlias(model: "m", alias: "staging", version: 1, actor: "bob", forced: false)
                try await tx.appendAudit(TestStores.audit("alias.set", "m/staging"))
                try await tx.setStatus(model: "m", version: 1, status: .archived)
            }
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message == "the database is unavailable; try again later")
        #expect(error?.logDetail?.contains("injected failure") == true)
        #expect(error?.description.contains("injected failure") == true)
        #expect(try await store.aliases(model: "m").isEmpty)
        #expect(try await store.aliasMoves(model: "m").isEmpty)
        #expect(try await store.version(model: "m", version: 1)?.status == .development)
        #expect(try await store.auditEvents(target: "m", limit: 10).count == 1)
    }

    @Test(arguments: StoreKind.enabled)
    func readSeesOneSnapshotWhileAWriteCommits(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        let (first, second) = try await store.read { db throws(KeelError) in
            let first = try await db.versions(model: "m").map(\.version)
            // Another unit of work commits while this snapshot is open.
            _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
            let second = try await db.versions(model: "m").map(\.version)
            return (first, second)
        }
        #expect(first == [1])
        #expect(second == [1])
        #expect(try await store.versions(model: "m").map(\.version) == [1, 2])
    }

    @Test(arguments: StoreKind.enabled)
    func readDoesNotWaitForAnOpenWrite(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        // On SQLite a read that took the writer's lock would wait here for ever.
        let seenInside = try await store.write { tx throws(KeelError) in
            _ = try await tx.createVersion(version("m"))
            return try await store.read { db throws(KeelError) in try await db.versions(model: "m").map(\.version) }
        }
        #expect(seenInside == [1])
        #expect(try await store.versions(model: "m").map(\.version) == [1, 2])
    }

    @Test(arguments: StoreKind.enabled)
    func manyConcurrentReadsAndWritesAllFinish(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<24 {
                group.addTask {
                    if i % 3 == 0 {
                        return try await store.createVersion(version("m"), audit: TestStores.audit("register", "m")).version
                    }
                    return try await store.read { db throws(KeelError) in try await db.versions(model: "m").count }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts.count == 24)
        #expect(try await store.versions(model: "m").count == 9)
    }
}
