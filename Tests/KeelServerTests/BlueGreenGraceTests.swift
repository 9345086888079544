import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelRegistry
import KeelServing
import KeelTestSupport
import Logging
import Testing

/// Blue-green grace: a version that loses its last alias stays loaded, servable by its number,
/// so moving `production` back to it needs no load; after the grace it is dropped even though
/// no alias moved.
@Suite struct BlueGreenGraceTests {
    static func follower(_ registry: Registry, grace: Duration) async throws -> RegistryFollower {
        let manager = try await TestServer.manager(repository: nil)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return RegistryFollower(registry: registry, manager: manager, interval: .milliseconds(50), grace: grace, logger: logger)
    }

    @Test func theOldVersionStaysServableForTheGraceAndASwitchBackLoadsNothing() async throws {
        let registry = try await TestRegistry.make(.sqlite)
        try await RegistryServingTests.registerChurnTwice(registry)
        try await registry.setAlias("churn", alias: Registry.production, version: 1, by: .system)
        let follower = try await Self.follower(registry, grace: .milliseconds(1_500))
        let manager = follower.manager
        await follower.syncIfChanged()
        let blue = try #require(manager.served("churn", version: "1"))

        try await registry.setAlias("churn", alias: Registry.production, version: 2, by: .system)
        await follower.syncIfChanged()
        #expect(try manager.resolve("churn").version == "2")
        #expect(manager.versions(of: "churn") == ["1", "2"])
        #expect(manager.retained(of: "churn") == ["1"])
        try await TestServer.app(manager).test(.router) { client in
            let byNumber = try await client.execute(uri: "/v1/models/churn/versions/1:predict", method: .post, body: try RegistryServingTests.records())
            #expect(byNumber.status == .ok)
            #expect(try TestServer.json(byNumber)["model_version"]?.stringValue == "1")
            let unversioned = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: try RegistryServingTests.records())
            #expect(try TestServer.json(unversioned)["model_version"]?.stringValue == "2")
        }

        // Switch back: the very same loaded version serves again, nothing is loaded.
        let green = try #require(manager.served("churn", version: "2"))
        try await registry.setAlias("churn", alias: Registry.production, version: 1, by: .system)
        await follower.syncIfChanged()
        #expect(try manager.resolve("churn") === blue)
        #expect(manager.retained(of: "churn") == ["2"])
        #expect(manager.served("churn", version: "2") === green)

        // The grace ends with no alias moving: the next poll drops version 2.
        try await Task.sleep(for: .milliseconds(1_600))
        await follower.syncIfChanged()
        #expect(manager.versions(of: "churn") == ["1"])
        #expect(manager.retained(of: "churn").isEmpty)
        #expect(throws: KeelError.self) { try manager.resolve("churn", version: "2") }
    }

    @Test func aRetainedVersionIsNeverTheDefaultEvenWhenItIsTheHighest() async throws {
        let registry = try await TestRegistry.make(.sqlite)
        try await RegistryServingTests.registerChurnTwice(registry)
        try await registry.setAlias("churn", alias: Registry.production, version: 2, by: .system)
        try await registry.setAlias("churn", alias: "staging", version: 1, by: .system)
        let follower = try await Self.follower(registry, grace: .seconds(300))
        await follower.syncIfChanged()
        // Production removed: unversioned requests go to the highest aliased version, not the retained 2.
        _ = try await registry.removeAlias("churn", alias: Registry.production, by: .system)
        await follower.syncIfChanged()
        #expect(follower.manager.versions(of: "churn") == ["1", "2"])
        #expect(try follower.manager.resolve("churn").version == "1")
    }

    @Test func zeroGraceDropsTheOldVersionAtOnce() async throws {
        let registry = try await TestRegistry.make(.sqlite)
        try await RegistryServingTests.registerChurnTwice(registry)
        try await registry.setAlias("churn", alias: Registry.production, version: 1, by: .system)
        let follower = try await Self.follower(registry, grace: .zero)
        await follower.syncIfChanged()
        try await registry.setAlias("churn", alias: Registry.production, version: 2, by: .system)
        await follower.syncIfChanged()
        #expect(follower.manager.versions(of: "churn") == ["2"])
    }
}
