import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelServing
import Testing
@testable import KeelServer

/// Probes, server and model metadata, repository index.
@Suite struct HealthAndMetadataTests {
    @Test func probesAnswer() async throws {
        let manager = try await TestServer.manager()
        try await TestServer.app(manager).test(.router) { client in
            for path in ["/health", "/ready", "/v2/health/live", "/v2/health/ready"] {
                let r = try await client.execute(uri: path, method: .get)
                #expect(r.status == .ok, "\(path)")
            }
            let meta = try TestServer.json(try await client.execute(uri: "/v2", method: .get))
            #expect(meta["name"] == "keel")
            #expect(meta["extensions"]?.arrayValue?.contains("binary_tensor_data") == true)
        }
    }

    @Test func notReadyUntilModelsAreLoaded() async throws {
        let manager = ModelManager(repository: nil, metrics: .init())
        try await TestServer.app(manager).test(.router) { client in
            let r = try await client.execute(uri: "/v2/health/ready", method: .get)
            #expect(r.status == .serviceUnavailable)
            #expect(try TestServer.json(r)["error"]?.stringValue?.contains("not ready") == true)
            #expect(try await client.execute(uri: "/v2/health/live", method: .get).status == .ok)
        }
    }

    @Test func modelMetadataDescribesInputsAndOutputs() async throws {
        let manager = try await TestServer.manager()
        try await TestServer.app(manager).test(.router) { client in
            let meta = try TestServer.json(try await client.execute(uri: "/v2/models/churn", method: .get))
            #expect(meta["platform"] == "xgboost")
            #expect(meta["versions"] == .array(["1"]))
            #expect(meta["inputs"]?.arrayValue?.first?["shape"] == .array([-1, 22]))
            #expect(meta["outputs"]?.arrayValue?.map { $0["name"] } == ["probabilities", "label"])
            #expect(meta["parameters"]?["class_labels"] == .array(["stay", "churn"]))
            let v = try await client.execute(uri: "/v2/models/churn/versions/1", method: .get)
            #expect(v.status == .ok)
            #expect(try await client.execute(uri: "/v2/models/churn/ready", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v2/models/churn/versions/1/ready", method: .get).status == .ok)
        }
    }

    @Test func unknownModelOrVersionIs404() async throws {
        let manager = try await TestServer.manager()
        try await TestServer.app(manager).test(.router) { client in
            for path in ["/v2/models/nope", "/v2/models/churn/versions/9", "/v2/models/nope/ready"] {
                let r = try await client.execute(uri: path, method: .get)
                #expect(r.status == .notFound, "\(path)")
                #expect(try TestServer.json(r)["error"]?.stringValue != nil)
            }
            let r = try await client.execute(uri: "/v2/models/churn/versions/9/infer", method: .post, body: try TestServer.bytes(TestServer.models.appendingPathComponent("churn/sample_request.json")))
            #expect(r.status == .notFound)
            #expect(try TestServer.json(r)["error"]?.stringValue?.contains("no version '9'") == true)
            let route = try await client.execute(uri: "/v3/whatever", method: .get)
            #expect(route.status == .notFound)
            #expect(try TestServer.json(route)["error"] == "no route for GET /v3/whatever")
        }
    }

    @Test func repositoryIndexLoadAndUnload() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, keys) = try await TestServer.secured(manager)
        let deployer = TestServer.bearer(keys.deployer, json: false)
        try await app.test(.router) { client in
            let index = try TestServer.json(try await client.execute(uri: "/v2/repository/index", method: .post))
            #expect(index.arrayValue?.first?["name"] == "churn")
            #expect(index.arrayValue?.first?["state"] == "READY")
            #expect(try await client.execute(uri: "/v2/repository/models/churn/unload", method: .post, headers: deployer).status == .ok)
            let gone = try await client.execute(uri: "/v2/models/churn/ready", method: .get)
            #expect(gone.status == .serviceUnavailable)
            let after = try TestServer.json(try await client.execute(uri: "/v2/repository/index", method: .post))
            #expect(after.arrayValue?.first?["state"] == "UNAVAILABLE")
            let readyOnly = try TestServer.json(try await client.execute(uri: "/v2/repository/index", method: .post, body: TestServer.body(#"{"ready":true}"#)))
            #expect(readyOnly == .array([]))
            let bad = try await client.execute(uri: "/v2/repository/index", method: .post, body: TestServer.body("{"))
            #expect(bad.status == .badRequest)
            #expect(try await client.execute(uri: "/v2/repository/models/churn/load", method: .post, headers: deployer).status == .ok)
            #expect(try await client.execute(uri: "/v2/models/churn/ready", method: .get).status == .ok)
            let missing = try await client.execute(uri: "/v2/repository/models/ghost/load", method: .post, headers: deployer)
            #expect(missing.status == .notFound)
        }
    }

    @Test func requestIDIsHonouredOrGenerated() async throws {
        let manager = try await TestServer.manager()
        try await TestServer.app(manager).test(.router) { client in
            let given = try await client.execute(uri: "/health", method: .get, headers: [RequestIDMiddleware.header: "req-42"])
            #expect(given.headers[RequestIDMiddleware.header] == "req-42")
            let generated = try await client.execute(uri: "/health", method: .get)
            #expect(generated.headers[RequestIDMiddleware.header]?.count == 16)
        }
    }
}
