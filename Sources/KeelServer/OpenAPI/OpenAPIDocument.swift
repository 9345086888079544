import KeelCore
import KeelRegistry

/// The OpenAPI 3.1 document of Keel's HTTP API, built from the declared routes: each route's
/// `RouteDoc` gives its parameters, body and responses; its `Access` gives its security and
/// the 401/403 answers; the error shape is shared. Deterministic: the same routes give the
/// same bytes.
public enum OpenAPIDocument {
    public static let version = "3.1.0"

    /// The document as a JSON value.
    public static func value(_ routes: [DeclaredRoute]) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for route in routes {
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation(route)
        }
        let usedTags = Set(routes.map { tag(of: $0.path) })
        return .object([
            "openapi": .string(version),
            "info": .object([
                "title": "Keel",
                "version": .string(KeelVersion.current),
                "description": .string(
                    "Model serving and registry: the Open Inference Protocol v2 (REST), the records API, the management API "
                        + "(`/api/v1`), probes and metrics. Every error is `{\"error\": \"…\"}`. API keys travel as "
                        + "`Authorization: Bearer <key>` or `X-API-Key: <key>`; reads need `viewer`, changes `deployer`, keys and "
                        + "audit `admin`; inference is open unless the server runs with `--inference-requires-key`. JSON request "
                        + "bodies may write missing floats as `NaN`, `Infinity` or `-Infinity`, as Python's json module does."),
            ]),
            "tags": .array(tags.filter { usedTags.contains($0.name) }.map { .object(["name": .string($0.name), "description": .string($0.description)]) }),
            "paths": .object(paths.mapValues { .object($0) }),
            "components": .object([
                "schemas": .object(ComponentSchemas.all.mapValues(\.value)),
                "responses": .object(Dictionary(uniqueKeysWithValues: ErrorStatus.allCases.map { ($0.component, errorResponse($0)) })),
                "securitySchemes": .object([
                    "bearerAuth": .object(["type": "http", "scheme": "bearer", "description": "A Keel API key: `Authorization: Bearer <key>`"]),
                    "apiKeyHeader": .object(["type": "apiKey", "in": "header", "name": "X-API-Key", "description": "The same key as `X-API-Key: <key>`"]),
                ]),
            ]),
        ])
    }

    /// The document's bytes, as served at `/openapi.json` and committed as docs/openapi.json.
    public static func bytes(_ routes: [DeclaredRoute]) -> [UInt8] {
        PrettyJSON.bytes(value(routes))
    }

    /// `GET` and `/v2/models/{model}:predict` → `get_v2_models_model_predict`: unique per route.
    static func operationID(_ route: DeclaredRoute) -> String {
        let words = route.path.split { !($0.isLetter || $0.isNumber) }.map(String.init)
        return ([route.method.rawValue.lowercased()] + words).joined(separator: "_")
    }

    /// Security requirements from the route's access: none, optional, or a key.
    static func security(_ access: Access) -> JSONValue {
        let key: [JSONValue] = [.object(["bearerAuth": .array([])]), .object(["apiKeyHeader": .array([])])]
        switch access {
        case .open: return .array([])
        case .inference: return .array([.object([:])] + key)
        case .role: return .array(key)
        }
    }

    static func accessNote(_ access: Access) -> String {
        switch access {
        case .open: return "Open: no key needed."
        case .inference:
            return "Open by default; when the server runs with `--inference-requires-key`, a `predictor` key (or higher) is mandatory."
        case .role(let role):
            return role == .admin ? "Needs an `admin` key." : "Needs a `\(role.rawValue)` key (or a higher role)."
        }
    }

    /// The errors a route can answer with: its own, plus those of its access and inputs.
    static func errors(_ route: DeclaredRoute) -> [ErrorStatus] {
        var errors = route.doc.errors
        errors.insert(.internalError)
        if !route.doc.parameters.isEmpty || route.doc.body != nil { errors.insert(.badRequest) }
        if route.doc.body != nil { errors.insert(.payloadTooLarge) }
        if route.access != .open {
            errors.insert(.unauthorized)
            errors.insert(.forbidden)
        }
        return errors.sorted()
    }

    static func operation(_ route: DeclaredRoute) -> JSONValue {
        let doc = route.doc
        var responses: [String: JSONValue] = [:]
        for r in doc.responses { responses[String(r.status)] = response(r) }
        for e in errors(route) { responses[String(e.rawValue)] = .object(["$ref": .string("#/components/responses/\(e.component)")]) }
        var o: [String: JSONValue] = [
            "operationId": .string(operationID(route)),
            "summary": .string(route.summary),
            "description": .string([doc.description, accessNote(route.access)].compactMap { $0 }.joined(separator: "\n\n")),
            "tags": .array([.string(tag(of: route.path))]),
            "responses": .object(responses),
            "security": security(route.access),
        ]
        if !doc.parameters.isEmpty { o["parameters"] = .array(doc.parameters.map(parameter)) }
        if let body = doc.body {
            o["requestBody"] = .object([
                "description": .string(body.description), "required": .bool(body.required), "content": content(body.content),
            ])
        }
        return .object(o)
    }

    static func parameter(_ p: APIParameter) -> JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(p.name), "in": .string(p.location.rawValue), "required": .bool(p.required),
            "description": .string(p.description), "schema": p.schema.value,
        ]
        if let example = p.example { o["example"] = example }
        return .object(o)
    }

    static func content(_ media: [MediaTypeDoc]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: media.map { m in
            var o: [String: JSONValue] = ["schema": m.schema.value]
            if let example = m.example { o["example"] = example }
            return (m.type, JSONValue.object(o))
        }))
    }

    static func response(_ r: ResponseDoc) -> JSONValue {
        var o: [String: JSONValue] = ["description": .string(r.description)]
        if !r.content.isEmpty { o["content"] = content(r.content) }
        if !r.headers.isEmpty {
            o["headers"] = .object(r.headers.mapValues { .object(["description": .string($0.description), "schema": $0.schema.value]) })
        }
        return .object(o)
    }

    static func errorResponse(_ e: ErrorStatus) -> JSONValue {
        .object([
            "description": .string(e.meaning),
            "content": .object(["application/json": .object(["schema": JSONSchema.ref("Error").value])]),
        ])
    }

    // MARK: Tags

    static let tags: [(name: String, description: String)] = [
        ("server", "Probes, server metadata, metrics and this document"),
        ("inference", "Open Inference Protocol v2: model metadata, readiness and inference"),
        ("repository", "The v2 model repository extension"),
        ("records", "Named-feature records in, labelled predictions out (KServe v1 style)"),
        ("registry", "Models, versions, aliases, gates, evaluation and comparison"),
        ("access", "API keys, the caller, and the audit log"),
        ("jobs", "Batch predictions over files: uploads, jobs, progress and outputs"),
    ]

    static func tag(of path: String) -> String {
        if path.hasPrefix("/v2/repository") { return "repository" }
        if path.hasPrefix("/v2/models") { return "inference" }
        if path.hasPrefix("/v1/") { return "records" }
        if path.hasPrefix("/api/v1/models") { return "registry" }
        if path.hasPrefix("/api/v1/jobs") { return "jobs" }
        if path.hasPrefix("/api/v1/") { return "access" }
        return "server"
    }
}
