import Foundation
import KeelCore
import KeelEngine
@testable import KeelServing
import Testing

/// config.yaml's `circuit_breaker`, `fallback` and `cache` sections: bounded, typed, named in
/// every error; a static default answer checked against the model's outputs.
@Suite struct ResilienceConfigTests {
    func message(_ yaml: String) -> String? { ModelConfigTests().message(yaml) }

    @Test func aFullConfigurationParses() throws {
        let config = try ModelConfig.parse(yaml: """
            circuit_breaker: {consecutive_failures: 3, error_rate: 0.5, window_s: 30, min_requests: 20, p99_latency_ms: 500, open_s: 10}
            fallback: {model: churn-small, version: 1}
            cache: {ttl_s: 60, max_entries: 10000, max_bytes: 1048576}
            """, source: "m")
        let b = try #require(config.circuitBreaker)
        #expect(b.consecutiveFailures == 3 && b.errorRate == 0.5 && b.minimumRequests == 20 && b.p99LatencyMs == 500)
        #expect(b.window == .seconds(30) && b.openDuration == .seconds(10))
        #expect(config.fallback == .model(name: "churn-small", version: "1"))
        #expect(config.cache == {
            var c = PredictionCacheSettings()
            c.ttl = .seconds(60)
            c.maxEntries = 10_000
            c.maxBytes = 1 << 20
            return c
        }())
    }

    @Test func sectionsAreOffWhenAbsentAndDefaultedWhenEmpty() throws {
        let none = try ModelConfig.parse(yaml: "max_batch_size: 8", source: "m")
        #expect(none.circuitBreaker == nil && none.fallback == nil && none.cache == nil)
        let empty = try ModelConfig.parse(yaml: "circuit_breaker: {}\ncache: {}", source: "m")
        #expect(empty.circuitBreaker?.consecutiveFailures == 5)
        #expect(empty.circuitBreaker?.errorRate == nil)
        #expect(empty.cache?.maxEntries == 10_000 && empty.cache?.ttl == .seconds(60))
    }

    @Test("every number is bounded and named", arguments: [
        ("circuit_breaker: {consecutive_failures: -1}", "circuit_breaker: 'consecutive_failures' must be an integer from 0 to 10000, got -1"),
        ("circuit_breaker: {consecutive_failures: 1e9}", "circuit_breaker: 'consecutive_failures' must be an integer from 0 to 10000, got 1000000000.0"),
        ("circuit_breaker: {error_rate: 1}", "circuit_breaker: 'error_rate' must be above 0 and below 1, got 1.0"),
        ("circuit_breaker: {error_rate: .nan}", "circuit_breaker: 'error_rate' must be a finite number from 0.0 to 1.0, got nan"),
        ("circuit_breaker: {window_s: 0}", "circuit_breaker: 'window_s' must be a finite number from 1.0 to 3600.0, got 0"),
        ("circuit_breaker: {min_requests: 0}", "circuit_breaker: 'min_requests' must be an integer from 1 to 1000000, got 0"),
        ("circuit_breaker: {p99_latency_ms: -5}", "circuit_breaker: 'p99_latency_ms' must be a finite number from 0.1 to 3600000.0, got -5"),
        ("circuit_breaker: {open_s: 100000}", "circuit_breaker: 'open_s' must be a finite number from 1.0 to 3600.0, got 100000"),
        ("circuit_breaker: {consecutive_failures: 0}", "circuit_breaker: no trigger is on: set 'consecutive_failures' above 0, 'error_rate' or 'p99_latency_ms'"),
        ("circuit_breaker: {retries: 3}", "circuit_breaker: unknown key 'retries' (known: consecutive_failures, error_rate, min_requests, open_s, p99_latency_ms, window_s)"),
        ("circuit_breaker: 5", "circuit_breaker must be a mapping, got an integer"),
        ("cache: {ttl_s: 0.5}", "cache: 'ttl_s' must be a finite number from 1.0 to 86400.0, got 0.5"),
        ("cache: {ttl_s: 86401}", "cache: 'ttl_s' must be a finite number from 1.0 to 86400.0, got 86401"),
        ("cache: {max_entries: 1000001}", "cache: 'max_entries' must be an integer from 1 to 1000000, got 1000001"),
        ("cache: {max_bytes: 10}", "cache: 'max_bytes' must be an integer from 1024 to 4294967296, got 10"),
        ("fallback: {}", "fallback: needs 'model' (another served model) or 'outputs' (a static default answer)"),
        ("fallback: {model: a, outputs: {y: 1}}", "fallback: give either 'model' or 'outputs', not both"),
        ("fallback: {model: ../etc}", "fallback: 'model' must be a model name (1–128 ASCII letters, digits, '-', '_' or '.')"),
        ("fallback: {model: a, version: 'x/y'}", "fallback: 'version' must be a version number or an alias, got 'x/y'"),
        ("fallback: {outputs: [1, 2]}", "fallback: 'outputs' must map output names to one row's value, got a list"),
        ("fallback: {outputs: {y: 1}, version: 2}", "fallback: 'version' goes with 'model', not with 'outputs'"),
    ])
    func resilienceValuesAreValidatedByName(_ yaml: String, _ expected: String) {
        #expect(message(yaml) == "m/config.yaml: " + expected)
    }

    static let outputs = [
        TensorSignature(name: "probabilities", dataType: .fp32, shape: [-1, 2]),
        TensorSignature(name: "label", dataType: .int64, shape: [-1]),
    ]

    static func staticAnswer(_ yaml: String) throws(KeelError) -> StaticAnswer {
        let config = try ModelConfig.parse(yaml: yaml, source: "m")
        guard case .outputs(let values) = config.fallback else { throw KeelError.invalidInput("no static fallback") }
        return try StaticAnswer(values, signatures: outputs, what: "m version 1")
    }

    static func failure(_ yaml: String) -> String? {
        do {
            _ = try staticAnswer(yaml)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func aStaticAnswerIsBroadcastOverTheRequestsRows() throws {
        let answer = try Self.staticAnswer("fallback: {outputs: {probabilities: [0.9, 0.1], label: 0}}")
        let t = answer.tensors(rows: 3)
        #expect(t["probabilities"] == Tensor(unchecked: [3, 2], data: .fp32([0.9, 0.1, 0.9, 0.1, 0.9, 0.1])))
        #expect(t["label"] == Tensor(unchecked: [3], data: .int64([0, 0, 0])))
    }

    @Test func aStaticAnswerThatDoesNotFitTheSignatureNamesTheOutput() {
        #expect(Self.failure("fallback: {outputs: {probabilities: [0.9, 0.1, 0.0], label: 0}}")
            == "m version 1: fallback: output 'probabilities' is FP32 [-1,2], so its value must be a row of shape [2]; got shape [3]")
        #expect(Self.failure("fallback: {outputs: {probabilities: [0.9, 0.1]}}")?.hasPrefix(
            "m version 1: fallback: 'outputs' has no value for output 'label' (INT64 [-1])") == true)
        #expect(Self.failure("fallback: {outputs: {probabilities: [0.9, 0.1], label: 0, score: 1}}")
            == "m version 1: fallback: the model has no output 'score' (its outputs: 'probabilities', 'label')")
        #expect(Self.failure("fallback: {outputs: {probabilities: [0.9, 0.1], label: 0.5}}")
            == "m version 1: fallback: output 'label' is INT64: element 0 must be an integer from \(Int64.min) to \(Int64.max), got a number")
        #expect(Self.failure("fallback: {outputs: {probabilities: [0.9, stay], label: 0}}")
            == "m version 1: fallback: output 'probabilities' is FP32: element 1 must be a number, got a string")
        #expect(Self.failure("fallback: {outputs: {probabilities: [[0.9], [0.1, 0.2]], label: 0}}")?.contains("ragged lists") == true)
    }

    @Test func loadingAVersionWithABadStaticAnswerFails() async throws {
        let model = try TestModels.churn()
        let manager = ModelManager(repository: nil, metrics: ServingMetrics())
        let config = try ModelConfig.parse(yaml: "fallback: {outputs: {probabilities: [0.9, 0.1], label: [0]}}", source: "churn")
        await #expect(throws: KeelError.self) { try await manager.add(name: "churn", version: "1", model: model, config: config) }
        do {
            try await manager.add(name: "churn", version: "1", model: model, config: config)
        } catch {
            #expect(error.message == "churn version 1: fallback: output 'label' is INT64 [-1], so its value must be a single value; got shape [1]")
        }
    }
}

/// The repository's churn model, loaded from models/churn/1.
enum TestModels {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func churn() throws -> any LoadedModel {
        let url = root.appendingPathComponent("models/churn/1/model.json")
        return try ModelLoader().load(ModelArtifact(bytes: [UInt8](try Data(contentsOf: url)), filename: "model.json"))
    }
}
