import HTTPTypes
import Hummingbird
import KeelCore

/// Answers a request whose path a route serves, but not with its method, with 405 and an
/// `Allow` header naming the methods that path takes (RFC 9110 §15.5.6), instead of the
/// router's 404. Added to the router last, so it sees only requests no route matched.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = KeelRequestContext
    /// Each declared path pattern with the methods served on it.
    let patterns: [(path: RouterPath, methods: [HTTPRequest.Method])]

    init(_ routes: [DeclaredRoute]) {
        var byPath: [String: [HTTPRequest.Method]] = [:]
        for route in routes { byPath[route.path, default: []].append(route.method) }
        patterns = byPath.keys.sorted().map { (RouterPath($0), byPath[$0] ?? []) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/")
        // The router takes the most specific pattern (literal, then `{p}suffix`, then `{p}`).
        let best = patterns.filter { Self.matches($0.path, segments) }.max { Self.specificity($0.path).lexicographicallyPrecedes(Self.specificity($1.path)) }
        guard let allowed = best?.methods, !allowed.contains(request.method) else { return try await next(request, context) }
        let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
        var response = JSONResponse.error(
            405, "method \(request.method.rawValue) is not allowed on \(ErrorMiddleware.shown(request.uri.path)); it takes \(allow)")
        response.headers[.allow] = allow
        return response
    }

    /// Per segment: 2 for a literal, 1 for a capture with a prefix or suffix, 0 for a bare capture.
    static func specificity(_ pattern: RouterPath) -> [Int] {
        pattern.map { element in
            let text = element.description
            guard text.contains("{") else { return 2 }
            return text.hasPrefix("{") && text.hasSuffix("}") ? 0 : 1
        }
    }

    static func matches(_ pattern: RouterPath, _ segments: [Substring]) -> Bool {
        guard pattern.count == segments.count else { return false }
        return zip(pattern, segments).allSatisfy { element, segment in element ~= segment }
    }
}
