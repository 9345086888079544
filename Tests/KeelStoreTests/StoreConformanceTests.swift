import Foundation
import KeelCore
import KeelStore
import KeelTestSupport
import Testing

/// One behaviour per test, each run against every enabled store (SQLite and PostgreSQL).
@Suite struct StoreConformanceTests {
    func version(_ model: String, hash: String = "ab") -> ModelVersionRecord {
        ModelVersionRecord(model: model, artifactSHA256: hash, format: "xgboost_json", sizeBytes: 10, createdBy: "alice")
    }

    @Test(arguments: StoreKind.enabled)
    func migrationsApplyOnceAndAreIdempotent(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        try await store.migrate()
        try await store.migrate()
        #expect(try await store.models().isEmpty)
    }

    @Test(arguments: StoreKind.enabled)
    func versionsAreNumberedPerModelStartingAtOne(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        let a1 = try await store.createVersion(version("a"), audit: TestStores.audit("register", "a"))
        let a2 = try await store.createVersion(version("a"), audit: TestStores.audit("register", "a"))
        let b1 = try await store.createVersion(version("b"), audit: TestStores.audit("register", "b"))
        let numbers: [Int] = [a1.version, a2.version, b1.version]
        #expect(numbers == [1, 2, 1])
        #expect(try await store.versions(model: "a").map(\.version) == [1, 2])
        #expect(try await store.model(named: "a")?.owner == "alice")
    }

    @Test(arguments: StoreKind.enabled)
    func concurrentRegistrationsGetDistinctNumbers(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        let numbers = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<12 {
                group.addTask { try await store.createVersion(version("race"), audit: TestStores.audit("register", "race")).version }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(numbers.sorted() == Array(1...12))
    }

    @Test(arguments: StoreKind.enabled)
    func versionRoundTripsEveryField(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        var v = version("rt", hash: "ff00")
        v.metrics = ["roc_auc": 0.91]
        v.reportedMetrics = ["f1": 0.7]
        v.params = ["max_depth": "6"]
        v.tags = ["team": "growth"]
        v.description = "first"
        v.trainingData = "s3://bucket/train.parquet"
        v.configYAML = "labels: [stay, churn]\n"
        v.signature = #"{"inputs":[]}"#
        let created = try await store.createVersion(v, audit: TestStores.audit("register", "rt"))
        let read = try #require(try await store.version(model: "rt", version: created.version))
        #expect(read.metrics == ["roc_auc": 0.91])
        #expect(read.reportedMetrics == ["f1": 0.7])
        #expect(read.params == ["max_depth": "6"])
        #expect(read.tags == ["team": "growth"])
        #expect(read.trainingData == "s3://bucket/train.parquet")
        #expect(read.configYAML == "labels: [stay, churn]\n")
        #expect(read.signature == #"{"inputs":[]}"#)
        #expect(read.status == .development)
        #expect(abs(read.createdAt.timeIntervalSince(created.createdAt)) < 0.001)
    }

    @Test(arguments: StoreKind.enabled)
    func aliasMovesAreRecordedWithBeforeAndAfter(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        let before = try await store.latestAliasMoveID()
        try await store.setAlias(model: "m", alias: "production", version: 1, actor: "bob", forced: false, audit: TestStores.audit("alias.set", "m/production"))
        try await store.setAlias(model: "m", alias: "production", version: 2, actor: "bob", forced: true, audit: TestStores.audit("alias.set", "m/production"))
        #expect(try await store.latestAliasMoveID() > before)
        #expect(try await store.aliases(model: "m").map(\.version) == [2])
        let moves = try await store.aliasMoves(model: "m")
        #expect(moves.map(\.from) == [nil, 1])
        #expect(moves.map(\.to) == [1, 2])
        #expect(moves.map(\.forced) == [false, true])
        let audit = try await store.auditEvents(target: "m", limit: 10)
        #expect(audit.first?.before == "v1")
        #expect(audit.first?.after == "v2")
        try await store.removeAlias(model: "m", alias: "production", actor: "bob", audit: TestStores.audit("alias.rm", "m/production"))
        #expect(try await store.aliases(model: "m").isEmpty)
    }

    @Test(arguments: StoreKind.enabled)
    func aliasToUnknownVersionIsRefusedAndChangesNothing(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        let error = await #expect(throws: KeelError.self) {
            try await store.setAlias(model: "m", alias: "production", version: 7, actor: "x", forced: false, audit: TestStores.audit("alias.set", "m"))
        }
        #expect(error?.code == .notFound)
        #expect(try await store.aliases(model: "m").isEmpty)
        #expect(try await store.auditEvents(target: "m", limit: 10).count == 1)
    }

