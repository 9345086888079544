import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelRegistry
import KeelTestSupport
import Testing

/// API keys created through the API with an expiry and a model list, and what such keys may reach.
@Suite struct KeyLimitTests {
    @Test func keysLimitedToModelsReachOnlyThoseModelsAndExpire() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, keys) = try await TestServer.secured(manager) { $0.inferenceRequiresKey = true }
        try await app.test(.router) { client in
            @Sendable func create(_ body: String) async throws -> (HTTPResponse.Status, String) {
                try await client.execute(uri: "/api/v1/keys", method: .post, headers: TestServer.bearer(keys.admin), body: TestServer.body(body)) { r in
                    (r.status, String(buffer: r.body))
                }
            }
            let (status, created) = try await create(#"{"role":"predictor","name":"churn-app","models":["churn"],"expires_in_s":3600}"#)
            #expect(status == .created)
            #expect(created.contains(#""models":["churn"]"#))
            #expect(!created.contains(#""expires_at":null"#))
            let object = try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any]
            let limited = try #require(object?["key"] as? String)

            try await client.execute(uri: "/v2/models/churn/infer", method: .post, headers: TestServer.bearer(limited), body: TestServer.body(EdgeSecurityTests.infer)) { r in
                #expect(r.status == .ok)
            }
            // Another model — even one that does not exist — is refused before anything else.
            try await client.execute(uri: "/v2/models/fraud/infer", method: .post, headers: TestServer.bearer(limited), body: TestServer.body(EdgeSecurityTests.infer)) { r in
                #expect(r.status == .forbidden)
                #expect(String(buffer: r.body).contains("limited to the models churn"))
            }
            // Routes not about one model (lists, jobs) are refused; whoami works.
            for (uri, method) in [("/api/v1/models", HTTPRequest.Method.get), ("/api/v1/jobs", .get), ("/v2/repository/index", .post)] {
                try await client.execute(uri: uri, method: method, headers: TestServer.bearer(limited), body: TestServer.body("{}")) { r in
                    #expect(r.status == .forbidden, "\(uri)")
                }
            }
            try await client.execute(uri: "/api/v1/whoami", method: .get, headers: TestServer.bearer(limited)) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/api/v1/keys", method: .get, headers: TestServer.bearer(keys.admin)) { r in
                #expect(String(buffer: r.body).contains(#""models":["churn"]"#))
            }

            // Malformed limits are 400 and create nothing.
            for body in [#"{"role":"viewer","models":"churn"}"#, #"{"role":"viewer","models":[]}"#, #"{"role":"viewer","models":["a/b"]}"#,
                         #"{"role":"viewer","models":[1]}"#, #"{"role":"viewer","expires_in_s":0}"#, #"{"role":"viewer","expires_in_s":1e300}"#,
                         #"{"role":"viewer","expires_in_s":-5}"#, #"{"role":"viewer","expires_in_s":"30d"}"#] {
                let (s, text) = try await create(body)
                #expect(s == .badRequest, "\(body): \(text)")
            }
            try await client.execute(uri: "/api/v1/keys", method: .get, headers: TestServer.bearer(keys.admin)) { r in
                let listed = try? JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
                #expect((listed?["keys"] as? [Any])?.count == 5) // the four test keys and churn-app
            }

            // A key that expires in a second is refused after it.
            let (_, brief) = try await create(#"{"role":"viewer","expires_in_s":1}"#)
            let briefKey = try #require((try JSONSerialization.jsonObject(with: Data(brief.utf8)) as? [String: Any])?["key"] as? String)
            try await Task.sleep(for: .milliseconds(1200))
            try await client.execute(uri: "/api/v1/whoami", method: .get, headers: TestServer.bearer(briefKey)) { r in
                #expect(r.status == .unauthorized)
                #expect(String(buffer: r.body).contains("expired"))
            }
        }
    }
}
