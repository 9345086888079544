import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelRegistry
import KeelServer
import KeelServing
import KeelTestSupport
import Logging
import Testing

@testable import keel

/// The `keel models|keys|audit` commands against a live in-process server on loopback.
@Suite struct CLIClientTests {
    static func liveApp() async throws -> (Registry, String, some ApplicationProtocol) {
        let registry = try await TestRegistry.make(.sqlite)
        let admin = try #require(try await registry.keys.bootstrapAdmin(environmentKey: nil))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let manager = ModelManager(repository: nil, metrics: ServingMetrics(), logger: logger)
        var configuration = ServerConfiguration()
        configuration.maxBodyBytes = 8 << 20
        let app = Application(
            router: KeelApplication.router(manager: manager, configuration: configuration, registry: registry),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        return (registry, admin, app)
    }

    static func run(_ arguments: [String]) async throws {
        var command = try Keel.parseAsRoot(arguments)
        if var asyncCommand = command as? AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
    }

    @Test func registerGatePromoteAndKeysThroughTheCommands() async throws {
        let (registry, admin, app) = try await Self.liveApp()
        let model = TestRegistry.churnFolder.appendingPathComponent("1/model.json").path
        let schema = TestRegistry.churnFolder.appendingPathComponent("config.yaml").path
        let metrics = TestStores.temporaryDirectory().appendingPathComponent("metrics.json")
        try Data(#"{"roc_auc": 0.8}"#.utf8).write(to: metrics)
        try await app.test(.live) { client in
            let common = ["--server", "http://127.0.0.1:\(client.port!)", "--api-key", admin]
            try await Self.run(["models", "register", "churn", model, "--schema", schema, "--metrics", metrics.path, "--tag", "team=growth"] + common)
            try await Self.run(["models", "gate", "set", "churn", "roc_auc >= 0.85"] + common)
            // The gate fails: promote exits non-zero and nothing moves.
            await #expect(throws: (any Error).self) { try await Self.run(["models", "promote", "churn", "1"] + common) }
            #expect(try await registry.aliases("churn").isEmpty)
            try await Self.run(["models", "promote", "churn", "1", "--force"] + common)
            try await Self.run(["models", "alias", "set", "churn", "staging", "1"] + common)
            try await Self.run(["models", "list", "--json"] + common)
            try await Self.run(["models", "compare", "churn"] + common)
            try await Self.run(["keys", "create", "--role", "viewer", "--name", "dash"] + common)
            try await Self.run(["keys", "create", "--role", "predictor", "--name", "churn-app", "--models", "churn", "--expires", "30d"] + common)
            await #expect(throws: (any Error).self) { try await Self.run(["keys", "create", "--role", "viewer", "--expires", "soon"] + common) }
            try await Self.run(["keys", "list"] + common)
            try await Self.run(["audit", "--target", "churn"] + common)
            // A missing key is refused.
            await #expect(throws: (any Error).self) {
                try await Self.run(["models", "delete", "churn", "1", "--server", "http://127.0.0.1:\(client.port!)", "--api-key", "keel_wrong_key_000000000"])
            }
        }
        let version = try await registry.version("churn", 1)
        #expect(version.tags == ["team": "growth"])
        #expect(version.reportedMetrics["roc_auc"] == 0.8)
        #expect(version.configYAML?.contains("risk_bands") == true)
        #expect(try await registry.aliases("churn").map(\.alias) == ["production", "staging"])
        #expect(version.status == .production)
        #expect(try await registry.keys.list().map(\.name).contains("dash"))
        let churnApp = try #require(try await registry.keys.list().first { $0.name == "churn-app" })
        #expect(churnApp.models == ["churn"])
        let lifetime = try #require(churnApp.expiresAt).timeIntervalSince(churnApp.createdAt)
        #expect(abs(lifetime - 30 * 86_400) < 60)
        #expect(try await registry.audit(target: "churn").contains { $0.action == "gate.override" })
    }

    @Test func keyLifetimesAndBearersAreParsed() {
        #expect(KeysCommand.Create.seconds("30d") == 30 * 86_400)
        #expect(KeysCommand.Create.seconds("12h") == 43_200)
        #expect(KeysCommand.Create.seconds("90m") == 5_400)
        #expect(KeysCommand.Create.seconds("3600") == 3_600)
        for bad in ["", "d", "0d", "-1d", "1.5d", "1w", "99999999999d", "٣d", "4000d"] {
            #expect(KeysCommand.Create.seconds(bad) == nil, "\(bad)")
        }
        #expect(ClientOptions.bearer(token: nil, apiKey: "k", env: ["KEEL_TOKEN": "t"]) == "k")
        #expect(ClientOptions.bearer(token: "t", apiKey: "k", env: [:]) == "t")
        #expect(ClientOptions.bearer(token: nil, apiKey: nil, env: ["KEEL_TOKEN": "t", "KEEL_API_KEY": "k"]) == "t")
        #expect(ClientOptions.bearer(token: nil, apiKey: nil, env: ["KEEL_API_KEY": "k"]) == "k")
        #expect(ClientOptions.bearer(token: nil, apiKey: nil, env: [:]) == nil)
    }

    @Test func theFirstAdminKeyGoesToAnOwnerOnlyFile() throws {
        let folder = TestStores.temporaryDirectory()
        let url = try AdminKeyFile.write("keel_first_admin_key", dataDirectory: folder)
        #expect(try String(contentsOf: url, encoding: .utf8) == "keel_first_admin_key\n")
        #expect(try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int == 0o600)
        // A file left from an earlier store is replaced.
        _ = try AdminKeyFile.write("keel_second_admin_key", dataDirectory: folder)
        #expect(try String(contentsOf: url, encoding: .utf8) == "keel_second_admin_key\n")
    }

    @Test func tablesPadColumns() {
        let text = Table.render(["NAME", "V"], [["churn", "12"], ["x", "3"]])
        #expect(text == "NAME   V\nchurn  12\nx      3")
    }
}
