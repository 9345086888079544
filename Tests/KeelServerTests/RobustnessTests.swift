import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelEngine
import KeelRegistry
import KeelServing
import KeelStore
import KeelTestSupport
import Logging
import Testing
@testable import KeelServer

/// No planted crash and no unbounded request: a version is registered only if it loads and
/// warms up within the load limit, stored state that no longer loads leaves the server up with
/// the reason shown, and request sizes are capped.
@Suite struct RobustnessTests {
    static func registration(config: String? = nil, extra: String = "") throws -> ByteBuffer {
        let artifact = Data(try TestRegistry.churnModelBytes()).base64EncodedString()
        var body = #"{"artifact_base64":"\#(artifact)","filename":"model.json""#
        if let config {
            var w = JSONWriter()
            w.string(config)
            body += #","schema_yaml":"# + String(decoding: w.bytes, as: UTF8.self)
        }
        return ByteBuffer(string: body + extra + "}")
    }

    @Test func aVersionWhoseConfigDoesNotFitTheModelIsRefusedAtRegistration() async throws {
        let manager = try await TestServer.manager(repository: nil)
        let (app, _, registry, keys) = try await TestServer.secured(manager)
        let churn = try TestRegistry.churnConfigYAML()
        let misfits = [
            churn.replacingOccurrences(of: "labels: [stay, churn]", with: "labels: [stay, churn, maybe]")
                .replacingOccurrences(of: "positive_class: churn", with: "positive_class: 1"),
            churn.replacingOccurrences(of: "positive_class: churn", with: "positive_class: 7"),
            churn.replacingOccurrences(of: "  - {name: age, type: number}\n", with: ""),
        ]
        try await app.test(.router) { client in
            for config in misfits {
                let r = try await client.execute(uri: "/api/v1/models/churn/versions", method: .post, headers: TestServer.bearer(keys.deployer), body: try Self.registration(config: config))
                #expect(r.status == .badRequest, "answered \(r.status): \(String(buffer: r.body).prefix(200))")
            }
            let ok = try await client.execute(uri: "/api/v1/models/churn/versions", method: .post, headers: TestServer.bearer(keys.deployer), body: try Self.registration(config: churn))
            #expect(ok.status == .created)
        }
        #expect(try await registry.versions("churn").count == 1)
    }

    @Test func aModelThatCannotLoadWithinTheLoadLimitIsRefused() async throws {
        let manager = try await TestServer.manager(repository: nil)
        let (app, _, registry, keys) = try await TestServer.secured(manager) { $0.loadTimeout = .microseconds(1) }
        try await app.test(.router) { client in
            let r = try await client.execute(uri: "/api/v1/models/churn/versions", method: .post, headers: TestServer.bearer(keys.deployer), body: try Self.registration())
            #expect(r.status == .badRequest)
            #expect(try TestServer.json(r)["error"]?.stringValue?.contains("load limit") == true)
        }
        #expect(try await registry.models().isEmpty)
    }

    @Test func startupWithAStoredVersionThatNoLongerLoadsComesUpAndSaysWhy() async throws {
        let data = TestStores.temporaryDirectory()
        let registry = try await TestRegistry.make(.sqlite, dataDirectory: data)
        let new = try RegistryImport.inspect(model: "churn", bytes: try TestRegistry.churnModelBytes(), filename: "model.json", configYAML: try TestRegistry.churnConfigYAML())
        let v = try await registry.register(new, by: .system)
        try await registry.setAlias("churn", alias: Registry.production, version: v.version, force: true, by: .system)
        // The artifact is damaged on disk after the alias moved (a bad disk, a bad restore).
        try Data("not a model".utf8).write(to: registry.artifacts.path(for: v.artifactSHA256))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // As `keel serve` starts: the registry first, then the repository (whose churn it shadows).
        let manager = ModelManager(repository: ModelRepository(directory: TestServer.models), metrics: ServingMetrics(), logger: logger)
        let follower = RegistryFollower(registry: registry, manager: manager, logger: logger)
        await follower.syncIfChanged()
        await manager.loadAll()
        #expect(manager.isReady)
        let entry = try #require(manager.index().first { $0.name == "churn" })
        #expect(entry.state == .unavailable)
        #expect(entry.reason?.contains("production") == true, "\(entry.reason ?? "")")
        let app = Application(router: KeelApplication.router(manager: manager, configuration: ServerConfiguration(), registry: registry))
        try await app.test(.router) { client in
            let ready = try await client.execute(uri: "/v2/health/ready", method: .get)
            #expect(ready.status == .ok)
            let model = try await client.execute(uri: "/v2/models/churn/ready", method: .get)
            #expect(model.status == .serviceUnavailable)
        }
    }

