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
    /// JWT bearer tokens, beside API keys (nil: tokens are not accepted).
    let tokens: TokenVerifier?
    public let inferenceRequiresKey: Bool
    let metrics: ServingMetrics
    let failureLog: RateLimitedLog
    /// Token buckets of inference and of management routes (nil: unlimited); open routes
    /// (probes, metrics, the API document) are never limited.
    let inferenceLimiter: RateLimiter?
    let managementLimiter: RateLimiter?

    public init(
        keys: APIKeys?, inferenceRequiresKey: Bool, metrics: ServingMetrics, tokens: TokenVerifier? = nil,
        inferenceRateLimit: RateLimit? = nil, managementRateLimit: RateLimit? = nil, logger: Logger = Logger(label: "keel.auth")
    ) {
        self.keys = keys
        self.tokens = tokens
        self.inferenceRequiresKey = inferenceRequiresKey
        self.metrics = metrics
        inferenceLimiter = inferenceRateLimit.map { RateLimiter($0) }
        managementLimiter = managementRateLimit.map { RateLimiter($0) }
        failureLog = RateLimitedLog(logger: logger, linesPerWindow: 20, window: .seconds(10))
    }

    /// The key or token from `Authorization: Bearer <credential>` or `X-API-Key: <key>`.
    static func secret(_ request: Request) -> String? {
        secret(authorization: request.headers[.authorization], apiKey: HTTPField.Name("X-API-Key").flatMap { request.headers[$0] })
    }

    /// The credential of an `Authorization` value (only `Bearer` is taken) or else of an API-key value.
    static func secret(authorization: String?, apiKey: String?) -> String? {
        if let header = authorization {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]).trimmingCharacters(in: .whitespaces) }
            return nil
        }
        return apiKey
    }

    /// What the guard needs of a call, whichever protocol carried it.
    struct Call: Sendable {
        /// `GET`, `POST`… or `gRPC`.
        var method: String
        /// The route's template, or the gRPC method's path.
        var route: String
        /// The model the call names (nil: none).
        var model: String?
        var requestID: String
    }

    /// The caller of an HTTP request that needs `role`, or the refusal as a `KeelError`.
    func authorize(_ role: Role, _ request: Request, _ context: KeelRequestContext) async throws(KeelError) -> Principal {
        try await authorize(role, secret: Self.secret(request), call: Call(
            method: request.method.rawValue, route: context.endpointPath ?? request.uri.path, model: context.parameters.get("model"),
            requestID: context.requestID))
    }

    /// The caller of a call that needs `role`, from the key or token it carries.
    func authorize(_ role: Role, secret: String?, call: Call) async throws(KeelError) -> Principal {
        let principal: Principal
        if let tokens, let secret, TokenVerifier.looksLikeToken(secret) {
            do {
                principal = try await tokens.verify(secret)
            } catch {
                refuse("invalid_token", call)
                throw error
            }
        } else {
            guard let keys else {
                refuse("no_keys", call)
                throw KeelError(.unauthorized, "this server has no API keys configured; \(role.rawValue) routes are closed")
            }
            do {
                principal = try await keys.authenticate(secret)
            } catch {
                if error.code == .unauthorized { refuse(secret == nil ? "missing" : "invalid", call) }
                throw error
            }
        }
        guard principal.role.includes(role) else {
            refuse("forbidden", call, key: principal.keyID)
            throw KeelError(.forbidden, "\(principal.keyID.hasPrefix("jwt:") ? "token of" : "API key") '\(principal.name)' has role '\(principal.role.rawValue)'; \(call.method) \(call.route) needs '\(role.rawValue)' or higher")
        }
        try Self.checkModels(principal, call)
        return principal
    }

    /// A key limited to some models may call only routes that name one of them in their path
    /// (and `whoami`): everything else — lists, jobs, keys — could reach other models.
    static func checkModels(_ principal: Principal, _ call: Call) throws(KeelError) {
        guard let models = principal.models else { return }
        if call.route == AccessRoutes.whoami { return }
        let allowed = models.sorted().joined(separator: ", ")
        guard let model = call.model else {
            throw KeelError(.forbidden, "API key '\(principal.name)' is limited to the models \(allowed); \(call.method) \(call.route) is not about one model")
        }
        guard models.contains(model) else {
            throw KeelError(.forbidden, "API key '\(principal.name)' is limited to the models \(allowed), not '\(model.prefix(128))'")
        }
    }

    private func refuse(_ reason: String, _ call: Call, key: String? = nil) {
        metrics.authFailure(reason: reason)
        var metadata: Logger.Metadata = [
            "request_id": .string(call.requestID), "reason": .string(reason), "method": .string(call.method), "route": .string(call.route),
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
        let limiter: RateLimiter?
        let limitClass: String
        switch access {
        case .open: limiter = nil; limitClass = ""
        case .inference: limiter = guardian.inferenceLimiter; limitClass = "inference"
        case .role: limiter = guardian.managementLimiter; limitClass = "management"
        }
        guard let role = access.requiredRole(inferenceRequiresKey: guardian.inferenceRequiresKey) else {
            guard let limiter else { return try await next(request, context) }
            // Anonymous traffic: one bucket per client address.
            let decision = limiter.take("a:" + context.clientAddress)
            guard decision.allowed else { return guardian.limited(limitClass, decision, limiter.limit, context) }
            return RateLimitHeaders.add(decision, limiter.limit, to: try await next(request, context))
        }
        var context = context
        do {
            context.principal = try await guardian.authorize(role, request, context)
        } catch {
            // A refused key is charged to its address, so guessing keys is limited too.
            if let limiter {
                let decision = limiter.take("a:" + context.clientAddress)
                if !decision.allowed { return guardian.limited(limitClass, decision, limiter.limit, context) }
            }
            throw error
        }
        guard let limiter, let principal = context.principal else { return try await next(request, context) }
        let decision = limiter.take("k:" + principal.keyID)
        guard decision.allowed else { return guardian.limited(limitClass, decision, limiter.limit, context) }
        return RateLimitHeaders.add(decision, limiter.limit, to: try await next(request, context))
    }
}

extension AccessGuard {
    /// The 429 answer: counted, with `Retry-After` and the `RateLimit-*` headers.
    func limited(_ limitClass: String, _ decision: RateLimiter.Decision, _ limit: RateLimit, _ context: KeelRequestContext) -> Response {
        metrics.rateLimited(class: limitClass)
        var response = JSONResponse.error(
            429, "too many \(limitClass) requests: the limit is \(RateLimitHeaders.number(limit.rate)) a second (bursts of \(limit.burst)); retry after \(decision.retryAfterSeconds) s")
        response.headers[.retryAfter] = String(decision.retryAfterSeconds)
        return RateLimitHeaders.add(decision, limit, to: response)
    }
}

/// The rate-limit headers of IETF's draft (`RateLimit-Limit`, `-Remaining`, `-Reset`).
enum RateLimitHeaders {
    static let limit = HTTPField.Name("RateLimit-Limit")!
    static let remaining = HTTPField.Name("RateLimit-Remaining")!
    static let reset = HTTPField.Name("RateLimit-Reset")!

    static func add(_ decision: RateLimiter.Decision, _ rate: RateLimit, to response: Response) -> Response {
        var response = response
        response.headers[limit] = String(rate.burst)
        response.headers[remaining] = String(decision.remaining)
        response.headers[reset] = String(decision.resetSeconds)
        return response
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
