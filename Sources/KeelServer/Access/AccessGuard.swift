import HTTPTypes
import Hummingbird
import KeelCore
import KeelRegistry
import KeelServing
import Logging

/// Decides whether a request may call a route of a given access: finds the caller from its
/// API key, checks its role, and records every refusal (a metric, and a rate-limited log line
/// carrying the request id). 401 for a missing, unknown or revoked key, 403 for a role that
/// may not do this.
public final class AccessGuard: Sendable {
    let keys: APIKeys?
    public let inferenceRequiresKey: Bool
    let metrics: ServingMetrics
    let failureLog: RateLimitedLog

    public init(keys: APIKeys?, inferenceRequiresKey: Bool, metrics: ServingMetrics, logger: Logger = Logger(label: "keel.auth")) {
        self.keys = keys
        self.inferenceRequiresKey = inferenceRequiresKey
        self.metrics = metrics
        failureLog = RateLimitedLog(logger: logger, linesPerWindow: 20, window: .seconds(10))
    }

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

    /// The caller of a request that needs `role`, or the refusal as a `KeelError`.
    func authorize(_ role: Role, _ request: Request, _ context: KeelRequestContext) async throws(KeelError) -> Principal {
        guard let keys else {
            refuse("no_keys", request, context)
            throw KeelError(.unauthorized, "this server has no API keys configured; \(role.rawValue) routes are closed")
        }
        let secret = Self.secret(request)
        let principal: Principal
        do {
            principal = try await keys.authenticate(secret)
        } catch {
            if error.code == .unauthorized { refuse(secret == nil ? "missing" : "invalid", request, context) }
            throw error
        }
        guard principal.role.includes(role) else {
            refuse("forbidden", request, context, key: principal.keyID)
            throw KeelError(.forbidden, "API key '\(principal.name)' has role '\(principal.role.rawValue)'; \(request.method.rawValue) \(context.endpointPath ?? request.uri.path) needs '\(role.rawValue)' or higher")
        }
        return principal
    }

    private func refuse(_ reason: String, _ request: Request, _ context: KeelRequestContext, key: String? = nil) {
        metrics.authFailure(reason: reason)
        var metadata: Logger.Metadata = [
            "request_id": .string(context.requestID), "reason": .string(reason),
            "method": .string(request.method.rawValue), "route": .string(context.endpointPath ?? "unmatched"),
        ]
        if let key { metadata["key_id"] = .string(key) }
        failureLog.warning("authentication refused", metadata: metadata)
    }
}

/// Checks the route's declared access before its handler runs; carried by the route group of
/// that access level.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = KeelRequestContext
    let access: Access
    let guardian: AccessGuard

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let role = access.requiredRole(inferenceRequiresKey: guardian.inferenceRequiresKey) else {
            return try await next(request, context)
        }
        var context = context
        context.principal = try await guardian.authorize(role, request, context)
        return try await next(request, context)
    }
}
