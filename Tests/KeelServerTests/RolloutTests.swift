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
import Synchronization
import Testing

/// Canary rollouts end to end: the API starts one, the router splits traffic row by row,
/// the controller analyses each step from the prediction log and promotes or rolls back.
@Suite(.serialized) struct RolloutTests {
    static func json(_ r: TestResponse) throws -> JSONValue { try TestServer.json(r) }

    /// A monitored server with churn v1 in production and v2 registered, and its controller.
    /// `slow`: v2 is the churn-shaped ONNX model made slow on purpose (scripts/fixtures/make_slow_onnx.py),
    /// with `extraConfig` appended to the churn config.
    static func start(_ kind: StoreKind, slow: Bool = false, extraConfig: String = "") async throws -> (MonitoredServer, RolloutController) {
        let router = DeploymentRouter()
        let s = try await MonitoredServer.start(kind, router: router)
        let bytes = slow
            ? try [UInt8](Data(contentsOf: TestRegistry.root.appendingPathComponent("Tests/Fixtures/onnx/slow_churn_mlp/model.onnx")))
            : try TestRegistry.churnModelBytes()
        let new = try RegistryImport.inspect(
            model: "churn", bytes: bytes, filename: slow ? "model.onnx" : "model.json", configYAML: try TestRegistry.churnConfigYAML() + extraConfig)
        _ = try await s.registry.register(new, by: .system)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let controller = RolloutController(
            registry: s.registry, router: router, monitoring: s.service, holder: "test-replica", metrics: s.manager.metrics, logger: logger)
        return (s, controller)
    }

    /// The value of one series in the server's Prometheus exposition (nil: no such series).
    static func sample(_ s: MonitoredServer, _ series: String) -> Double? {
        let text = String(decoding: s.manager.metrics.exposition(), as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    static func startBody(_ fields: String) -> ByteBuffer { TestServer.body("{\"version\":2,\(fields)}") }

    /// Sends the holdout's records in requests of 20 and checks every answer.
    static func traffic(_ client: some TestClientProtocol, _ records: [[String: JSONValue]], rounds: Int = 1) async throws -> (versions: Set<String>, mixed: Int) {
        var versions: Set<String> = []
        var mixed = 0
        for _ in 0..<rounds {
            for start in stride(from: 0, to: min(records.count, 200), by: 20) {
                let r = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(records[start..<min(start + 20, records.count)]))
                #expect(r.status == .ok)
                let doc = try json(r)
                let rows = doc["predictions"]?.arrayValue ?? []
                #expect(rows.count == min(20, records.count - start))
                let own = Set(rows.compactMap { $0["model_version"]?.stringValue })
                versions.formUnion(own)
                if own.count > 1 {
                    mixed += 1
                    #expect(doc["model_version"] == nil, "a split answer has no top-level version")
                } else if let v = own.first {
                    #expect(doc["model_version"]?.stringValue == v)
                }
                // Predictions come back in request order.
                #expect(rows.map { $0["customer_id"] } == records[start..<min(start + 20, records.count)].map { $0["customer_id"] })
            }
        }
        return (versions, mixed)
    }

    @Test(arguments: StoreKind.enabled) func aHealthyCanaryStepsUpAndIsPromoted(_ kind: StoreKind) async throws {
        let (s, controller) = try await Self.start(kind)
        let records = ChurnRows.load(try TestRegistry.churnHoldoutCSV()).records
        let deployer = TestServer.bearer(s.keys.deployer)
        try await s.app.test(.router) { client in
            let started = try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: Self.startBody(
                #""steps":[50,100],"interval":1,"checks":["p95_latency_ms < 60000","p99_latency_ms <= stable * 1000000"],"min_samples":20"#))
            #expect(started.status == .created)
            #expect(try Self.json(started)["weight"] == 50)
            try await s.follower.sync()
            await controller.tick()
            #expect(s.router.split(for: "churn")?.weight == 50)
            let half = try await Self.traffic(client, records)
            #expect(half.versions == ["1", "2"] && half.mixed > 0, "\(half)")
            await s.writer.flush()
            try await Task.sleep(for: .milliseconds(1_100))
            await controller.tick()
            let stepped = try Self.json(try await client.execute(uri: "/api/v1/models/churn/rollouts/current", method: .get, headers: deployer))
            #expect(stepped["weight"] == 100 && stepped["state"] == "running", "\(stepped)")
            let full = try await Self.traffic(client, records)
            #expect(full.versions == ["2"])
            await s.writer.flush()
            try await Task.sleep(for: .milliseconds(1_100))
            await controller.tick()
            let done = try Self.json(try await client.execute(uri: "/api/v1/models/churn/rollouts/current", method: .get, headers: deployer))
            #expect(done["state"] == "promoted", "\(done)")
            // (A slow machine may analyse once more before traffic arrives: inconclusive, no decision.)
            let kinds = (done["events"]?.arrayValue ?? []).compactMap { $0["kind"]?.stringValue }
            #expect(kinds.enumerated().filter { $0.offset == 0 || $0.element != "analysis" || kinds[$0.offset - 1] != "analysis" }.map(\.element)
                == ["started", "analysis", "step", "analysis", "promoted"], "\(kinds)")
            #expect(try await s.registry.aliases("churn").map { "\($0.alias)=\($0.version)" } == ["production=2"])
            #expect(s.router.split(for: "churn") == nil)
            try await s.follower.sync()
            let after = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(records[0..<3]))
            #expect(try Self.json(after)["model_version"] == "2")
        }
        let audit = try await s.registry.audit(limit: 100).map(\.action)
        #expect(audit.contains("rollout.start") && audit.contains("rollout.promoted"))
        await s.stop()
    }

