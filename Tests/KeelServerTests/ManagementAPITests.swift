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

/// The management API in-process: roles on every route that changes something, and the
/// register → gate → evaluate → promote flow.
@Suite struct ManagementAPITests {
    struct Keys {
        var admin: String
        var deployer: String
        var predictor: String
        var viewer: String
    }

    static func setUp(_ kind: StoreKind = .sqlite) async throws -> (Registry, Keys, some ApplicationProtocol) {
        let registry = try await TestRegistry.make(kind)
        let admin = try #require(try await registry.keys.bootstrapAdmin(environmentKey: nil))
        let root = Principal.system
        let keys = Keys(
            admin: admin,
            deployer: try await registry.keys.create(name: "ci", role: .deployer, by: root).secret,
            predictor: try await registry.keys.create(name: "app", role: .predictor, by: root).secret,
            viewer: try await registry.keys.create(name: "dash", role: .viewer, by: root).secret)
        var new = try RegistryImport.inspect(model: "churn", bytes: try TestRegistry.churnModelBytes(), filename: "model.json", configYAML: try TestRegistry.churnConfigYAML())
        new.metrics = ["roc_auc": 0.9]
        _ = try await registry.register(new, by: root)
        _ = try await registry.register(new, by: root)
        try await registry.setAlias("churn", alias: "staging", version: 1, by: root)
        let manager = try await TestServer.manager(repository: nil)
        var configuration = ServerConfiguration()
        configuration.maxBodyBytes = 8 << 20
        let app = Application(router: KeelApplication.router(manager: manager, configuration: configuration, registry: registry))
        return (registry, keys, app)
    }

    static func auth(_ key: String?) -> HTTPFields {
        var h: HTTPFields = [.contentType: "application/json"]
        if let key { h[.authorization] = "Bearer \(key)" }
        return h
    }

