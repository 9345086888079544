import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelEngine
import KeelServer
import KeelServing
import KeelTestSupport
import Synchronization
import Testing

/// Circuit breaker and fallback end to end: a version that fails server-side is answered by
/// its fallback (marked on v2 and records, counted in the metrics), its breaker opens after
/// the configured failures and a probe closes it again; client errors count for nothing.
@Suite struct ResilienceTests {
    static let v2Body = try! TestServer.bytes(TestServer.models.appendingPathComponent("churn/sample_request.json"))
    static let recordsBody = try! TestServer.bytes(TestServer.models.appendingPathComponent("churn/sample_records.json"))

    /// A manager serving the churn model as `name` version 1 through a `SwitchableModel`, with
    /// the churn config plus `extra` (YAML lines).
    static func serve(_ manager: ModelManager? = nil, name: String = "churn", extra: String) async throws -> (ModelManager, SwitchableModel) {
        let manager = if let manager { manager } else { try await TestServer.manager(repository: nil) }
        let model = try SwitchableModel.churn()
        let config = try ModelConfig.parse(yaml: try TestRegistry.churnConfigYAML() + "\n" + extra, source: "\(name) config")
        try await manager.add(name: name, version: "1", model: model, config: config)
        return (manager, model)
    }

    static func metric(_ client: any TestClientProtocol, _ series: String) async throws -> Double? {
        let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    static let staticDefault = "fallback: {outputs: {probabilities: [0.75, 0.25], label: 0}}"

    @Test func theBreakerOpensAfterConsecutiveFailuresAndTheStaticDefaultAnswersMarked() async throws {
        let (manager, model) = try await Self.serve(extra: "circuit_breaker: {consecutive_failures: 2, open_s: 60}\n" + Self.staticDefault)
        model.failing = true
        let before = model.calls
        try await TestServer.app(manager).test(.router) { client in
            // Both failures are answered by the fallback (a server-side failure with a fallback).
            let v2 = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: Self.v2Body)
            #expect(v2.status == .ok, "\(String(buffer: v2.body))")
            let answer = try TestServer.json(v2)
            #expect(answer["parameters"]?["fallback"] == .bool(true))
            #expect(answer["model_version"]?.stringValue == "1")
            let probabilities = answer["outputs"]?.arrayValue?.first { $0["name"]?.stringValue == "probabilities" }
            #expect(probabilities?["shape"] == .array([3, 2]))
            #expect(probabilities?["data"]?.arrayValue?.compactMap(\.doubleValue) == [0.75, 0.25, 0.75, 0.25, 0.75, 0.25])
            let labels = answer["outputs"]?.arrayValue?.first { $0["name"]?.stringValue == "label" }
            #expect(labels?["datatype"]?.stringValue == "INT64" && labels?["data"]?.arrayValue?.compactMap(\.doubleValue) == [0, 0, 0])

            let records = try TestServer.json(try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: Self.recordsBody))
            let predictions = try #require(records["predictions"]?.arrayValue)
            #expect(predictions.count == 3)
            for p in predictions {
                #expect(p["fallback"] == .bool(true))
                #expect(p["label"]?.stringValue == "stay")
                #expect(p["probability"]?.doubleValue == 0.25)
                #expect(p["risk_band"]?.stringValue == "low")
            }
            #expect(model.calls == before + 2)

            // Open: the version is not even tried.
            let third = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: Self.v2Body)
            #expect(try TestServer.json(third)["parameters"]?["fallback"] == .bool(true))
            #expect(model.calls == before + 2)

