import Hummingbird
import KeelCore
import KeelRegistry
import Logging

/// Per-request state shared by Keel's middleware and routes.
public struct KeelRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request id (from `X-Request-ID` or generated), echoed on the response.
    public var requestID = ""
    /// The caller, set by the route's access check when the route needs a key.
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// The authenticated caller of a route that declares a role. A route that reaches this
    /// without one was declared with the wrong access: a bug, never the client's fault.
    public func caller() throws(KeelError) -> Principal {
        guard let principal else {
            throw KeelError(.internal, "route \(endpointPath ?? "?") needs a caller but declares no role")
        }
        return principal
    }
}
