import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelEngine
import KeelRegistry
import KeelServer
import KeelServing
import KeelStore
import KeelTestSupport
import Logging
import Synchronization
import Testing

/// Serving follows the registry: production and staging aliases, zero-downtime swaps,
/// tampered artifacts refused, several servers on one PostgreSQL converging.
@Suite struct RegistryServingTests {
    static func registerChurnTwice(_ registry: Registry) async throws {
        let new = try RegistryImport.inspect(model: "churn", bytes: try TestRegistry.churnModelBytes(), filename: "model.json", configYAML: try TestRegistry.churnConfigYAML())
        _ = try await registry.register(new, by: .system)
        _ = try await registry.register(new, by: .system)
    }

    static func follower(_ registry: Registry) async throws -> RegistryFollower {
        let manager = try await TestServer.manager(repository: nil)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return RegistryFollower(registry: registry, manager: manager, interval: .milliseconds(100), logger: logger)
    }

    static func records() throws -> ByteBuffer {
        try TestServer.bytes(TestServer.models.appendingPathComponent("churn/sample_records.json"))
    }

    @Test func servesProductionUnversionedAndStagingByAlias() async throws {
        let registry = try await TestRegistry.make(.sqlite)
        try await Self.registerChurnTwice(registry)
        try await registry.setAlias("churn", alias: "production", version: 1, by: .system)
        try await registry.setAlias("churn", alias: "staging", version: 2, by: .system)
        let follower = try await Self.follower(registry)
        await follower.syncIfChanged()
        try await TestServer.app(follower.manager).test(.router) { client in
            let prod = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: try Self.records())
            #expect(try TestServer.json(prod)["model_version"]?.stringValue == "1")
            let staging = try await client.execute(uri: "/v1/models/churn/versions/staging:predict", method: .post, body: try Self.records())
            #expect(try TestServer.json(staging)["model_version"]?.stringValue == "2")
            let v2 = try await client.execute(uri: "/v2/models/churn/versions/staging/ready", method: .get)
            #expect(v2.status == .ok)
        }
    }

    @Test func promotionUnderLoadFailsNoRequestAndFlipsOnce() async throws {
        let registry = try await TestRegistry.make(.sqlite)
        try await Self.registerChurnTwice(registry)
        try await registry.setAlias("churn", alias: "production", version: 1, by: .system)
        let follower = try await Self.follower(registry)
        await follower.syncIfChanged()
        let body = try Self.records()
        try await TestServer.app(follower.manager).test(.router) { client in
            let served = try await withThrowingTaskGroup(of: [String].self) { group in
                group.addTask {
                    var versions: [String] = []
                    let deadline = ContinuousClock.now + .seconds(20)
                    // Keep sending until the new version has answered a while, bounded in time.
                    while ContinuousClock.now < deadline {
                        let r = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: body)
                        #expect(r.status == .ok, "request \(versions.count) failed: \(String(buffer: r.body))")
                        versions.append(try TestServer.json(r)["model_version"]?.stringValue ?? "?")
                        if versions.suffix(50).allSatisfy({ $0 == "2" }) && versions.count > 100 { break }
                    }
                    return versions
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(200))
                    try await registry.setAlias("churn", alias: "production", version: 2, by: .system)
                    await follower.syncIfChanged()
                    return []
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(served.first == "1")
            #expect(served.last == "2")
            let flips = zip(served, served.dropFirst()).filter { $0 != $1 }.count
            #expect(flips == 1, "served versions flipped \(flips) times")
            #expect(!served.contains("?"))
        }
    }

    @Test func requestsInFlightDuringASwapFinishOnTheOldVersion() async throws {
        let manager = try await TestServer.manager(repository: nil)
        let slow = CountingSlowModel(delay: 0.4)
        let old = try await manager.prepare(name: "double", version: "1", model: slow)
        manager.install(name: "double", versions: [old], aliases: ["production": "1"], defaultVersion: "1")
        let warmUps = slow.calls
        let body = #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1,1],"data":[2]}]}"#
        try await TestServer.app(manager).test(.router) { client in
            async let inFlight = client.execute(uri: "/v2/models/double/infer", method: .post, body: TestServer.body(body))
            // Swap only once the request is running inside version 1.
            let deadline = ContinuousClock.now + .seconds(60)
            while slow.calls == warmUps && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            try #require(slow.calls > warmUps, "the in-flight request never reached the engine")
            let new = try await manager.prepare(name: "double", version: "2", model: SlowDoubler(delay: 0))
            manager.install(name: "double", versions: [new], aliases: ["production": "2"], defaultVersion: "2")
            let after = try await client.execute(uri: "/v2/models/double/infer", method: .post, body: TestServer.body(body))
            #expect(try TestServer.json(after)["model_version"]?.stringValue == "2")
            let finished = try await inFlight
            #expect(finished.status == .ok)
            #expect(try TestServer.json(finished)["model_version"]?.stringValue == "1")
        }
    }

    @Test func tamperedArtifactIsRefusedAndThePreviousVersionKeepsServing() async throws {
        let registry = try await TestRegistry.make(.sqlite)
        let original = try TestRegistry.churnModelBytes()
        let good = try RegistryImport.inspect(model: "churn", bytes: original, filename: "model.json", configYAML: try TestRegistry.churnConfigYAML())
        _ = try await registry.register(good, by: .system)
        // A second, different artifact (same model, one byte of whitespace more) to tamper with.
        let other = try RegistryImport.inspect(model: "churn", bytes: original + Array(" ".utf8), filename: "model.json", configYAML: try TestRegistry.churnConfigYAML())
        let v2 = try await registry.register(other, by: .system)
        try await registry.setAlias("churn", alias: "production", version: 1, by: .system)
        let follower = try await Self.follower(registry)
        await follower.syncIfChanged()

        let path = registry.artifacts.path(for: v2.artifactSHA256)
        let bytes = try Data(contentsOf: path)
        try bytes.prefix(bytes.count / 2).write(to: path)  // truncated
        #expect(throws: KeelError.self) { _ = try registry.artifact(of: v2) }

        try await registry.setAlias("churn", alias: "production", version: 2, by: .system)
        await follower.syncIfChanged()
        #expect(try follower.manager.resolve("churn").version == "1")
    }

    @Test(.enabled(if: StoreKind.enabled.contains(.postgres), "needs KEEL_TEST_DATABASE_URL (always on under CI=true)"))
    func twoServersOnOnePostgresBothSwitch() async throws {
        let schema = TestStores.freshSchemaName()
        let data = TestStores.temporaryDirectory()
        let writer = try await TestRegistry.make(.postgres, schema: schema, dataDirectory: data)
        try await Self.registerChurnTwice(writer)
        try await writer.setAlias("churn", alias: "production", version: 1, by: .system)
        let a = try await Self.follower(try await TestRegistry.make(.postgres, schema: schema, dataDirectory: data))
        let b = try await Self.follower(try await TestRegistry.make(.postgres, schema: schema, dataDirectory: data))
        let runA = Task { await a.run() }
        let runB = Task { await b.run() }
        defer {
            runA.cancel()
            runB.cancel()
        }
        func served(_ f: RegistryFollower) -> String? { try? f.manager.resolve("churn").version }
        var deadline = ContinuousClock.now + .seconds(10)
        while (served(a) != "1" || served(b) != "1") && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(served(a) == "1" && served(b) == "1")

        try await writer.setAlias("churn", alias: "production", version: 2, by: .system)
        deadline = ContinuousClock.now + .seconds(10)
        while (served(a) != "2" || served(b) != "2") && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(served(a) == "2")
        #expect(served(b) == "2")
    }
}

/// Sleeps in every call and counts the calls that started, so a test knows a request is running.
final class CountingSlowModel: LoadedModel {
    let delay: Double
    let metadata = SlowDoubler(delay: 0).metadata
    private let started = Mutex(0)

    init(delay: Double) { self.delay = delay }

    var calls: Int { started.withLock { $0 } }

    func infer(_ inputs: [String: Tensor]) throws(KeelError) -> [String: Tensor] {
        started.withLock { $0 += 1 }
        return try SlowDoubler(delay: delay).infer(inputs)
    }
}