    @Test func hostileHoldoutLabelsAreRefusedNotTrappedOn() async throws {
        let manager = try await TestServer.manager(repository: nil)
        let (app, _, registry, keys) = try await TestServer.secured(manager)
        let new = try RegistryImport.inspect(model: "churn", bytes: try TestRegistry.churnModelBytes(), filename: "model.json", configYAML: try TestRegistry.churnConfigYAML())
        _ = try await registry.register(new, by: .system)
        let holdout = try TestRegistry.churnHoldoutCSV().split(separator: "\n").prefix(3)
        try await app.test(.router) { client in
            for label in ["1e300", "-1e300", "nan", "9223372036854775808", "-1"] {
                let rows = holdout.enumerated().map { $0.offset == 0 ? String($0.element) : String($0.element.dropLast()) + label }
                let r = try await client.execute(
                    uri: "/api/v1/models/churn/versions/1/evaluate?label=churn", method: .post,
                    headers: TestServer.bearer(keys.deployer, json: false), body: ByteBuffer(string: rows.joined(separator: "\n")))
                #expect(r.status == .badRequest, "label \(label) answered \(r.status)")
            }
        }
    }

    @Test func recordsRequestsAreCappedAt413() async throws {
        let manager = try await TestServer.manager()
        var configuration = ServerConfiguration()
        configuration.maxInstances = 3
        let app = Application(router: KeelApplication.router(manager: manager, configuration: configuration))
        let one = #"{"customer_id":"c","age":40,"gender":"Male","income":50000,"tenure_months":12,"monthly_charges":70,"total_charges":840,"internet_service":"DSL","contract_type":"one year","payment_method":"mailed check"}"#
        try await app.test(.router) { client in
            let three = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: TestServer.body(#"{"instances":[\#(one),\#(one),\#(one)]}"#))
            #expect(three.status == .ok, "\(String(buffer: three.body).prefix(300))")
            let four = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: TestServer.body(#"{"instances":[\#(one),\#(one),\#(one),\#(one)]}"#))
            #expect(four.status == .contentTooLarge)
            #expect(try TestServer.json(four)["error"]?.stringValue?.contains("at most 3") == true)
        }
    }

    @Test func aSlowModelAnswers504AtTheRequestDeadlineAndItsLaterChunksNeverRun() async throws {
        let manager = ModelManager(repository: nil, metrics: ServingMetrics(), requestTimeout: .milliseconds(100))
        var config = ModelConfig()
        config.maxBatchSize = 1
        let calls = CallCounter()
        try await manager.add(name: "slow", version: "1", model: SlowCountingDoubler(delay: 0.05, calls: calls), config: config)
        let afterWarmUp = calls.value
        let app = Application(router: KeelApplication.router(manager: manager, configuration: ServerConfiguration()))
        try await app.test(.router) { client in
            // Ten rows in chunks of one: 500 ms of work against a 100 ms deadline.
            let body = #"{"inputs":[{"name":"x","shape":[10,1],"datatype":"FP32","data":[0,1,2,3,4,5,6,7,8,9]}]}"#
            let r = try await client.execute(uri: "/v2/models/slow/infer", method: .post, body: TestServer.body(body))
            #expect(r.status == .gatewayTimeout)
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(calls.value - afterWarmUp < 10, "all \(calls.value - afterWarmUp) chunks ran past the deadline")
    }
}

/// Doubles rows after a pause and counts its calls.
struct SlowCountingDoubler: LoadedModel {
    let delay: Double
    let calls: CallCounter
    var metadata: ModelMetadata { SlowDoubler(delay: delay).metadata }

    func infer(_ inputs: [String: Tensor]) throws(KeelError) -> [String: Tensor] {
        calls.increment()
        return try SlowDoubler(delay: delay).infer(inputs)
    }
}