    @Test(arguments: StoreKind.enabled) func aFailingCandidateIsRolledBackAndStableServesEverything(_ kind: StoreKind) async throws {
        let (s, controller) = try await Self.start(kind)
        let records = ChurnRows.load(try TestRegistry.churnHoldoutCSV()).records
        let deployer = TestServer.bearer(s.keys.deployer)
        try await s.app.test(.router) { client in
            let started = try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: Self.startBody(
                #""steps":[50,100],"interval":1,"checks":["p95_latency_ms < 0.000001"],"min_samples":10,"failure_limit":2"#))
            #expect(started.status == .created)
            try await s.follower.sync()
            await controller.tick()
            // What the dashboards and the rollback alert read.
            #expect(Self.sample(s, #"keel_rollout_weight{model="churn",version="2",arm="canary"}"#) == 50)
            #expect(Self.sample(s, #"keel_rollout_weight{model="churn",version="1",arm="stable"}"#) == 50)
            #expect(Self.sample(s, #"keel_rollout_decisions_total{model="churn",strategy="canary",decision="rolled_back"}"#) == 0)
            #expect(Self.sample(s, #"keel_model_ready{model="churn"}"#) == 1)
            for expected in ["running", "rolled_back"] {
                _ = try await Self.traffic(client, records)
                await s.writer.flush()
                try await Task.sleep(for: .milliseconds(1_100))
                await controller.tick()
                let now = try Self.json(try await client.execute(uri: "/api/v1/models/churn/rollouts/current", method: .get, headers: deployer))
                #expect(now["state"]?.stringValue == expected, "\(now)")
                #expect(now["failures"] == .number(expected == "running" ? 1 : 2))
            }
            let done = try Self.json(try await client.execute(uri: "/api/v1/models/churn/rollouts/current", method: .get, headers: deployer))
            #expect(done["weight"] == 0 && (done["reason"]?.stringValue ?? "").contains("p95_latency_ms"))
            #expect(done["analysis"]?.arrayValue?.first?["verdict"] == "fail")
            #expect(Self.sample(s, #"keel_rollout_decisions_total{model="churn",strategy="canary",decision="rolled_back"}"#) == 1)
            #expect(Self.sample(s, #"keel_rollout_weight{model="churn",version="2",arm="canary"}"#) == nil, "a finished rollout's weights are removed")
            #expect(try await s.registry.aliases("churn").map { "\($0.alias)=\($0.version)" } == ["production=1"])
            #expect(s.router.split(for: "churn") == nil)
            try await s.follower.sync()
            let served = try await Self.traffic(client, records)
            #expect(served.versions.isEmpty, "no rollout: answers carry only the top-level version")
        }
        let audit = try await s.registry.audit(limit: 100).map(\.action)
        #expect(audit.contains("rollout.rolled_back"))
        let events = try await s.registry.store.read { db throws(KeelError) in try await db.monitoringEvents(model: "churn", since: nil, limit: 10) }
        let rolledBack = try #require(events.first { $0.kind == "rollout" })
        #expect(rolledBack.severity == "warning" && rolledBack.message.contains("p95_latency_ms") && rolledBack.version == "2", "\(rolledBack)")
        await s.stop()
    }

    @Test func pauseResumeAbortAndPromoteAreTheDeployersAndFollowTheState() async throws {
        let (s, controller) = try await Self.start(.sqlite)
        let deployer = TestServer.bearer(s.keys.deployer)
        let viewer = TestServer.bearer(s.keys.viewer)
        try await s.app.test(.router) { client in
            func post(_ action: String, _ headers: HTTPFields) async throws -> TestResponse {
                try await client.execute(uri: "/api/v1/models/churn/rollouts/current/\(action)", method: .post, headers: headers)
            }
            #expect(try await post("pause", deployer).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: viewer, body: Self.startBody(#""interval":5"#)).status == .forbidden)
            #expect(try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: Self.startBody(#""interval":5"#)).status == .created)
            #expect(try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: Self.startBody(#""interval":5"#)).status == .conflict)
            #expect(try await post("resume", deployer).status == .conflict)
            #expect(try await post("pause", viewer).status == .forbidden)
            #expect(try Self.json(try await post("pause", deployer))["state"] == "paused")
            await controller.tick()
            #expect(s.router.split(for: "churn")?.weight == 5, "a paused rollout keeps its weight")
            #expect(try Self.json(try await post("resume", deployer))["state"] == "running")
            let aborted = try Self.json(try await post("abort", deployer))
            #expect(aborted["state"] == "aborted" && aborted["weight"] == 0)
            await controller.tick()
            #expect(s.router.split(for: "churn") == nil)
            #expect(try await post("abort", deployer).status == .notFound)
            // A second rollout, promoted by hand through the production gates.
            _ = try await client.execute(uri: "/api/v1/models/churn/gates", method: .post, headers: deployer, body: TestServer.body(#"{"gate":"roc_auc >= 0.99"}"#))
            #expect(try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: Self.startBody(#""interval":5"#)).status == .created)
            let gated = try await post("promote", deployer)
            #expect(gated.status == .conflict)
            #expect(try Self.json(try await client.execute(uri: "/api/v1/models/churn/rollouts/current", method: .get, headers: viewer))["state"] == "running",
                    "a refused promotion changes nothing")
            let list = try Self.json(try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .get, headers: viewer))
            #expect(list["rollouts"]?.arrayValue?.map { $0["state"] } == ["running", "aborted"])
        }
        await s.stop()
    }

    @Test func badPlansAreRefusedAndTheCandidateAliasIsReserved() async throws {
        let (s, _) = try await Self.start(.sqlite)
        let deployer = TestServer.bearer(s.keys.deployer)
        try await s.app.test(.router) { client in
            for (body, status) in [
                (#"{"version":2,"color":"red"}"#, HTTPResponse.Status.badRequest),
                (#"{"steps":[10,100]}"#, .badRequest),
                (#"{"version":2,"steps":[50,10,100]}"#, .badRequest),
                (#"{"version":2,"steps":[10,50]}"#, .badRequest),
                (#"{"version":2,"steps":[-1,100]}"#, .badRequest),
                (#"{"version":2,"steps":"10,100"}"#, .badRequest),
                (#"{"version":2,"interval":0}"#, .badRequest),
                (#"{"version":2,"interval":1e308}"#, .badRequest),
                (#"{"version":2,"checks":["latency is low"]}"#, .badRequest),
                (#"{"version":2,"checks":[3]}"#, .badRequest),
                (#"{"version":2,"failure_limit":0}"#, .badRequest),
                (#"{"version":2,"min_samples":-5}"#, .badRequest),
                (#"{"version":2,"strategy":"yolo"}"#, .badRequest),
                (#"{"version":2,"sticky":"yes"}"#, .badRequest),
                (#"{"version":99999999999999999999}"#, .badRequest),
                (#"{"version":0}"#, .badRequest),
                (#"{"version":99}"#, .notFound),
                (#"{"version":1}"#, .conflict),
                (#"[1,2]"#, .badRequest),
            ] {
                let r = try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: TestServer.body(body))
                #expect(r.status == status, "\(body): \(r.status)")
                #expect(try Self.json(r)["error"]?.stringValue != nil)
            }
            #expect(try await client.execute(uri: "/api/v1/models/nope/rollouts", method: .post, headers: deployer, body: Self.startBody(#""interval":5"#)).status == .notFound)
            let reserved = try await client.execute(uri: "/api/v1/models/churn/aliases/candidate", method: .put, headers: deployer, body: TestServer.body(#"{"version":2}"#))
            #expect(reserved.status == .conflict)
            #expect(try await s.registry.rollouts("churn").isEmpty, "nothing was stored")
            #expect(try await s.registry.aliases("churn").map(\.alias) == ["production"])
        }
        await s.stop()
    }

    @Test func aRestartedControllerResumesTheRolloutAtItsStep() async throws {
        let (s, first) = try await Self.start(.sqlite)
        let records = ChurnRows.load(try TestRegistry.churnHoldoutCSV()).records
        try await s.app.test(.router) { client in
            let plan = RolloutPlan(model: "churn", version: 2, steps: [20, 60, 100], interval: 1, checks: [try RolloutCheck.parse("p95_latency_ms < 60000")], minSamples: 5)
            _ = try await s.registry.startRollout(plan, by: .system)
            try await s.follower.sync()
            await first.tick()
            _ = try await Self.traffic(client, records)
            await s.writer.flush()
            try await Task.sleep(for: .milliseconds(1_100))
            await first.tick()
            #expect(try await s.registry.currentRollout("churn")?.weight == 60)
            // The first controller is gone (its lease lapses); a new process takes over from the store.
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let router = DeploymentRouter()
            let second = RolloutController(registry: s.registry, router: router, monitoring: s.service, holder: "replica-2", logger: logger)
            await second.tick(now: Date().addingTimeInterval(11))
            #expect(router.split(for: "churn")?.weight == 60, "routes from the stored step")
        }
        await s.stop()
    }
    @Test(arguments: StoreKind.enabled) func aCandidateWithWorseLiveROCAUCIsRolledBack(_ kind: StoreKind) async throws {
        let (s, controller) = try await Self.start(kind)
        let (records, labels) = ChurnRows.load(try TestRegistry.churnHoldoutCSV())
        let deployer = TestServer.bearer(s.keys.deployer)
        try await s.app.test(.router) { client in
            let started = try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: Self.startBody(
                #""steps":[50,100],"interval":1,"checks":["roc_auc >= 0.7","roc_auc >= stable * 0.9"],"min_samples":100,"failure_limit":1"#))
            #expect(started.status == .created)
            try await s.follower.sync()
            await controller.tick()
            // 600 customers, about half served by each version; which one answered is in the response.
            var servedBy: [String: String] = [:]
            for start in stride(from: 0, to: 600, by: 50) {
                let doc = try Self.json(try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(records[start..<start + 50])))
                for p in doc["predictions"]?.arrayValue ?? [] {
                    if let id = p["customer_id"]?.stringValue, let v = p["model_version"]?.stringValue { servedBy[id] = v }
                }
            }
            await s.writer.flush()
            #expect(servedBy.values.filter { $0 == "2" }.count > 200 && servedBy.values.filter { $0 == "1" }.count > 200)
            // The outcomes arrive: the stable version's customers behave as their labels say; the
            // candidate's customers do the opposite of what it predicted (it is a worse model for them).
            let items: [JSONValue] = (0..<600).map { i in
                let id = records[i]["customer_id"]!.stringValue!
                let truth = labels[i] == "1"
                let outcome = servedBy[id] == "2" ? !truth : truth
                return .object(["entity_id": .string(id), "label": .string(outcome ? "churn" : "stay")])
            }
            var w = JSONWriter()
            w.value(.object(["feedback": .array(items)]))
            let sent = try Self.json(try await client.execute(uri: "/api/v1/models/churn/feedback", method: .post, body: ByteBuffer(bytes: w.bytes)))
            #expect(sent["matched"] == 600)
            try await Task.sleep(for: .milliseconds(1_100))
            await controller.tick()
            let done = try Self.json(try await client.execute(uri: "/api/v1/models/churn/rollouts/current", method: .get, headers: deployer))
            #expect(done["state"] == "rolled_back", "\(done)")
            let analysis = done["analysis"]?.arrayValue ?? []
            #expect(analysis.map { $0["verdict"] } == ["fail", "fail"], "\(analysis)")
            let stableAUC = analysis.last?["stable"]?.doubleValue ?? 0
            let candidateAUC = analysis.first?["value"]?.doubleValue ?? 1
            #expect(stableAUC > 0.8 && candidateAUC < 0.3, "stable \(stableAUC), candidate \(candidateAUC)")
            #expect(try await s.registry.aliases("churn").map { "\($0.alias)=\($0.version)" } == ["production=1"])
        }
        await s.stop()
    }

    @Test(arguments: StoreKind.enabled) func aSlowONNXCandidateIsRolledBackOnItsP95UnderLoad(_ kind: StoreKind) async throws {
        // v2: a churn-shaped ONNX model that is slow on purpose.
        let (s, controller) = try await Self.start(kind, slow: true)
        let router = s.router
        let records = ChurnRows.load(try TestRegistry.churnHoldoutCSV()).records
        let deployer = TestServer.bearer(s.keys.deployer)
        try await s.app.test(.router) { client in
            let started = try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: Self.startBody(
                #""steps":[50,100],"interval":1,"checks":["p95_latency_ms <= stable * 3","error_rate < 0.01"],"min_samples":20,"failure_limit":1"#))
            #expect(started.status == .created)
            try await s.follower.sync()
            await controller.tick()
            // Four clients send records continuously through the step, the decision and after it.
            let stop = StopFlag()
            let (sent, failures) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for c in 0..<4 {
                    group.addTask {
                        var i = c * 50, sent = 0, failed = 0
                        while !stop.isSet {
                            let start = i % (records.count - 5)
                            let r = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(records[start..<start + 5]))
                            if r.status != .ok { failed += 1 }
                            sent += 1
                            i += 5
                        }
                        return (sent, failed)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(1_500))
                    await s.writer.flush()
                    await controller.tick()
                    try await Task.sleep(for: .milliseconds(300))
                    stop.set()
                    return (0, 0)
                }
                return try await group.reduce(into: (0, 0)) { $0.0 += $1.0; $0.1 += $1.1 }
            }
            #expect(failures == 0, "no request failed through the rollback (\(sent) sent)")
            let done = try Self.json(try await client.execute(uri: "/api/v1/models/churn/rollouts/current", method: .get, headers: deployer))
            #expect(done["state"] == "rolled_back", "\(done)")
            let p95 = done["analysis"]?.arrayValue?.first ?? .null
            #expect(p95["verdict"] == "fail" && (p95["value"]?.doubleValue ?? 0) > 3 * (p95["stable"]?.doubleValue ?? .infinity), "\(p95)")
            #expect(done["analysis"]?.arrayValue?.last?["verdict"] == "pass", "the slow candidate answered every request")
            await controller.tick()
            #expect(router.split(for: "churn") == nil)
        }
        await s.stop()
    }

    @Test func aCandidateWhoseCircuitBreakerOpensFailsItsAnalysisAndItsCustomersGetTheFallback() async throws {
        // v2: the slow ONNX model whose breaker opens on latency, falling back to production v1.
        let (s, controller) = try await Self.start(
            .sqlite, slow: true, extraConfig: "\ncircuit_breaker: {p99_latency_ms: 0.1, min_requests: 5, open_s: 60}\nfallback: {model: churn, version: \"1\"}\n")
        let router = s.router
        let records = ChurnRows.load(try TestRegistry.churnHoldoutCSV()).records
        let deployer = TestServer.bearer(s.keys.deployer)
        try await s.app.test(.router) { client in
            let started = try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: Self.startBody(
                #""steps":[50,100],"interval":1,"checks":["error_rate < 0.5"],"min_samples":5,"failure_limit":1"#))
            #expect(started.status == .created)
            try await s.follower.sync()
            await controller.tick()
            var fallbacks = 0
            for start in stride(from: 0, to: 400, by: 10) {
                let r = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(records[start..<start + 10]))
                #expect(r.status == .ok, "an open breaker answers from the fallback, not with an error")
                fallbacks += (try Self.json(r)["predictions"]?.arrayValue ?? []).count { $0["fallback"] == true }
            }
            #expect(fallbacks > 0)
            #expect(router.outcomeCounts.first { $0.key.version == "2" }?.value.trips == 1)
            try await Task.sleep(for: .milliseconds(1_100))
            await controller.tick()
            let done = try Self.json(try await client.execute(uri: "/api/v1/models/churn/rollouts/current", method: .get, headers: deployer))
            #expect(done["state"] == "rolled_back", "\(done)")
            let breaker = done["analysis"]?.arrayValue?.first { $0["check"] == "circuit_breaker_opened" }
            #expect(breaker?["verdict"] == "fail" && breaker?["value"] == 1, "\(String(describing: breaker))")
        }
        await s.stop()
    }

    @Test func aCandidateWhoseInputsDriftFromItsReferenceFailsTheDriftShareCheck() async throws {
        let (s, controller) = try await Self.start(.sqlite)
        let csv = try TestRegistry.churnHoldoutCSV()
        let (records, _) = ChurnRows.load(csv)
        let deployer = TestServer.bearer(s.keys.deployer)
        try await s.app.test(.router) { client in
            for v in [1, 2] {
                let up = try await client.execute(uri: "/api/v1/models/churn/versions/\(v)/reference", method: .post, headers: TestServer.bearer(s.keys.deployer, json: false), body: ByteBuffer(string: csv))
                #expect(up.status == .created)
            }
            let started = try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: Self.startBody(
                #""steps":[50,100],"interval":1,"checks":["drift_share < 0.3","drift_share <= stable * 3"],"min_samples":100,"failure_limit":1"#))
            #expect(started.status == .created)
            try await s.follower.sync()
            await controller.tick()
            // Older customers on month-to-month contracts, paying more, for the whole step.
            let shifted = ChurnRows.shifted(records[0..<800])
            for start in stride(from: 0, to: 800, by: 100) {
                #expect(try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: ChurnRows.body(shifted[start..<start + 100])).status == .ok)
            }
            await s.writer.flush()
            try await Task.sleep(for: .milliseconds(1_100))
            await controller.tick()
            let done = try Self.json(try await client.execute(uri: "/api/v1/models/churn/rollouts/current", method: .get, headers: deployer))
            #expect(done["state"] == "rolled_back", "\(done)")
            let first = done["analysis"]?.arrayValue?.first ?? .null
            #expect(first["verdict"] == "fail" && (first["value"]?.doubleValue ?? 0) >= 0.3, "\(first)")
            #expect((first["samples"]?.intValue ?? 0) >= 100)
        }
        await s.stop()
    }

    @Test(.enabled(if: StoreKind.enabled.contains(.postgres))) func twoReplicasOnPostgresRouteTheSameSplitAndOnlyOneDecides() async throws {
        let database = TestDatabase.fresh(.postgres)
        let artifacts = TestStores.temporaryDirectory()
        let a = try await MonitoredServer.start(.postgres, database: database, artifacts: artifacts)
        let b = try await MonitoredServer.start(.postgres, database: database, artifacts: artifacts, register: false)
        let new = try RegistryImport.inspect(
            model: "churn", bytes: try TestRegistry.churnModelBytes(), filename: "model.json", configYAML: try TestRegistry.churnConfigYAML())
        _ = try await a.registry.register(new, by: .system)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let routerA = DeploymentRouter()
        let routerB = DeploymentRouter()
        let ca = RolloutController(registry: a.registry, router: routerA, monitoring: a.service, holder: "replica-a", logger: logger)
        let cb = RolloutController(registry: b.registry, router: routerB, monitoring: b.service, holder: "replica-b", logger: logger)
        let plan = RolloutPlan(model: "churn", version: 2, steps: [30, 100], interval: 1, checks: [try RolloutCheck.parse("p95_latency_ms < 60000")], minSamples: 10)
        let r = try await a.registry.startRollout(plan, by: .system)
        async let ta: Void = ca.tick()
        async let tb: Void = cb.tick()
        _ = await (ta, tb)
        #expect(routerA.all == routerB.all && routerA.split(for: "churn")?.weight == 30)
        let split = try #require(routerA.split(for: "churn"))
        #expect((0..<2_000).allSatisfy { routerA.arm(split, key: "C-\($0)") == routerB.arm(split, key: "C-\($0)") }, "the same customer, the same version on both")
        // Traffic on both replicas, then both controllers wake at once after the step.
        let records = ChurnRows.load(try TestRegistry.churnHoldoutCSV()).records
        try await a.follower.sync()
        try await b.follower.sync()
        for (server, range) in [(a, 0..<200), (b, 200..<400)] {
            try await server.app.test(.router) { client in
                let r = try await client.execute(uri: "/v1/models/churn/versions/candidate:predict", method: .post, body: ChurnRows.body(records[range]))
                #expect(r.status == .ok)
            }
            await server.writer.flush()
        }
        // (On a slow machine the first round may already have analysed once: count from here.)
        let before = try await a.registry.rolloutEvents(r.id).filter { $0.kind == "analysis" }.count
        try await Task.sleep(for: .milliseconds(1_100))
        async let sa: Void = ca.tick()
        async let sb: Void = cb.tick()
        _ = await (sa, sb)
        await ca.tick()
        await cb.tick()
        let events = try await a.registry.rolloutEvents(r.id)
        #expect(events.filter { $0.kind == "analysis" }.count == before + 1, "\(events.map(\.kind))")
        #expect(routerA.split(for: "churn")?.weight == 100 && routerB.split(for: "churn")?.weight == 100)
        await a.stop()
        await b.stop()
    }
    @Test func theErrorRateSumsEveryReplicasCountsAndRollsBackAFailingCandidate() async throws {
        let (s, controller) = try await Self.start(.sqlite)
        let records = ChurnRows.load(try TestRegistry.churnHoldoutCSV()).records
        try await s.app.test(.router) { client in
            let plan = RolloutPlan(model: "churn", version: 2, steps: [50, 100], interval: 1, checks: [try RolloutCheck.parse("error_rate < 0.05")], failureLimit: 1, minSamples: 5)
            let r = try await s.registry.startRollout(plan, by: .system)
            try await s.follower.sync()
            await controller.tick()
            _ = try await Self.traffic(client, records)
            // A request the server refuses (bad input) is the client's error, not the version's.
            let bad = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: TestServer.body(#"{"instances":[{"age":"old"}]}"#))
            #expect(bad.status == .badRequest)
            let counts = s.router.outcomeCounts
            let candidate = try #require(counts[OutcomeKey(rolloutID: r.id, step: 0, version: "2")])
            let stable = try #require(counts[OutcomeKey(rolloutID: r.id, step: 0, version: "1")])
            #expect(candidate.requests > 0 && stable.requests > 0 && candidate.errors == 0 && stable.errors == 0, "\(counts)")
            // Another replica saw the candidate fail half its requests.
            try await s.registry.store.write { tx throws(KeelError) in
                try await tx.saveRolloutOutcomes(replica: "replica-2", [RolloutOutcomeRecord(rolloutID: r.id, step: 0, version: "2", requests: 100, errors: 50)], at: Date())
            }
            try await Task.sleep(for: .milliseconds(1_100))
            await controller.tick()
            let done = try #require(try await s.registry.currentRollout("churn"))
            #expect(done.state == .rolledBack, "\(done.json)")
            let result = try #require(done.lastAnalysis.first)
            #expect(result.samples == Int(candidate.requests) + 100)
            #expect(abs((result.value ?? 0) - 50 / Double(result.samples)) < 1e-12)
        }
        await s.stop()
    }
    @Test(arguments: StoreKind.enabled) func aShadowCandidateIsComparedOffThePathAndReportsAgreement(_ kind: StoreKind) async throws {
        let (s, controller) = try await Self.start(kind)
        let records = ChurnRows.load(try TestRegistry.churnHoldoutCSV()).records
        let deployer = TestServer.bearer(s.keys.deployer)
        try await s.app.test(.router) { client in
            let started = try await client.execute(uri: "/api/v1/models/churn/rollouts", method: .post, headers: deployer, body: Self.startBody(
                #""strategy":"shadow","steps":[100],"interval":1,"checks":["shadow_agreement >= 0.99","shadow_max_abs_diff <= 0.000001","error_rate < 0.01"],"min_samples":10"#))
            #expect(started.status == .created)
            #expect(try Self.json(started)["weight"] == 0 && (try Self.json(started))["mirror"] == 100)
            try await s.follower.sync()
            await controller.tick()
            let served = try await Self.traffic(client, records)
            #expect(served.versions == ["1"], "a shadow candidate answers no one")
            await s.shadow.flush()
            await s.writer.flush()
            let shadowRows = try await s.registry.store.read { db throws(KeelError) in try await db.predictions(PredictionQuery(model: "churn", version: "2", limit: 1000)) }
            #expect(shadowRows.count == 200 && shadowRows.allSatisfy { $0.arm == "shadow" })
            try await Task.sleep(for: .milliseconds(1_100))
            await controller.tick()
            let done = try Self.json(try await client.execute(uri: "/api/v1/models/churn/rollouts/current", method: .get, headers: deployer))
            #expect(done["state"] == "promoted", "\(done)")
            let analysis = done["analysis"]?.arrayValue ?? []
            #expect(analysis.first?["value"] == 1 && analysis.first?["samples"] == 200, "\(analysis)")
            #expect(analysis.dropFirst().first?["value"] == 0)
        }
        #expect(s.shadow.dropped == 0)
        await s.stop()
    }
}

/// A flag one task sets and others poll.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
