import Foundation
import KeelCore
import KeelStore
import KeelTestSupport
import Testing

/// Measured and reported metrics are stored apart, and only finite values are stored.
@Suite struct MetricProvenanceTests {
    func version(_ model: String, measured: [String: Double] = [:], reported: [String: Double] = [:]) -> ModelVersionRecord {
        ModelVersionRecord(model: model, artifactSHA256: "ab", format: "xgboost_json", sizeBytes: 10, metrics: measured, reportedMetrics: reported)
    }

    @Test(arguments: StoreKind.enabled)
    func measuredAndReportedMetricsRoundTripApart(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m", measured: ["size_mb": 0.5], reported: ["roc_auc": 0.9]), audit: TestStores.audit("register", "m"))
        try await store.recordMetrics(model: "m", version: 1, metrics: ["roc_auc": 0.8], audit: TestStores.audit("evaluate", "m/1"))
        let read = try #require(try await store.version(model: "m", version: 1))
        #expect(read.metrics == ["size_mb": 0.5, "roc_auc": 0.8])
        #expect(read.reportedMetrics == ["roc_auc": 0.9])
    }

    @Test(arguments: StoreKind.enabled, [Double.nan, .infinity, -.infinity])
    func nonFiniteMetricsAreRefusedAtRegistration(kind: StoreKind, bad: Double) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        for record in [version("m", reported: ["roc_auc": bad]), version("m", measured: ["log_loss": bad])] {
            let error = await #expect(throws: KeelError.self) {
                _ = try await store.createVersion(record, audit: TestStores.audit("register", "m"))
            }
            #expect(error?.code == .invalidInput)
            #expect(error?.message.contains("expected a finite number") == true)
        }
        #expect(try await store.model(named: "m") == nil)
        #expect(try await store.auditEvents(target: nil, limit: 10).isEmpty)
    }

    @Test(arguments: StoreKind.enabled, [Double.nan, .infinity, -.infinity])
    func nonFiniteMeasuredMetricsAreRefusedAndKeepTheOldOnes(kind: StoreKind, bad: Double) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m", measured: ["accuracy": 0.7]), audit: TestStores.audit("register", "m"))
        let error = await #expect(throws: KeelError.self) {
            try await store.recordMetrics(model: "m", version: 1, metrics: ["accuracy": 0.9, "r2": bad], audit: TestStores.audit("evaluate", "m/1"))
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("'r2'") == true)
        #expect(try await store.version(model: "m", version: 1)?.metrics == ["accuracy": 0.7])
    }

    @Test(arguments: StoreKind.enabled)
    func gatesKeepWhetherTheyAcceptReportedValues(kind: StoreKind) async throws {
        let store = try await TestStores.make(kind)
        defer { Task { await store.close() } }
        _ = try await store.createVersion(version("m"), audit: TestStores.audit("register", "m"))
        try await store.setGate(GateRecord(model: "m", metric: "roc_auc", op: ">=", threshold: 0.85, acceptReported: true), audit: TestStores.audit("gate.set", "m"))
        try await store.setGate(GateRecord(model: "m", metric: "f1", op: ">=", threshold: 0.5), audit: TestStores.audit("gate.set", "m"))
        #expect(try await store.gates(model: "m").map(\.acceptReported) == [false, true])
        let error = await #expect(throws: KeelError.self) {
            try await store.setGate(GateRecord(model: "m", metric: "f1", op: ">=", threshold: .nan), audit: TestStores.audit("gate.set", "m"))
        }
        #expect(error?.code == .invalidInput)
    }

    @Test func metricSetsAreBoundedAndNamed() {
        var many: [String: Double] = [:]
        for i in 0...MetricValues.maximumCount { many["m\(i)"] = 1 }
        #expect(throws: KeelError.self) { try MetricValues.validate(many, source: "test") }
        #expect(throws: KeelError.self) { try MetricValues.validate(["": 1], source: "test") }
        #expect(throws: KeelError.self) { try MetricValues.validate([String(repeating: "x", count: 129): 1], source: "test") }
        #expect(throws: KeelError.self) { try MetricValues.validate(["bad\u{0}name": 1], source: "test") }
        #expect(throws: Never.self) { try MetricValues.validate(["roc_auc": 0.9, "p95_latency_ms": 3], source: "test") }
    }
}
