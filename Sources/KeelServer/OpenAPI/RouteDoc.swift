import KeelCore

/// What a route takes and returns, declared next to the route (see `KeelRoutes.add`) and
/// turned into its operation in the API document. Errors common to every route of an access
/// level (401/403 for keys, 400 for bad input, 413 for bodies, 500) are added by
/// `OpenAPIDocument`; `errors` names the ones particular to this route.
public struct RouteDoc: Sendable {
    public var description: String?
    public var parameters: [APIParameter]
    public var body: RequestBodyDoc?
    /// Successful answers (and any non-error status the route sends).
    public var responses: [ResponseDoc]
    public var errors: Set<ErrorStatus>

    public init(
        _ description: String? = nil, parameters: [APIParameter] = [], body: RequestBodyDoc? = nil, responses: [ResponseDoc],
        errors: Set<ErrorStatus> = []
    ) {
        self.description = description
        self.parameters = parameters
        self.body = body
        self.responses = responses
        self.errors = errors
    }

    /// A route answering 200 with JSON of this schema.
    public static func json(
        _ schema: JSONSchema, _ description: String? = nil, parameters: [APIParameter] = [], body: RequestBodyDoc? = nil,
        status: Int = 200, errors: Set<ErrorStatus> = []
    ) -> RouteDoc {
        RouteDoc(description, parameters: parameters, body: body, responses: [.json(schema, status: status)], errors: errors)
    }
}

/// Where a parameter travels.
public enum ParameterLocation: String, Sendable {
    case path, query, header
}

/// One documented path, query or header parameter.
public struct APIParameter: Sendable, Equatable {
    public var name: String
    public var location: ParameterLocation
    public var required: Bool
    public var schema: JSONSchema
    public var description: String
    public var example: JSONValue?

    public init(_ name: String, in location: ParameterLocation, required: Bool? = nil, _ schema: JSONSchema, _ description: String, example: JSONValue? = nil) {
        self.name = name
        self.location = location
        self.required = required ?? (location == .path)
        self.schema = schema
        self.description = description
        self.example = example
    }
}

/// A body in one media type, with an example that works against the bundled churn model.
public struct MediaTypeDoc: Sendable, Equatable {
    public var type: String
    public var schema: JSONSchema
    public var example: JSONValue?

    public init(_ type: String, _ schema: JSONSchema, example: JSONValue? = nil) {
        self.type = type
        self.schema = schema
        self.example = example
    }
}

/// A request body, possibly in several media types.
public struct RequestBodyDoc: Sendable {
    public var description: String
    public var required: Bool
    public var content: [MediaTypeDoc]

    public init(_ description: String, required: Bool = true, content: [MediaTypeDoc]) {
        self.description = description
        self.required = required
        self.content = content
    }

    /// A JSON body of this schema.
    public static func json(_ schema: JSONSchema, _ description: String, required: Bool = true, example: JSONValue? = nil) -> RequestBodyDoc {
        RequestBodyDoc(description, required: required, content: [MediaTypeDoc("application/json", schema, example: example)])
    }
}

/// One documented response: its status, body media types and headers.
public struct ResponseDoc: Sendable {
    public var status: Int
    public var description: String
    public var content: [MediaTypeDoc]
    public var headers: [String: APIParameter]

    public init(status: Int, _ description: String, content: [MediaTypeDoc], headers: [String: APIParameter] = [:]) {
        self.status = status
        self.description = description
        self.content = content
        self.headers = headers
    }

    public static func json(_ schema: JSONSchema, status: Int = 200, _ description: String? = nil) -> ResponseDoc {
        ResponseDoc(status: status, description ?? (status == 201 ? "Created" : "OK"), content: [MediaTypeDoc("application/json", schema)])
    }
}

/// An error status a route may answer with, always with the `{"error": "…"}` body.
public enum ErrorStatus: Int, Sendable, Hashable, CaseIterable, Comparable {
    case badRequest = 400
    case unauthorized = 401
    case forbidden = 403
    case notFound = 404
    case conflict = 409
    case payloadTooLarge = 413
    case internalError = 500
    case unavailable = 503
    case timeout = 504

    public static func < (a: ErrorStatus, b: ErrorStatus) -> Bool { a.rawValue < b.rawValue }

    /// The component response of this status in the document.
    var component: String {
        switch self {
        case .badRequest: return "BadRequest"
        case .unauthorized: return "Unauthorized"
        case .forbidden: return "Forbidden"
        case .notFound: return "NotFound"
        case .conflict: return "Conflict"
        case .payloadTooLarge: return "PayloadTooLarge"
        case .internalError: return "InternalError"
        case .unavailable: return "Unavailable"
        case .timeout: return "Timeout"
        }
    }

    var meaning: String {
        switch self {
        case .badRequest: return "Bad input: a malformed path, parameter or body, or one the model or registry cannot take (the message names what and why)"
        case .unauthorized: return "Missing, unknown or revoked API key"
        case .forbidden: return "The key's role may not do this"
        case .notFound: return "No such model, version, alias, gate or key"
        case .conflict: return "Refused by the registry's rules: failing gates, an alias still pointing here, or a model served from the registry"
        case .payloadTooLarge: return "The body (or the number of records) exceeds the server's limit (--max-body-bytes, --max-instances)"
        case .internalError: return "Internal error; the body names only the request id, the server log has the details"
        case .unavailable: return "The model is known but not ready (loading, or its versions are being replaced), or the server is still starting"
        case .timeout: return "The request deadline (--request-timeout-ms) passed before the answer was ready"
        }
    }
}
