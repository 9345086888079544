import HTTPTypes
import Hummingbird
import KeelCore

/// What every response carries and every request passes first: the Host allow-list (against
/// DNS rebinding), CORS for the configured origins (off when none), and the browser-facing
/// security headers.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = KeelRequestContext
    let origins: Set<String>
    let anyOrigin: Bool
    let hosts: [String]
    let proxies: TrustedProxies
    /// Served over TLS: browsers are told to keep to HTTPS.
    let hsts: Bool

    static let origin = HTTPField.Name("Origin")!
    static let requestMethod = HTTPField.Name("Access-Control-Request-Method")!
    static let allowOrigin = HTTPField.Name("Access-Control-Allow-Origin")!
    static let allowMethods = HTTPField.Name("Access-Control-Allow-Methods")!
    static let allowHeaders = HTTPField.Name("Access-Control-Allow-Headers")!
    static let exposeHeaders = HTTPField.Name("Access-Control-Expose-Headers")!
    static let maxAge = HTTPField.Name("Access-Control-Max-Age")!
    static let vary = HTTPField.Name("Vary")!
    static let nosniff = HTTPField.Name("X-Content-Type-Options")!
    static let referrer = HTTPField.Name("Referrer-Policy")!
    static let frame = HTTPField.Name("X-Frame-Options")!
    static let methods = "GET, POST, PUT, PATCH, DELETE"
    static let requestHeaders = "Authorization, Content-Type, Content-Encoding, X-API-Key, X-Request-ID, Inference-Header-Content-Length"
    static let responseHeaders = "X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Inference-Header-Content-Length"
    /// Probes answer whatever Host the kubelet or load balancer uses.
    static let probes: Set<String> = ["/health", "/ready", "/v2/health/live", "/v2/health/ready"]

    static let strictTransport = HTTPField.Name("Strict-Transport-Security")!
    /// Added to every response; built once, and appended rather than set (no handler sets
    /// them, and setting scans and rebuilds the field list).
    static let securityFields = [
        HTTPField(name: nosniff, value: "nosniff"), HTTPField(name: referrer, value: "no-referrer"), HTTPField(name: frame, value: "DENY"),
    ]
    static let hstsField = HTTPField(name: strictTransport, value: "max-age=31536000")
    /// HTTP/1 `Host` becomes the request's authority; the header is read when a test sets it directly.
    static let hostHeader = HTTPField.Name("Host")!

    init(origins: [String], hosts: [String], proxies: TrustedProxies = TrustedProxies([]), hsts: Bool = false) {
        self.proxies = proxies
        self.hsts = hsts
        anyOrigin = origins.contains("*")
        self.origins = Set(origins.filter { $0 != "*" }.map { $0.lowercased() })
        self.hosts = hosts.map { $0.lowercased() }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if !proxies.ranges.isEmpty, let peer = context.peerAddress {
            context.forwardedFor = proxies.forwarded(peer: peer, headers: request.headers)
        }
        if !hosts.isEmpty, !Self.probes.contains(request.uri.path), !hostAllowed(request) {
            return secured(JSONResponse.error(421, "host '\(ErrorMiddleware.shown(Self.host(request) ?? ""))' is not served here"), request)
        }
        let origin = (origins.isEmpty && !anyOrigin) ? nil : request.headers[Self.origin]
        if let origin, request.method == .options, let asked = request.headers[Self.requestMethod] {
            guard originAllowed(origin) else {
                return secured(JSONResponse.error(403, "origin '\(ErrorMiddleware.shown(origin))' is not allowed"), request)
            }
            guard Self.methods.contains(asked.uppercased()), !asked.isEmpty, asked.utf8.count <= 10 else {
                return secured(JSONResponse.error(403, "method '\(ErrorMiddleware.shown(asked))' is not allowed across origins"), request)
            }
            var response = Response(status: .noContent)
            response.headers[Self.allowOrigin] = anyOrigin ? "*" : origin
            response.headers[Self.allowMethods] = Self.methods
            response.headers[Self.allowHeaders] = Self.requestHeaders
            response.headers[Self.maxAge] = "600"
            response.headers[Self.vary] = "Origin"
            return secured(response, request)
        }
        var response = try await next(request, context)
        if let origin, originAllowed(origin) {
            response.headers[Self.allowOrigin] = anyOrigin ? "*" : origin
            response.headers[Self.exposeHeaders] = Self.responseHeaders
            response.headers[values: Self.vary].append("Origin")
        }
        return secured(response, request)
    }

    func originAllowed(_ origin: String) -> Bool {
        anyOrigin || origins.contains(origin.lowercased())
    }

    /// The Host (or HTTP/2 authority) without its port.
    static func host(_ request: Request) -> String? {
        guard let authority = request.headers[Self.hostHeader] ?? request.head.authority, authority.utf8.count <= 300 else { return nil }
        if authority.hasPrefix("[") {
            return authority.firstIndex(of: "]").map { String(authority[...$0]) }
        }
        return String(authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0])
    }

    func hostAllowed(_ request: Request) -> Bool {
        guard let host = Self.host(request)?.lowercased(), !host.isEmpty else { return false }
        return hosts.contains { allowed in
            allowed.hasPrefix("*.") ? host.hasSuffix(allowed.dropFirst()) : host == allowed
        }
    }

    /// The headers every response carries; management responses are never cached.
    func secured(_ response: Response, _ request: Request) -> Response {
        var response = response
        response.headers.append(contentsOf: Self.securityFields)
        if hsts { response.headers.append(Self.hstsField) }
        if request.uri.path.hasPrefix("/api/"), response.headers[.cacheControl] == nil {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}
