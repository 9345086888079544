import Hummingbird
import Logging

/// Per-request state shared by Keel's middleware and routes.
public struct KeelRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request id (from `X-Request-ID` or generated), echoed on the response.
    public var requestID = ""

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
