import KeelRegistry

/// Who may call a route. Every route declares one when it is registered (see `KeelRoutes`),
/// and the route's group carries the check, so no handler can forget it and no spelling of
/// the path reaches a handler without it.
public enum Access: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Anyone: probes, Prometheus metrics, server metadata, the API document.
    case open
    /// Inference, model metadata and ground-truth feedback: open by default, a `predictor`
    /// key when the server runs with `--inference-requires-key`.
    case inference
    /// A key whose role includes this one (reads `viewer`, changes `deployer`, keys, audit
    /// and data erasure `admin`).
    case role(Role)

    public static let viewer = Access.role(.viewer)
    public static let deployer = Access.role(.deployer)
    public static let admin = Access.role(.admin)

    /// The role a request must carry, or nil when the route is open.
    public func requiredRole(inferenceRequiresKey: Bool) -> Role? {
        switch self {
        case .open: return nil
        case .inference: return inferenceRequiresKey ? .predictor : nil
        case .role(let role): return role
        }
    }

    public var description: String {
        switch self {
        case .open: return "open"
        case .inference: return "inference"
        case .role(let role): return role.rawValue
        }
    }
}
