import HTTPTypes
import Hummingbird
import KeelCore
import KeelRegistry

/// Finds the caller of a management request from its API key and checks its role:
/// 401 for a missing, unknown or revoked key, 403 for a role that may not do this.
struct Authenticator: Sendable {
    let keys: APIKeys

    /// The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`.
    static func secret(_ request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]).trimmingCharacters(in: .whitespaces) }
            return nil
        }
        if let name = HTTPField.Name("X-API-Key"), let key = request.headers[name] { return key }
        return nil
    }

    func require(_ role: Role, _ request: Request) async throws(KeelError) -> Principal {
        let principal = try await keys.authenticate(Self.secret(request))
        guard principal.role.includes(role) else {
            throw KeelError(.forbidden, "API key '\(principal.name)' has role '\(principal.role.rawValue)'; \(request.method.rawValue) \(request.uri.path) needs '\(role.rawValue)' or higher")
        }
        return principal
    }
}

/// Requires a `predictor` key on inference routes when the server is configured so.
struct InferenceAuthMiddleware: RouterMiddleware {
    typealias Context = KeelRequestContext
    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if request.method == .post, path.hasPrefix("/v2/models/") || path.hasPrefix("/v1/models/") {
            _ = try await authenticator.require(.predictor, request)
        }
        return try await next(request, context)
    }
}