    /// Every mutating route with the least role it needs and a body that would succeed.
    static func mutatingRoutes() throws -> [(HTTPRequest.Method, String, String, Role)] {
        let artifact = try TestRegistry.churnModelBytes()
        let register = #"{"artifact_base64":"\#(Data(artifact).base64EncodedString())","filename":"model.json"}"#
        return [
            (.post, "/api/v1/models/churn/versions", register, .deployer),
            (.patch, "/api/v1/models/churn", #"{"description":"new"}"#, .deployer),
            (.put, "/api/v1/models/churn/aliases/canary", #"{"version":2}"#, .deployer),
            (.delete, "/api/v1/models/churn/aliases/staging", "", .deployer),
            (.post, "/api/v1/models/churn/promote", #"{"version":2}"#, .deployer),
            (.post, "/api/v1/models/churn/gates", #"{"gate":"roc_auc >= 0.5"}"#, .deployer),
            (.delete, "/api/v1/models/churn/gates/roc_auc", "", .deployer),
            (.post, "/api/v1/models/churn/versions/2/evaluate?label=churn", "a,churn\n1,0\n", .deployer),
            (.post, "/api/v1/models/churn/versions/2/archive", "", .deployer),
            (.delete, "/api/v1/models/churn/versions/2", "", .deployer),
            (.delete, "/api/v1/models/churn", "", .deployer),
            (.post, "/api/v1/keys", #"{"role":"viewer","name":"x"}"#, .admin),
            (.delete, "/api/v1/keys/key_00000000", "", .admin),
        ]
    }

    @Test func everyMutatingRouteRefusesMissingWrongAndWeakKeysAndChangesNothing() async throws {
        let (registry, keys, app) = try await Self.setUp()
        let routes = try Self.mutatingRoutes()
        let auditBefore = try await registry.audit(limit: 1000).count
        let versionsBefore = try await registry.versions("churn")
        let aliasesBefore = try await registry.aliases("churn")
        try await app.test(.router) { client in
            for (method, path, body, needed) in routes {
                let missing = try await client.execute(uri: path, method: method, headers: Self.auth(nil), body: ByteBuffer(string: body))
                #expect(missing.status == .unauthorized, "\(method) \(path) without key")
                #expect(String(buffer: missing.body).contains("\"error\""))
                let wrong = try await client.execute(uri: path, method: method, headers: Self.auth("keel_not_a_real_key_000000"), body: ByteBuffer(string: body))
                #expect(wrong.status == .unauthorized, "\(method) \(path) with a wrong key")
                let weak = needed == .admin ? keys.deployer : keys.predictor
                let forbidden = try await client.execute(uri: path, method: method, headers: Self.auth(weak), body: ByteBuffer(string: body))
                #expect(forbidden.status == .forbidden, "\(method) \(path) with a weaker role")
                #expect(String(buffer: forbidden.body).contains("needs '\(needed.rawValue)'"))
                let viewer = try await client.execute(uri: path, method: method, headers: Self.auth(keys.viewer), body: ByteBuffer(string: body))
                #expect(viewer.status == .forbidden, "\(method) \(path) as viewer")
            }
        }
        #expect(try await registry.audit(limit: 1000).count == auditBefore)
        #expect(try await registry.versions("churn") == versionsBefore)
        #expect(try await registry.aliases("churn") == aliasesBefore)
        #expect(try await registry.keys.list().count == 4)
    }

    @Test func readsNeedAKeyOfAnyRole() async throws {
        let (_, keys, app) = try await Self.setUp()
        try await app.test(.router) { client in
            let anonymous = try await client.execute(uri: "/api/v1/models", method: .get)
            #expect(anonymous.status == .unauthorized)
            let viewer = try await client.execute(uri: "/api/v1/models", method: .get, headers: Self.auth(keys.viewer))
            #expect(viewer.status == .ok)
            #expect(String(buffer: viewer.body).contains("\"churn\""))
            let audit = try await client.execute(uri: "/api/v1/audit", method: .get, headers: Self.auth(keys.deployer))
            #expect(audit.status == .forbidden)
        }
    }

    @Test func registerGateEvaluateAndPromoteOverHTTP() async throws {
        let (registry, keys, app) = try await Self.setUp()
        let artifact = try TestRegistry.churnModelBytes()
        let schema = try TestRegistry.churnConfigYAML()
        var w = JSONWriter()
        w.value(.object([
            "artifact_base64": .string(Data(artifact).base64EncodedString()), "filename": .string("model.json"),
            "schema_yaml": .string(schema), "tags": .object(["team": .string("growth")]), "description": .string("retrained"),
        ]))
        let registration = ByteBuffer(bytes: w.bytes)
        try await app.test(.router) { client in
            let created = try await client.execute(uri: "/api/v1/models/churn/versions", method: .post, headers: Self.auth(keys.deployer), body: registration)
            #expect(created.status == .created)
            #expect(try TestServer.json(created)["version"]?.intValue == 3)

            let gate = try await client.execute(uri: "/api/v1/models/churn/gates", method: .post, headers: Self.auth(keys.deployer), body: ByteBuffer(string: #"{"gate":"roc_auc >= 0.85"}"#))
            #expect(gate.status == .created)

            let refused = try await client.execute(uri: "/api/v1/models/churn/promote", method: .post, headers: Self.auth(keys.deployer), body: ByteBuffer(string: #"{"version":3}"#))
            #expect(refused.status == .conflict)
            #expect(String(buffer: refused.body).contains("roc_auc >= 0.85: 'roc_auc' has not been measured"))

            let evaluated = try await client.execute(
                uri: "/api/v1/models/churn/versions/3/evaluate?label=churn", method: .post, headers: Self.auth(keys.deployer),
                body: ByteBuffer(string: try TestRegistry.churnHoldoutCSV()))
            #expect(evaluated.status == .ok)
            #expect((try TestServer.json(evaluated)["metrics"]?["roc_auc"]?.doubleValue ?? 0) > 0.85)

            let promoted = try await client.execute(uri: "/api/v1/models/churn/promote", method: .post, headers: Self.auth(keys.deployer), body: ByteBuffer(string: #"{"version":3}"#))
            #expect(promoted.status == .ok)

            let card = try await client.execute(uri: "/api/v1/models/churn/versions/production/card", method: .get, headers: Self.auth(keys.viewer))
            #expect(String(buffer: card.body).hasPrefix("# churn — version 3"))

            let compare = try await client.execute(uri: "/api/v1/models/churn/compare?versions=1,3", method: .get, headers: Self.auth(keys.viewer))
            #expect(compare.status == .ok)

            let audit = try await client.execute(uri: "/api/v1/audit?target=churn", method: .get, headers: Self.auth(keys.admin))
            let actions = (try TestServer.json(audit)["events"]).map { String(describing: $0) } ?? ""
            #expect(actions.contains("version.evaluate"))
            #expect(actions.contains("alias.set"))
        }
        #expect(try await registry.aliases("churn").first { $0.alias == "production" }?.version == 3)
    }

    @Test func inferenceCanRequireAPredictorKey() async throws {
        let (registry, keys, _) = try await Self.setUp()
        let manager = try await TestServer.manager()
        var configuration = ServerConfiguration()
        configuration.inferenceRequiresKey = true
        let app = Application(router: KeelApplication.router(manager: manager, configuration: configuration, registry: registry))
        let body = try TestServer.bytes(TestServer.models.appendingPathComponent("churn/sample_records.json"))
        try await app.test(.router) { client in
            let anonymous = try await client.execute(uri: "/v1/models/churn:predict", method: .post, body: body)
            #expect(anonymous.status == .unauthorized)
            let viewer = try await client.execute(uri: "/v2/models/churn/infer", method: .post, headers: Self.auth(keys.viewer), body: body)
            #expect(viewer.status == .forbidden)
            let predictor = try await client.execute(uri: "/v1/models/churn:predict", method: .post, headers: Self.auth(keys.predictor), body: body)
            #expect(predictor.status == .ok)
            let health = try await client.execute(uri: "/v2/health/live", method: .get)
            #expect(health.status == .ok)
        }
    }

    @Test func keysAreShownOnceAndRevocable() async throws {
        let (registry, keys, app) = try await Self.setUp()
        try await app.test(.router) { client in
            let created = try await client.execute(uri: "/api/v1/keys", method: .post, headers: Self.auth(keys.admin), body: ByteBuffer(string: #"{"role":"viewer","name":"grafana"}"#))
            #expect(created.status == .created)
            let body = try TestServer.json(created)
            let secret = try #require(body["key"]?.stringValue)
            let id = try #require(body["id"]?.stringValue)
            let listed = try await client.execute(uri: "/api/v1/keys", method: .get, headers: Self.auth(keys.admin))
            #expect(!String(buffer: listed.body).contains(secret))
            let ok = try await client.execute(uri: "/api/v1/whoami", method: .get, headers: Self.auth(secret))
            #expect(ok.status == .ok)
            _ = try await client.execute(uri: "/api/v1/keys/\(id)", method: .delete, headers: Self.auth(keys.admin))
            let revoked = try await client.execute(uri: "/api/v1/whoami", method: .get, headers: Self.auth(secret))
            #expect(revoked.status == .unauthorized)
        }
        #expect(try await registry.audit().contains { $0.action == "key.revoke" })
    }
}
