import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelEngine
import KeelRegistry
import KeelServing
import KeelTestSupport
import Testing
@testable import KeelServer

/// Access is declared by every route and enforced by its route group: the router's actual
/// routes are walked, so a new route without a declared (and correct) access fails here.
@Suite struct AccessControlTests {
    /// The rule every route follows; a route that does not fit must change the rule here,
    /// on purpose.
    static func expectedAccess(_ method: HTTPRequest.Method, _ path: String) -> Access {
        if ["/health", "/ready", "/v2/health/live", "/v2/health/ready", "/v2", "/metrics", "/openapi.json"].contains(path) { return .open }
        if path.hasPrefix("/v2/repository/models/") { return .deployer }
        if path == "/v2/repository/index" || path.hasPrefix("/v2/models/") || path.hasPrefix("/v1/models/") { return .inference }
        // Ground-truth labels are inference traffic: open, or a predictor key when inference needs one.
        if method == .post, path.hasPrefix("/api/v1/models/"), path.hasSuffix("/feedback") { return .inference }
        if path.hasPrefix("/api/v1/keys") || path.hasPrefix("/api/v1/audit") { return .admin }
        if path.hasPrefix("/api/v1/") { return method == .get ? .viewer : .deployer }
        return .admin
    }

    /// A concrete URI for a route pattern.
    static func uri(_ pattern: String) -> String {
        pattern.replacingOccurrences(of: "{model}", with: "churn").replacingOccurrences(of: "{version}", with: "1")
            .replacingOccurrences(of: "{alias}", with: "staging").replacingOccurrences(of: "{id}", with: "key_00000000")
            .replacingOccurrences(of: "{metric}", with: "roc_auc").replacingOccurrences(of: "{job}", with: "1")
    }

    static func registerChurn(_ registry: Registry) async throws {
        var new = try RegistryImport.inspect(model: "churn", bytes: try TestRegistry.churnModelBytes(), filename: "model.json", configYAML: try TestRegistry.churnConfigYAML())
        new.metrics = ["roc_auc": 0.9]
        _ = try await registry.register(new, by: .system)
        _ = try await registry.register(new, by: .system)
        try await registry.setAlias("churn", alias: "staging", version: 1, by: .system)
    }

    @Test func everyRegisteredRouteDeclaresTheAccessTheRuleGivesIt() async throws {
        let manager = try await TestServer.manager()
        let (_, built, _, _) = try await TestServer.secured(manager)
        let served = built.router.routes.map { "\($0.method.rawValue) \($0.path.description)" }
        let declared = Dictionary(built.declared.map { ("\($0.method.rawValue) \($0.path)", $0) }, uniquingKeysWith: { a, _ in a })
        #expect(served.count == built.declared.count, "the router serves \(served.count) routes, \(built.declared.count) were declared")
        #expect(served.count > 40)
        for route in served {
            guard let d = declared[route] else {
                Issue.record("route \(route) is served but declares no access")
                continue
            }
            #expect(d.access == Self.expectedAccess(d.method, d.path), "\(route) declares \(d.access), the rule gives \(Self.expectedAccess(d.method, d.path))")
            #expect(!d.summary.isEmpty, "\(route) has no summary")
        }
    }

