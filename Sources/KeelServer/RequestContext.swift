import Hummingbird
import NIOCore
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
    /// The connection, for its peer address (read only when needed: it costs a formatting).
    let channel: any Channel
    /// The address trusted proxies say they forwarded for (set by the edge middleware).
    var forwardedFor: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The connection's peer address; nil when there is none (in-process tests).
    public var peerAddress: String? { channel.remoteAddress?.ipAddress }

    /// The client's address: what a trusted proxy forwarded for, else the peer's.
    public var clientAddress: String { forwardedFor ?? peerAddress ?? "unknown" }

    /// The authenticated caller of a route that declares a role. A route that reaches this
    /// without one was declared with the wrong access: a bug, never the client's fault.
    /// The caller carries the client address and request id, so every audit event it
    /// writes says where the change came from.
    public func caller() throws(KeelError) -> Principal {
        guard var principal else {
            throw KeelError(.internal, "route \(endpointPath ?? "?") needs a caller but declares no role")
        }
        principal.address = clientAddress
        principal.requestID = requestID
        return principal
    }
}
