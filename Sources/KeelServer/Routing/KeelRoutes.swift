import HTTPTypes
import Hummingbird
import KeelCore

/// One route as Keel declares it: the method and path pattern the router serves, who may call
/// it, and a one-line summary (for the API document).
public struct DeclaredRoute: Sendable, Hashable, CustomStringConvertible {
    public var method: HTTPRequest.Method
    /// Hummingbird path pattern, e.g. `/api/v1/models/{model}`.
    public var path: String
    public var access: Access
    public var summary: String

    public var description: String { "\(method.rawValue) \(path) [\(access)]" }
}

/// Registers Keel's routes. The only way a route is added: each names its access, and goes
/// into the route group of that access, which carries the check as middleware. The list of
/// what was declared is kept, so tests can compare it with what the router actually serves.
public final class KeelRoutes {
    public typealias Handler = @Sendable (Request, KeelRequestContext) async throws -> Response

    let router: Router<KeelRequestContext>
    private var groups: [Access: RouterGroup<KeelRequestContext>] = [:]
    private let guardian: AccessGuard
    public private(set) var declared: [DeclaredRoute] = []

    init(router: Router<KeelRequestContext>, guardian: AccessGuard) {
        self.router = router
        self.guardian = guardian
    }

    /// Adds a route with its access and summary.
    public func add(_ method: HTTPRequest.Method, _ path: String, _ access: Access, _ summary: String, use handler: @escaping Handler) {
        let group: RouterGroup<KeelRequestContext>
        if let existing = groups[access] {
            group = existing
        } else {
            group = router.group().add(middleware: AccessMiddleware(access: access, guardian: guardian))
            groups[access] = group
        }
        group.on(RouterPath(path), method: method, use: handler)
        declared.append(DeclaredRoute(method: method, path: RouterPath(path).description, access: access, summary: summary))
    }

    public func get(_ path: String, _ access: Access, _ summary: String, use handler: @escaping Handler) {
        add(.get, path, access, summary, use: handler)
    }

    public func post(_ path: String, _ access: Access, _ summary: String, use handler: @escaping Handler) {
        add(.post, path, access, summary, use: handler)
    }

    public func put(_ path: String, _ access: Access, _ summary: String, use handler: @escaping Handler) {
        add(.put, path, access, summary, use: handler)
    }

    public func patch(_ path: String, _ access: Access, _ summary: String, use handler: @escaping Handler) {
        add(.patch, path, access, summary, use: handler)
    }

    public func delete(_ path: String, _ access: Access, _ summary: String, use handler: @escaping Handler) {
        add(.delete, path, access, summary, use: handler)
    }
}
