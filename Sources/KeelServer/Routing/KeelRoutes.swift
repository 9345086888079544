import HTTPTypes
import Hummingbird
import KeelCore

/// One route as Keel declares it: the method and path pattern the router serves, who may call
/// it, a one-line summary and its documentation (for the API document).
public struct DeclaredRoute: Sendable, CustomStringConvertible {
    public var method: HTTPRequest.Method
    /// Hummingbird path pattern, e.g. `/api/v1/models/{model}`.
    public var path: String
    public var access: Access
    public var summary: String
    /// Parameters, body and responses, next to the route so the document cannot drift from it.
    public var doc: RouteDoc

    public init(method: HTTPRequest.Method, path: String, access: Access, summary: String, doc: RouteDoc) {
        self.method = method
        self.path = RouterPath(path).description
        self.access = access
        self.summary = summary
        self.doc = doc
    }

    public var description: String { "\(method.rawValue) \(path) [\(access)]" }
}

/// Registers Keel's routes. The only way a route is added: each names its access, and goes
/// into the route group of that access, which carries the check as middleware. The list of
/// what was declared is kept, so tests can compare it with what the router actually serves,
/// and the API document is built from it.
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

    /// Adds a declared route: into its access level's group, and into the table.
    public func add(_ route: DeclaredRoute, use handler: @escaping Handler) {
        let group: RouterGroup<KeelRequestContext>
        if let existing = groups[route.access] {
            group = existing
        } else {
            group = router.group().add(middleware: AccessMiddleware(access: route.access, guardian: guardian))
            groups[route.access] = group
        }
        group.on(RouterPath(route.path), method: route.method, use: handler)
        declared.append(route)
    }

    /// Adds a route with its access, summary and documentation.
    public func add(_ method: HTTPRequest.Method, _ path: String, _ access: Access, _ summary: String, doc: RouteDoc, use handler: @escaping Handler) {
        add(DeclaredRoute(method: method, path: path, access: access, summary: summary, doc: doc), use: handler)
    }

    public func get(_ path: String, _ access: Access, _ summary: String, doc: RouteDoc, use handler: @escaping Handler) {
        add(.get, path, access, summary, doc: doc, use: handler)
    }

    public func post(_ path: String, _ access: Access, _ summary: String, doc: RouteDoc, use handler: @escaping Handler) {
        add(.post, path, access, summary, doc: doc, use: handler)
    }

    public func put(_ path: String, _ access: Access, _ summary: String, doc: RouteDoc, use handler: @escaping Handler) {
        add(.put, path, access, summary, doc: doc, use: handler)
    }

    public func patch(_ path: String, _ access: Access, _ summary: String, doc: RouteDoc, use handler: @escaping Handler) {
        add(.patch, path, access, summary, doc: doc, use: handler)
    }

    public func delete(_ path: String, _ access: Access, _ summary: String, doc: RouteDoc, use handler: @escaping Handler) {
        add(.delete, path, access, summary, doc: doc, use: handler)
    }
}
