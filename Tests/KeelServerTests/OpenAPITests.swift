import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelRegistry
import KeelServing
import KeelTestSupport
import Testing
@testable import KeelServer

/// The API document served at `/openapi.json`: it lists exactly the routes the router serves,
/// each with a summary, the error shape and the security its access gives it; every `$ref`
/// resolves; and the committed docs/openapi.json is the same bytes.
@Suite struct OpenAPITests {
    static let committed = TestServer.root.appendingPathComponent("docs/openapi.json")

    /// The served document's bytes and the router it came from.
    static func served() async throws -> (bytes: [UInt8], built: KeelRouter) {
        let manager = try await TestServer.manager()
        let (app, built, _, _) = try await TestServer.secured(manager)
        let bytes = try await app.test(.router) { client in
            let r = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(r.status == .ok)
            #expect(r.headers[.contentType] == "application/json")
            return Array(buffer: r.body)
        }
        return (bytes, built)
    }

    static func document() async throws -> (JSONValue, KeelRouter) {
        let (bytes, built) = try await served()
        return (try JSONParser.parse(bytes, errorCode: .invalidInput), built)
    }

    static func operations(_ doc: JSONValue) -> [(method: String, path: String, operation: JSONValue)] {
        var out: [(String, String, JSONValue)] = []
        for (path, item) in doc["paths"]?.objectValue ?? [:] {
            for (method, operation) in item.objectValue ?? [:] { out.append((method.uppercased(), path, operation)) }
        }
        return out
    }

