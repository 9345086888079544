import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelRegistry
import KeelServer
import KeelServing
import KeelStore
import KeelTestSupport
import Logging
import Testing

/// A/B experiments end to end: the API starts one, the router splits records over the arms
/// by entity, outcomes arrive as feedback, the analysis names a winner (or none) and stopping
/// promotes it.
@Suite(.serialized) struct ExperimentTests {
    static func json(_ r: TestResponse) throws -> JSONValue { try TestServer.json(r) }

    typealias Draws = SeededDraws

    /// `count` customers (holdout records with new ids), scored through the records API in
    /// requests of 100; returns which version served each.
    static func score(_ client: some TestClientProtocol, _ records: [[String: JSONValue]], count: Int, prefix: String) async throws -> [(id: String, version: String)] {
        var served: [(String, String)] = []
        for start in stride(from: 0, to: count, by: 100) {
            let batch: [[String: JSONValue]] = (start..<min(count, start + 100)).map { i in
                var r = records[i % records.count]
                r["customer_id"] = .string("\(prefix)\(i)")
                return r
            }
            let r = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(batch[...]))
            #expect(r.status == .ok)
            for p in try json(r)["predictions"]?.arrayValue ?? [] {
                if let id = p["customer_id"]?.stringValue, let v = p["model_version"]?.stringValue { served.append((id, v)) }
            }
        }
        return served
    }

    /// Outcomes drawn per customer at the rate of the arm that served it.
    static func feedback(_ client: some TestClientProtocol, _ served: [(id: String, version: String)], rates: [String: Double], seed: UInt64) async throws {
        var g = Draws(state: seed)
        let items: [JSONValue] = served.map { s in
            .object(["entity_id": .string(s.id), "label": .string(g.next() < rates[s.version, default: 0] ? "churn" : "stay")])
        }
        var w = JSONWriter()
        w.value(.object(["feedback": .array(items)]))
        let r = try await client.execute(uri: "/api/v1/models/churn/feedback", method: .post, body: ByteBuffer(bytes: w.bytes))
        #expect(try json(r)["matched"]?.intValue == served.count)
    }

    static let body = TestServer.body(#"""
        {"arms":[{"name":"control","version":1},{"name":"treatment","version":2}],"metric":"label_mean","minimum_detectable_effect":0.05,"min_samples":200}
        """#)

    @Test(arguments: StoreKind.enabled) func aKnownEffectIsSignificantAndTheWinnerIsPromoted(_ kind: StoreKind) async throws {
        let (s, controller) = try await RolloutTests.start(kind)
        let records = ChurnRows.load(try TestRegistry.churnHoldoutCSV()).records
        let deployer = TestServer.bearer(s.keys.deployer)
        let viewer = TestServer.bearer(s.keys.viewer)
        try await s.app.test(.router) { client in
            #expect(try await client.execute(uri: "/api/v1/models/churn/experiments", method: .post, headers: viewer, body: Self.body).status == .forbidden)
            let started = try await client.execute(uri: "/api/v1/models/churn/experiments", method: .post, headers: deployer, body: Self.body)
            #expect(started.status == .created)
            #expect(try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: RolloutTests.startBody(#""interval":5"#)).status == .conflict,
                    "one rollout or experiment at a time")
            try await s.follower.sync()
            await controller.tick()
            #expect(s.router.split(for: "churn")?.arms.map(\.version) == ["1", "2"])
            let served = try await Self.score(client, records, count: 3_000, prefix: "e")
            let byVersion = Dictionary(grouping: served, by: \.version).mapValues(\.count)
            #expect((byVersion["1"] ?? 0) > 1_300 && (byVersion["2"] ?? 0) > 1_300, "\(byVersion)")
            // Sticky: the same customers get the same arms again.
            let again = try await Self.score(client, records, count: 300, prefix: "e")
            #expect(again.map(\.version) == Array(served.prefix(300)).map(\.version))
            await s.writer.flush()
            // The treatment's customers churn at 35 %, the control's at 20 %: a true effect of 0.15.
            try await Self.feedback(client, served, rates: ["1": 0.20, "2": 0.35], seed: 42)
            let status = try Self.json(try await client.execute(uri: "/api/v1/models/churn/experiments/current", method: .get, headers: viewer))
            let result = status["result"] ?? .null
            #expect(status["state"] == "running")
            #expect(result["verdict"] == "winner" && result["winner"] == "treatment", "\(result)")
            let c = result["comparisons"]?.arrayValue?.first ?? .null
            #expect((c["p_value"]?.doubleValue ?? 1) < 1e-6)
            #expect((c["ci_lower"]?.doubleValue ?? 1) < 0.15 && (c["ci_upper"]?.doubleValue ?? 0) > 0.15, "\(c)")
            #expect(result["arms"]?.arrayValue?.map { $0["samples"]?.intValue ?? 0 }.reduce(0, +) == 3_000, "repeat predictions of a customer are labelled once")
            #expect(try await client.execute(uri: "/api/v1/models/churn/experiments/current/stop", method: .post, headers: viewer, body: TestServer.body(#"{"promote":true}"#)).status == .forbidden)
            let stopped = try Self.json(try await client.execute(
                uri: "/api/v1/models/churn/experiments/current/stop", method: .post, headers: deployer, body: TestServer.body(#"{"promote":true}"#)))
            #expect(stopped["state"] == "promoted", "\(stopped)")
            #expect(stopped["result"]?["winner"] == "treatment")
            #expect(try await s.registry.aliases("churn").map { "\($0.alias)=\($0.version)" } == ["production=2"])
            await controller.tick()
            #expect(s.router.split(for: "churn") == nil)
            let audit = try await s.registry.store.auditEvents(target: nil, limit: 20).map(\.action)
            #expect(audit.contains("experiment.start") && audit.contains("experiment.promote"), "\(audit)")
            // Rollout routes do not see experiments.
            #expect(try await client.execute(uri: "/api/v1/models/churn/rollouts/current", method: .get, headers: viewer).status == .notFound)
        }
        await s.stop()
    }

    @Test func noTrueEffectIsNoDifferenceAndThereIsNothingToPromote() async throws {
        let (s, controller) = try await RolloutTests.start(.sqlite)
        let records = ChurnRows.load(try TestRegistry.churnHoldoutCSV()).records
        let deployer = TestServer.bearer(s.keys.deployer)
        try await s.app.test(.router) { client in
            #expect(try await client.execute(uri: "/api/v1/models/churn/experiments", method: .post, headers: deployer, body: Self.body).status == .created)
            try await s.follower.sync()
            await controller.tick()
            let early = try await Self.score(client, records, count: 600, prefix: "n")
            await s.writer.flush()
            try await Self.feedback(client, early, rates: ["1": 0.25, "2": 0.25], seed: 7)
            let first = try Self.json(try await client.execute(uri: "/api/v1/models/churn/experiments/current", method: .get, headers: deployer))["result"] ?? .null
            #expect(first["verdict"] == "undecided", "short of the sample size the effect needs: \(first)")
            let rest = try await Self.score(client, records, count: 2_800, prefix: "m")
            await s.writer.flush()
            try await Self.feedback(client, rest, rates: ["1": 0.25, "2": 0.25], seed: 8)
            let result = try Self.json(try await client.execute(uri: "/api/v1/models/churn/experiments/current", method: .get, headers: deployer))["result"] ?? .null
            #expect(result["verdict"] == "no_difference", "\(result)")
            let refused = try await client.execute(
                uri: "/api/v1/models/churn/experiments/current/stop", method: .post, headers: deployer, body: TestServer.body(#"{"promote":true}"#))
            #expect(refused.status == .conflict)
            let stopped = try Self.json(try await client.execute(uri: "/api/v1/models/churn/experiments/current/stop", method: .post, headers: deployer))
            #expect(stopped["state"] == "stopped" && stopped["result"]?["verdict"] == "no_difference")
            #expect(try await s.registry.aliases("churn").map { "\($0.alias)=\($0.version)" } == ["production=1"])
        }
        await s.stop()
    }

    @Test func badDesignsAreRefusedAndTheArmAliasesAreReserved() async throws {
        let (s, _) = try await RolloutTests.start(.sqlite)
        let deployer = TestServer.bearer(s.keys.deployer)
        try await s.app.test(.router) { client in
            let arms = #""arms":[{"name":"a","version":1},{"name":"b","version":2}]"#
            for (body, status) in [
                (#"{"metric":"label_mean"}"#, HTTPResponse.Status.badRequest),
                (#"{"arms":[{"name":"a","version":1}],"metric":"label_mean"}"#, .badRequest),
                (#"{"arms":[{"name":"a","version":1},{"name":"a","version":2}],"metric":"label_mean"}"#, .badRequest),
                (#"{"arms":[{"name":"a","version":1},{"name":"b","version":1}],"metric":"label_mean"}"#, .badRequest),
                (#"{"arms":[{"name":"a","version":1,"weight":60},{"name":"b","version":2,"weight":60}],"metric":"label_mean"}"#, .badRequest),
                (#"{"arms":[{"name":"a","version":1,"weight":-1},{"name":"b","version":2,"weight":101}],"metric":"label_mean"}"#, .badRequest),
                (#"{"arms":[{"name":"A B","version":1},{"name":"b","version":2}],"metric":"label_mean"}"#, .badRequest),
                (#"{"arms":[{"name":"a","version":1,"color":1},{"name":"b","version":2}],"metric":"label_mean"}"#, .badRequest),
                ("{\(arms),\"metric\":\"f1\"}", .badRequest),
                ("{\(arms),\"metric\":\"label_mean\",\"alpha\":2}", .badRequest),
                ("{\(arms),\"metric\":\"label_mean\",\"power\":1}", .badRequest),
                ("{\(arms),\"metric\":\"label_mean\",\"minimum_detectable_effect\":-1}", .badRequest),
                ("{\(arms),\"metric\":\"label_mean\",\"min_samples\":1}", .badRequest),
                ("{\(arms),\"metric\":\"label_mean\",\"goal\":\"up\"}", .badRequest),
                ("{\(arms),\"metric\":\"label_mean\",\"color\":1}", .badRequest),
                (#"{"arms":[{"name":"a","version":1},{"name":"b","version":99}],"metric":"label_mean"}"#, .notFound),
            ] {
                let r = try await client.execute(uri: "/api/v1/models/churn/experiments", method: .post, headers: deployer, body: TestServer.body(body))
                #expect(r.status == status, "\(body): \(r.status)")
                #expect(try Self.json(r)["error"]?.stringValue != nil)
            }
            #expect(try await client.execute(uri: "/api/v1/models/churn/experiments/current/stop", method: .post, headers: deployer).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/models/churn/experiments/current", method: .get, headers: deployer).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/models/nope/experiments", method: .get, headers: deployer).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/models/nope/experiments", method: .post, headers: deployer, body: Self.body).status == .notFound)
            #expect(try await s.registry.rollouts("churn", experiment: true).isEmpty, "nothing was stored")
            // A running experiment refuses malformed stop bodies and keeps running.
            #expect(try await client.execute(uri: "/api/v1/models/churn/experiments", method: .post, headers: deployer, body: TestServer.body("{\(arms),\"metric\":\"label_mean\"}")).status == .created)
            for body in [#"{"promote":"yes"}"#, #"{"color":1}"#, "[1]", "{"] {
                let r = try await client.execute(uri: "/api/v1/models/churn/experiments/current/stop", method: .post, headers: deployer, body: TestServer.body(body))
                #expect(r.status == .badRequest, "\(body): \(r.status)")
                #expect(try Self.json(r)["error"]?.stringValue != nil)
            }
            #expect(try Self.json(try await client.execute(uri: "/api/v1/models/churn/experiments/current", method: .get, headers: deployer))["state"] == "running")
            let reserved = try await client.execute(uri: "/api/v1/models/churn/aliases/experiment-a", method: .put, headers: deployer, body: TestServer.body(#"{"version":2}"#))
            #expect(reserved.status == .conflict)
            #expect(try await s.registry.rollouts("churn", experiment: true).count == 1, "the stop refusals changed nothing")
        }
        await s.stop()
    }
}