    @Test(arguments: StoreKind.enabled)
    func versionBehindAnAliasCannotBeDeleted(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        try await store.setAlias(model: "m", alias: "staging", version: 1, actor: "x", forced: false, audit: TestStores.audit("alias.set", "m"))
        let error = await #expect(throws: KeelError.self) {
            try await store.deleteVersion(model: "m", version: 1, audit: TestStores.audit("version.delete", "m/1"))
        }
        #expect(error?.code == .conflict)
        #expect(error?.message.contains("staging") == true)
        try await store.deleteVersion(model: "m", version: 2, audit: TestStores.audit("version.delete", "m/2"))
        #expect(try await store.versions(model: "m").map(\.version) == [1])
        // Numbers are never reused.
        #expect(try await store.createVersion(version("m"), audit: TestStores.audit("register", "m")).version == 3)
    }

    @Test(arguments: StoreKind.enabled)
    func statusAndMetricsUpdateButArtifactStaysPut(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        var v = version("m", hash: "0123")
        v.metrics = ["accuracy": 0.8]
        _ = try await store.createVersion(v, audit: TestStores.audit("register", "m"))
        try await store.setStatus(model: "m", version: 1, status: .staging, audit: TestStores.audit("status", "m/1"))
        try await store.recordMetrics(model: "m", version: 1, metrics: ["roc_auc": 0.9, "accuracy": 0.85], audit: TestStores.audit("evaluate", "m/1"))
        let read = try #require(try await store.version(model: "m", version: 1))
        #expect(read.status == .staging)
        #expect(read.metrics == ["accuracy": 0.85, "roc_auc": 0.9])
        #expect(read.artifactSHA256 == "0123")
    }

    @Test(arguments: StoreKind.enabled)
    func gatesAreSetReplacedAndRemoved(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        try await store.setGate(GateRecord(model: "m", metric: "roc_auc", op: ">=", threshold: 0.8), audit: TestStores.audit("gate.set", "m"))
        try await store.setGate(GateRecord(model: "m", metric: "roc_auc", op: ">=", threshold: 0.85), audit: TestStores.audit("gate.set", "m"))
        try await store.setGate(GateRecord(model: "m", metric: "size_mb", op: "<=", threshold: 500), audit: TestStores.audit("gate.set", "m"))
        #expect(try await store.gates(model: "m").map { "\($0.metric) \($0.op) \($0.threshold)" } == ["roc_auc >= 0.85", "size_mb <= 500.0"])
        try await store.removeGate(model: "m", metric: "size_mb", op: "<=", audit: TestStores.audit("gate.rm", "m"))
        #expect(try await store.gates(model: "m").count == 1)
        await #expect(throws: KeelError.self) {
            try await store.setGate(GateRecord(model: "nope", metric: "x", op: ">=", threshold: 1), audit: TestStores.audit("gate.set", "nope"))
        }
    }

    @Test(arguments: StoreKind.enabled)
    func keysAreFoundByHashAndRevoked(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        let key = APIKeyRecord(id: "k1", name: "ci", role: "deployer", keyHash: "hash1", createdBy: "admin", expiresAt: Date(timeIntervalSince1970: 2_000_000_000), models: ["churn", "fraud"])
        try await store.createKey(key, audit: TestStores.audit("key.create", "keys/k1"))
        #expect(try await store.key(hash: "hash1")?.role == "deployer")
        #expect(try await store.key(hash: "hash1")?.models == ["churn", "fraud"])
        #expect(try await store.key(hash: "hash1")?.expiresAt == Date(timeIntervalSince1970: 2_000_000_000))
        try await store.write { tx throws(KeelError) in try await tx.rehashKey(id: "k1", from: "hash1", to: "hash2") }
        #expect(try await store.key(hash: "hash1") == nil)
        try await store.write { tx throws(KeelError) in try await tx.rehashKey(id: "k1", from: "hash2", to: "hash1") }
        #expect(try await store.key(hash: "other") == nil)
        try await store.revokeKey(id: "k1", audit: TestStores.audit("key.revoke", "keys/k1"))
        #expect(try await store.key(hash: "hash1")?.revokedAt != nil)
        await #expect(throws: KeelError.self) { try await store.revokeKey(id: "k1", audit: TestStores.audit("key.revoke", "keys/k1")) }
        #expect(try await store.keys().count == 1)
    }

    @Test(arguments: StoreKind.enabled)
    func auditIsNewestFirstAndFiltersByTarget(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        try await store.appendAudit(AuditEventRecord(actor: "a", action: "one", target: "churn"))
        try await store.appendAudit(AuditEventRecord(actor: "a", action: "two", target: "churn/3"))
        try await store.appendAudit(AuditEventRecord(actor: "a", action: "three", target: "churnx"))
        #expect(try await store.auditEvents(target: nil, limit: 10).map(\.action) == ["three", "two", "one"])
        #expect(try await store.auditEvents(target: "churn", limit: 10).map(\.action) == ["two", "one"])
        #expect(try await store.auditEvents(target: nil, limit: 1).map(\.action) == ["three"])
    }

    @Test(arguments: StoreKind.enabled)
    func deletingAModelIsRefusedWhileAliased(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        try await store.setAlias(model: "m", alias: "production", version: 1, actor: "x", forced: false, audit: TestStores.audit("alias.set", "m"))
        await #expect(throws: KeelError.self) { try await store.deleteModel(named: "m", audit: TestStores.audit("model.delete", "m")) }
        try await store.removeAlias(model: "m", alias: "production", actor: "x", audit: TestStores.audit("alias.rm", "m"))
        try await store.deleteModel(named: "m", audit: TestStores.audit("model.delete", "m"))
        #expect(try await store.model(named: "m") == nil)
        #expect(try await store.versions(model: "m").isEmpty)
    }

    @Test(arguments: StoreKind.enabled)
    func createModelTwiceIsAConflict(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        try await store.createModel(RegisteredModelRecord(name: "m", description: "d", tags: ["a": "b"], owner: "o"), audit: TestStores.audit("model.create", "m"))
        let error = await #expect(throws: KeelError.self) {
            try await store.createModel(RegisteredModelRecord(name: "m"), audit: TestStores.audit("model.create", "m"))
        }
        #expect(error?.code == .conflict)
        #expect(try await store.model(named: "m")?.tags == ["a": "b"])
    }
}