    /// Resolves a local JSON pointer (`#/components/schemas/Model`) in the document.
    static func resolve(_ ref: String, in doc: JSONValue) -> JSONValue? {
        guard ref.hasPrefix("#/") else { return nil }
        var node: JSONValue? = doc
        for token in ref.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            node = node?[key]
        }
        return node
    }

    static func references(in value: JSONValue, into out: inout [String]) {
        switch value {
        case .object(let o):
            if let ref = o["$ref"]?.stringValue { out.append(ref) }
            for v in o.values { references(in: v, into: &out) }
        case .array(let a):
            for v in a { references(in: v, into: &out) }
        default: break
        }
    }

    @Test func componentNamesDoNotCollideAcrossGroups() {
        var seen: [String: Int] = [:]
        for (i, group) in ComponentSchemas.groups.enumerated() {
            for name in group.keys {
                #expect(seen[name] == nil, "component '\(name)' is defined in groups \(seen[name] ?? -1) and \(i)")
                seen[name] = i
            }
        }
        #expect(seen.count == ComponentSchemas.all.count)
    }

    @Test func theDocumentListsExactlyTheRoutesTheRouterServes() async throws {
        let (doc, built) = try await Self.document()
        #expect(doc["openapi"]?.stringValue == "3.1.0")
        let documented = Set(Self.operations(doc).map { "\($0.method) \($0.path)" })
        let served = Set(built.router.routes.map { "\($0.method.rawValue) \($0.path.description)" })
        #expect(served.count > 40)
        #expect(documented == served, "only documented: \(documented.subtracting(served).sorted()); only served: \(served.subtracting(documented).sorted())")
        #expect(served.contains("GET /openapi.json"))
    }

    @Test func everyOperationHasASummaryTheErrorShapeAndTheSecurityOfItsAccess() async throws {
        let (doc, built) = try await Self.document()
        var operationIDs = Set<String>()
        for route in built.declared {
            let label = "\(route.method.rawValue) \(route.path)"
            let operation = try #require(doc["paths"]?[route.path]?[route.method.rawValue.lowercased()], "\(label) is not documented")
            #expect(operation["summary"]?.stringValue == route.summary, "\(label)")
            let id = try #require(operation["operationId"]?.stringValue)
            #expect(operationIDs.insert(id).inserted, "\(label) repeats operationId \(id)")

            let responses = try #require(operation["responses"]?.objectValue, "\(label) has no responses")
            #expect(responses.keys.contains { $0.hasPrefix("2") }, "\(label) documents no success")
            #expect(responses["500"] != nil, "\(label) does not document 500")
            for (status, response) in responses where !status.hasPrefix("2") {
                let resolved = try #require(response["$ref"]?.stringValue.flatMap { Self.resolve($0, in: doc) }, "\(label) \(status) is not a shared error response")
                #expect(resolved["content"]?["application/json"]?["schema"]?["$ref"]?.stringValue == "#/components/schemas/Error", "\(label) \(status)")
            }

            let security = try #require(operation["security"]?.arrayValue, "\(label) has no security entry")
            let description = operation["description"]?.stringValue ?? ""
            switch route.access {
            case .open:
                #expect(security.isEmpty, "\(label) is open but lists security")
                #expect(responses["401"] == nil && responses["403"] == nil, "\(label) is open but documents 401/403")
            case .inference:
                #expect(security.first == .object([:]), "\(label): inference security must be optional")
                #expect(security.contains(.object(["bearerAuth": .array([])])), "\(label)")
                #expect(description.contains("--inference-requires-key"), "\(label)")
                #expect(responses["401"] != nil && responses["403"] != nil, "\(label)")
            case .role(let role):
                #expect(!security.isEmpty && !security.contains(.object([:])), "\(label) needs a key but its security is optional")
                #expect(security.contains(.object(["bearerAuth": .array([])])), "\(label)")
                #expect(description.contains("`\(role.rawValue)`"), "\(label) does not say it needs '\(role.rawValue)'")
                #expect(responses["401"] != nil && responses["403"] != nil, "\(label)")
            }
        }
    }

    @Test func everyPathParameterIsDocumentedAndEveryDocumentedOneIsInThePath() async throws {
        let (_, built) = try await Self.document()
        for route in built.declared {
            let inPath = Set(route.path.split(separator: "{").dropFirst().compactMap { $0.split(separator: "}").first.map(String.init) })
            let documented = Set(route.doc.parameters.filter { $0.location == .path }.map(\.name))
            #expect(inPath == documented, "\(route.method.rawValue) \(route.path): path has \(inPath.sorted()), documented \(documented.sorted())")
            let optional = route.doc.parameters.filter { $0.location == .path && !$0.required }
            #expect(optional.isEmpty, "\(route.path) has optional path parameters")
        }
    }

    @Test func everyReferenceResolves() async throws {
        let (doc, _) = try await Self.document()
        var refs: [String] = []
        Self.references(in: doc, into: &refs)
        #expect(refs.count > 100)
        for ref in Set(refs) {
            #expect(Self.resolve(ref, in: doc) != nil, "\(ref) does not resolve")
        }
        // And every component schema is used somewhere.
        for name in doc["components"]?["schemas"]?.objectValue?.keys.sorted() ?? [] {
            #expect(refs.contains("#/components/schemas/\(name)"), "component schema \(name) is never referenced")
        }
    }

    @Test func theCommittedDocumentIsTheServedOneByteForByte() async throws {
        let (bytes, _) = try await Self.served()
        let committed = (try? Data(contentsOf: Self.committed)).map { [UInt8]($0) } ?? []
        let same = committed == bytes
        let firstDifference = zip(String(decoding: committed, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false),
            String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)).enumerated()
            .first { $0.element.0 != $0.element.1 }.map { "line \($0.offset + 1): committed '\($0.element.0)', served '\($0.element.1)'" } ?? "lengths differ"
        #expect(same, "docs/openapi.json is stale (\(firstDifference)): run `swift run keel openapi > docs/openapi.json`")
    }

    @Test func keelOpenAPIPrintsTheServedDocument() async throws {
        let (bytes, _) = try await Self.served()
        let printed = try await KeelApplication.openAPIDocument()
        let again = try await KeelApplication.openAPIDocument()
        #expect(printed == bytes)
        #expect(again == printed, "building the document twice gave different bytes")
    }
}