            let series = #"{model="churn",version="1"}"#
            #expect(try await Self.metric(client, "keel_circuit_breaker_state" + series) == 1)
            #expect(try await Self.metric(client, "keel_circuit_breaker_trips_total" + series) == 1)
            #expect(try await Self.metric(client, "keel_fallback_total" + series) == 3)
        }
        let service = InferenceService(manager: manager)
        #expect(service.breakerTrips(model: "churn", version: "1") == 1)
        #expect(service.breakerTripped(model: "churn", version: "1"))
        #expect(service.breakerTrips(model: "churn", version: "9") == 0)
    }

    @Test func afterOpenSecondsAProbeThatSucceedsClosesTheBreaker() async throws {
        let (manager, model) = try await Self.serve(extra: "circuit_breaker: {consecutive_failures: 1, open_s: 1}\n" + Self.staticDefault)
        try await TestServer.app(manager).test(.router) { client in
            model.failing = true
            _ = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: Self.v2Body)
            let series = #"keel_circuit_breaker_state{model="churn",version="1"}"#
            #expect(try await Self.metric(client, series) == 1)
            model.failing = false
            // (The state changes only when a request asks, so this holds on a slow machine too.)
            try await Task.sleep(for: .milliseconds(1_100))
            let probe = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: Self.v2Body)
            #expect(probe.status == .ok)
            #expect(try TestServer.json(probe)["parameters"] == nil, "the probe was answered by the version itself")
            #expect(try await Self.metric(client, series) == 0)
            let records = try TestServer.json(try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: Self.recordsBody))
            #expect(records["predictions"]?.arrayValue?.allSatisfy { $0["fallback"] == nil } == true)
        }
    }

    @Test func aFallbackModelAnswersWithItsOwnPrediction() async throws {
        let (manager, model) = try await Self.serve(extra: "fallback: {model: churn-small}")
        _ = try await Self.serve(manager, name: "churn-small", extra: "")
        model.failing = true
        try await TestServer.app(manager).test(.router) { client in
            let direct = try TestServer.json(try await client.execute(uri: "/v1/models/churn-small:predict", method: .post, body: Self.recordsBody))
            let viaFallback = try TestServer.json(try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: Self.recordsBody))
            #expect(viaFallback["model_name"]?.stringValue == "churn")
            let predictions = try #require(viaFallback["predictions"]?.arrayValue)
            let expected = try #require(direct["predictions"]?.arrayValue)
            #expect(predictions.count == 3)
            for (p, e) in zip(predictions, expected) {
                #expect(p["fallback"] == .bool(true))
                #expect(p["probability"] == e["probability"] && p["label"] == e["label"])
                #expect(p["customer_id"] == e["customer_id"])
            }
            let v2 = try TestServer.json(try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: Self.v2Body))
            #expect(v2["parameters"] == .object(["fallback": true, "fallback_model": "churn-small", "fallback_version": "1"]))
            #expect(v2["outputs"]?.arrayValue?.count == 2)
            #expect(try await Self.metric(client, #"keel_fallback_total{model="churn",version="1"}"#) == 2)
        }
    }

    @Test func clientErrorsNeitherTripTheBreakerNorGetAFallback() async throws {
        let (manager, model) = try await Self.serve(extra: "circuit_breaker: {consecutive_failures: 1}\n" + Self.staticDefault)
        model.failing = true  // would fail, were the request well formed
        let bad = TestServer.body(#"{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]}"#)
        try await TestServer.app(manager).test(.router) { client in
            for _ in 0..<5 {
                let r = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: bad)
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("input 'input' has shape [1,3], model expects [-1,22]"))
            }
            let badRecords = TestServer.body(#"{"instances":[{"age":"old"}]}"#)
            #expect(try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: badRecords).status == .badRequest)
            #expect(try await Self.metric(client, #"keel_circuit_breaker_state{model="churn",version="1"}"#) == 0)
            #expect(try await Self.metric(client, #"keel_fallback_total{model="churn",version="1"}"#) == 0)
            // Refused before the version runs, they are still counted as its failed requests.
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            let refused = metrics.split(separator: "\n").first { $0.hasPrefix("keel_inference_requests_total{") && $0.contains(#"reason="invalid_input""#) }
            #expect(refused?.hasSuffix(" 5") == true, "\(refused ?? "no invalid_input series")")
        }
    }

    @Test func anOpenBreakerWithoutAFallbackAnswers503() async throws {
        let (manager, model) = try await Self.serve(extra: "circuit_breaker: {consecutive_failures: 1, open_s: 60}")
        model.failing = true
        try await TestServer.app(manager).test(.router) { client in
            let first = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: Self.v2Body)
            #expect(first.status == .internalServerError)
            let calls = model.calls
            let second = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: Self.v2Body)
            #expect(second.status == .serviceUnavailable)
            #expect(String(buffer: second.body).contains("model 'churn' version 1 is failing: its circuit breaker is open for about"))
            #expect(model.calls == calls)
        }
    }
}

/// The churn model, failing server-side (500) while `failing` is set; counts the calls that reached it.
final class SwitchableModel: LoadedModel {
    let inner: any LoadedModel
    private let state = Mutex((failing: false, calls: 0))

    init(_ inner: any LoadedModel) { self.inner = inner }

    static func churn() throws -> SwitchableModel {
        SwitchableModel(try ModelLoader().load(ModelArtifact(bytes: try TestRegistry.churnModelBytes(), filename: "model.json")))
    }

    var metadata: ModelMetadata { inner.metadata }

    var failing: Bool {
        get { state.withLock { $0.failing } }
        set { state.withLock { $0.failing = newValue } }
    }

    var calls: Int { state.withLock { $0.calls } }

    func infer(_ inputs: [String: Tensor]) throws(KeelError) -> [String: Tensor] {
        let failing = state.withLock { s in
            s.calls += 1
            return s.failing
        }
        if failing { throw KeelError(.internal, "the engine failed (test model switched to failing)") }
        return try inner.infer(inputs)
    }
}
