import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelServer
import KeelServing
import KeelStore
import KeelTestSupport
import Testing

/// The prediction cache end to end: a repeated request is answered without running the
/// version and counted; errors are never cached; a version change empties it; a cached answer
/// is still logged, marked cached.
@Suite struct PredictionCacheServingTests {
    static let series = #"{model="churn",version="1"}"#

    @Test func aRepeatedRequestIsAnsweredFromTheCacheAndCounted() async throws {
        let (manager, model) = try await ResilienceTests.serve(extra: "cache: {ttl_s: 60, max_entries: 100}")
        let before = model.calls
        try await TestServer.app(manager).test(.router) { client in
            var answers: [JSONValue] = []
            for _ in 0..<3 {
                let r = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: ResilienceTests.v2Body)
                #expect(r.status == .ok)
                answers.append(try TestServer.json(r))
            }
            #expect(model.calls == before + 1)
            #expect(answers[1] == answers[0] && answers[2] == answers[0])
            #expect(try await ResilienceTests.metric(client, "keel_cache_hits_total" + Self.series) == 2)
            #expect(try await ResilienceTests.metric(client, "keel_cache_misses_total" + Self.series) == 1)
            // Records are cached by the tensors their schema makes.
            let first = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ResilienceTests.recordsBody)
            let callsAfterFirst = model.calls
            let second = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ResilienceTests.recordsBody)
            #expect(model.calls == callsAfterFirst)
            #expect(String(buffer: first.body) == String(buffer: second.body))

            // Failures are not stored: each retry reaches the version.
            model.failing = true
            let other = TestServer.body(#"{"inputs":[{"name":"input","datatype":"FP32","shape":[1,22],"data":[1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0,1,0]}]}"#)
            let calls = model.calls
            for _ in 0..<2 {
                #expect(try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: other).status == .internalServerError)
            }
            #expect(model.calls == calls + 2)
            model.failing = false
            #expect(try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: other).status == .ok)
        }
    }

    @Test func installingNewVersionsEmptiesTheCache() async throws {
        let manager = try await TestServer.manager(repository: nil)
        let config = try ModelConfig.parse(yaml: try TestRegistry.churnConfigYAML() + "\ncache: {ttl_s: 60}", source: "churn")
        let model = try SwitchableModel.churn()
        let v1 = try await manager.prepare(name: "churn", version: "1", model: model, config: config)
        manager.install(name: "churn", versions: [v1], aliases: ["production": "1"], defaultVersion: "1")
        try await TestServer.app(manager).test(.router) { client in
            let calls = model.calls
            for _ in 0..<2 { _ = try await client.execute(uri: "/v2/models/churn/versions/1/infer", method: .post, body: ResilienceTests.v2Body) }
            #expect(model.calls == calls + 1)
            let v2 = try await manager.prepare(name: "churn", version: "2", model: try SwitchableModel.churn(), config: config)
            manager.install(name: "churn", versions: [v1, v2], aliases: ["production": "2", "staging": "1"], defaultVersion: "2")
            #expect(v1.resilience.cache?.count == 0)
            _ = try await client.execute(uri: "/v2/models/churn/versions/1/infer", method: .post, body: ResilienceTests.v2Body)
            #expect(model.calls == calls + 2, "version 1's answer was still cached after the model's versions changed")
        }
    }

    @Test func aVersionLoadedOverAnotherStartsWithAnEmptyCache() async throws {
        let (manager, first) = try await ResilienceTests.serve(extra: "cache: {ttl_s: 60}")
        try await TestServer.app(manager).test(.router) { client in
            _ = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: ResilienceTests.v2Body)
            // Version 1 replaced by another model: the old answer must not be served.
            let (_, second) = try await ResilienceTests.serve(manager, extra: "cache: {ttl_s: 60}")
            let calls = (first.calls, second.calls)
            _ = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: ResilienceTests.v2Body)
            #expect(first.calls == calls.0 && second.calls == calls.1 + 1)
        }
    }

    @Test func aCachedAnswerIsLoggedAsAPredictionMarkedCached() async throws {
        let s = try await MonitoredServer.start(config: try TestRegistry.churnConfigYAML() + "\ncache: {ttl_s: 60}")
        try await s.app.test(.router) { client in
            for _ in 0..<2 {
                #expect(try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ResilienceTests.recordsBody).status == .ok)
            }
            await s.writer.flush()
            let logged = try await s.registry.store.read { db throws(KeelError) in
                try await db.predictions(PredictionQuery(model: "churn", limit: 100))
            }
            #expect(logged.count == 6)
            let cached = logged.filter { $0.outputs.hasPrefix(#"{"cached":true,"label":"#) }
            #expect(cached.count == 3, "\(logged.map(\.outputs))")
            // The cached rows carry the same prediction as the computed ones.
            for row in cached {
                let computed = logged.first { $0.entityID == row.entityID && !$0.outputs.contains("cached") }
                #expect(computed?.score == row.score && computed?.label == row.label)
            }
        }
        await s.stop()
    }
}