/// Answers schemathesis showed were wrong, fixed so the server does what the document says.
@Suite struct DocumentedInputRulesTests {
    @Test func anAuditLimitOutsideItsDocumentedRangeIsRefused() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, keys) = try await TestServer.secured(manager)
        try await app.test(.router) { client in
            for limit in ["0", "-3", "10001", "abc", "1e3"] {
                let r = try await client.execute(uri: "/api/v1/audit?limit=\(limit)", method: .get, headers: TestServer.bearer(keys.admin))
                #expect(r.status == .badRequest, "limit=\(limit) answered \(r.status)")
                let message = try TestServer.json(r)["error"]?.stringValue ?? ""
                #expect(message.contains("limit"), "\(message)")
            }
            let ok = try await client.execute(uri: "/api/v1/audit?limit=10000", method: .get, headers: TestServer.bearer(keys.admin))
            #expect(ok.status == .ok)
        }
    }

    @Test func aRepositoryIndexReadyThatIsNotABooleanIsRefused() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, _) = try await TestServer.secured(manager)
        try await app.test(.router) { client in
            let bad = try await client.execute(uri: "/v2/repository/index", method: .post, body: TestServer.body(#"{"ready":"yes"}"#))
            #expect(bad.status == .badRequest)
            let ready = try await client.execute(uri: "/v2/repository/index", method: .post, body: TestServer.body(#"{"ready":true}"#))
            #expect(ready.status == .ok)
            let entries = try TestServer.json(ready).arrayValue ?? []
            #expect(entries.first?["name"] == "churn")
        }
    }

    @Test func aServedPathAskedWithAnotherMethodAnswers405NamingTheMethodsItTakes() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, keys) = try await TestServer.secured(manager)
        try await app.test(.router) { client in
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.delete, "/v2/models/churn/infer", "POST"), (.get, "/v1/models/churn:predict", "POST"),
                (.put, "/api/v1/models/churn", "DELETE, GET, PATCH"), (.options, "/health", "GET"),
            ]
            for (method, path, allow) in cases {
                let r = try await client.execute(uri: path, method: method, headers: TestServer.bearer(keys.admin))
                #expect(r.status == .methodNotAllowed, "\(method) \(path) answered \(r.status)")
                #expect(r.headers[.allow] == allow, "\(method) \(path)")
                #expect(try TestServer.json(r)["error"]?.stringValue != nil)
            }
            let unknown = try await client.execute(uri: "/v2/nothing/here", method: .get)
            #expect(unknown.status == .notFound)
        }
    }

    @Test func anAdminKeyCannotRevokeItself() async throws {
        let manager = try await TestServer.manager()
        let (app, _, _, keys) = try await TestServer.secured(manager)
        try await app.test(.router) { client in
            let me = try TestServer.json(try await client.execute(uri: "/api/v1/whoami", method: .get, headers: TestServer.bearer(keys.admin)))
            let id = try #require(me["id"]?.stringValue)
            let r = try await client.execute(uri: "/api/v1/keys/\(id)", method: .delete, headers: TestServer.bearer(keys.admin))
            #expect(r.status == .conflict)
            let after = try await client.execute(uri: "/api/v1/keys", method: .get, headers: TestServer.bearer(keys.admin))
            #expect(after.status == .ok, "the admin key stopped working")
        }
    }

    @Test func aComparisonOfMoreThanTheDocumentedNumberOfVersionsIsRefused() async throws {
        let manager = try await TestServer.manager()
        let (app, _, registry, keys) = try await TestServer.secured(manager)
        try await AccessControlTests.registerChurn(registry)
        try await app.test(.router) { client in
            let many = Array(repeating: "1", count: ModelRoutes.maxComparedVersions + 1).joined(separator: ",")
            let refused = try await client.execute(uri: "/api/v1/models/churn/compare?versions=\(many)", method: .get, headers: TestServer.bearer(keys.viewer))
            #expect(refused.status == .badRequest)
            let ok = try await client.execute(uri: "/api/v1/models/churn/compare?versions=1,2", method: .get, headers: TestServer.bearer(keys.viewer))
            #expect(ok.status == .ok)
        }
    }
}