    @Test func everyRouteRefusesMissingWrongAndWeakKeysAndNothingChanges() async throws {
        let manager = try await TestServer.manager()
        let (app, built, registry, keys) = try await TestServer.secured(manager) { $0.inferenceRequiresKey = true }
        try await Self.registerChurn(registry)
        let auditBefore = try await registry.audit(limit: 10_000).count
        let versionsBefore = try await registry.versions("churn")
        let aliasesBefore = try await registry.aliases("churn")
        let body = ByteBuffer(string: #"{"version":2,"role":"viewer","gate":"roc_auc >= 0.5","inputs":[],"instances":[{}]}"#)
        let declared = built.declared
        try await app.test(.router) { client in
            for route in declared {
                let uri = Self.uri(route.path)
                let label = "\(route.method.rawValue) \(uri)"
                guard let role = route.access.requiredRole(inferenceRequiresKey: true) else {
                    let r = try await client.execute(uri: uri, method: route.method, headers: TestServer.bearer(nil), body: body)
                    #expect(r.status != .unauthorized && r.status != .forbidden, "\(label) is open but answered \(r.status)")
                    continue
                }
                let missing = try await client.execute(uri: uri, method: route.method, headers: TestServer.bearer(nil), body: body)
                #expect(missing.status == .unauthorized, "\(label) without a key answered \(missing.status)")
                #expect(try TestServer.json(missing)["error"]?.stringValue != nil)
                let wrong = try await client.execute(uri: uri, method: route.method, headers: TestServer.bearer("keel_bogus_0000000000000000000000000000"), body: body)
                #expect(wrong.status == .unauthorized, "\(label) with a wrong key answered \(wrong.status)")
                if let weak = keys.weaker(than: role) {
                    let r = try await client.execute(uri: uri, method: route.method, headers: TestServer.bearer(weak), body: body)
                    #expect(r.status == .forbidden, "\(label) with a key below '\(role.rawValue)' answered \(r.status)")
                }
            }
        }
        #expect(try await registry.audit(limit: 10_000).count == auditBefore)
        #expect(try await registry.versions("churn") == versionsBefore)
        #expect(try await registry.aliases("churn") == aliasesBefore)
        #expect(manager.index().first { $0.name == "churn" }?.state == .ready)
    }

    @Test func noSpellingOfAPathGetsPastItsCheck() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, _) = try await TestServer.secured(manager) { $0.inferenceRequiresKey = true }
        let request = try TestServer.bytes(TestServer.models.appendingPathComponent("churn/sample_request.json"))
        try await app.test(.router) { client in
            let unloads = [
                "/v2/repository/models/churn/unload", "//v2/repository/models/churn/unload", "/v2//repository/models/churn/unload",
                "/v2/repository/models/churn/unload/", "/v2/repository/models/churn/unload?x=1", "/v2/./repository/models/churn/unload",
                "/v2/repository/models/x/../churn/unload", "/v2/repository/%6Dodels/churn/unload", "/v2/repository/models/ch%75rn/unload",
                "/V2/REPOSITORY/MODELS/CHURN/UNLOAD", "/v2/repository/models/churn%2Funload", "/v2/repository/models/churn/unload%2F",
                "/v2/repository/models/churn/%2E%2E/churn/unload", "/v2/repository/models/churn\\unload",
            ]
            for path in unloads {
                let r = try await client.execute(uri: path, method: .post)
                #expect([.unauthorized, .notFound, .badRequest].contains(r.status), "\(path) answered \(r.status)")
            }
            let infers = ["//v2/models/churn/infer", "/v2/models/churn/infer/", "/v2//models/churn/infer", "/v2/models/./churn/infer", "/v1/models/churn:predict", "//v1/models/churn:predict"]
            for path in infers {
                let r = try await client.execute(uri: path, method: .post, body: request)
                #expect([.unauthorized, .notFound, .badRequest].contains(r.status), "\(path) answered \(r.status)")
            }
        }
        #expect(manager.index().first { $0.name == "churn" }?.state == .ready)
    }

    @Test func modelNamesFromURLsAreValidatedBeforeTheyTouchAPath() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, keys) = try await TestServer.secured(manager)
        try await app.test(.router) { client in
            for name in [".hidden", "..", "a%00b", "..%2F..%2Fetc", "x%20y", String(repeating: "m", count: 129)] {
                let r = try await client.execute(uri: "/v2/repository/models/\(name)/load", method: .post, headers: TestServer.bearer(keys.deployer))
                #expect(r.status == .badRequest, "\(name) answered \(r.status)")
            }
            let r = try await client.execute(uri: "/v2/models/.hidden/infer", method: .post, body: TestServer.body("{}"))
            #expect(r.status == .badRequest)
        }
    }

    @Test func theRepositoryCannotReplaceOrUnloadARegistryModel() async throws {
        let manager = try await TestServer.manager()
        let (app, _, registry, keys) = try await TestServer.secured(manager)
        try await Self.registerChurn(registry)
        try await registry.setAlias("churn", alias: Registry.production, version: 2, by: .system)
        let follower = RegistryFollower(registry: registry, manager: manager)
        try await follower.sync()
        #expect(manager.aliases(of: "churn")[Registry.production] == "2")
        try await app.test(.router) { client in
            for action in ["load", "unload"] {
                let r = try await client.execute(uri: "/v2/repository/models/churn/\(action)", method: .post, headers: TestServer.bearer(keys.deployer))
                #expect(r.status == .conflict, "\(action) answered \(r.status)")
            }
        }
        #expect(try manager.resolve("churn").version == "2")
    }

    @Test func refusedAuthenticationsAreCountedAndInternalsStayHidden() async throws {
        let manager = try await TestServer.manager(repository: nil)
        try await manager.add(name: "leaky", version: "1", model: LeakyModel())
        let (app, _, _, _) = try await TestServer.secured(manager)
        try await app.test(.router) { client in
            _ = try await client.execute(uri: "/api/v1/models", method: .get)
            _ = try await client.execute(uri: "/api/v1/models", method: .get, headers: TestServer.bearer("keel_nope_0000000000000000000000000000"))
            let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(text.contains(#"keel_auth_failures_total{reason="missing"} 1"#))
            #expect(text.contains(#"keel_auth_failures_total{reason="invalid"} 1"#))
            let r = try await client.execute(uri: "/v2/models/leaky/infer", method: .post, headers: [RequestIDMiddleware.header: "req-leak"],
                body: TestServer.body(#"{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}"#))
            #expect(r.status == .internalServerError)
            let message = try TestServer.json(r)["error"]?.stringValue ?? ""
            #expect(message.contains("req-leak"))
            #expect(!message.contains("/var/lib") && !message.contains("Leaky"), "\(message)")
        }
    }
}

/// Fails every call with an internal error that mentions a path (which must not reach clients).
struct LeakyModel: LoadedModel {
    let metadata = SlowDoubler(delay: 0).metadata
    func infer(_ inputs: [String: Tensor]) throws(KeelError) -> [String: Tensor] {
        if inputs["x"]?.floats == [0] { return try SlowDoubler(delay: 0).infer(inputs) }  // warm-up
        throw KeelError(.internal, "LeakyModel failed reading /var/lib/keel/secret")
    }
}
