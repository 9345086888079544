/// What an API key may do. Each role includes the ones below it:
/// admin ⊃ deployer ⊃ predictor ⊃ viewer.
public enum Role: String, Sendable, CaseIterable, Codable {
    /// Everything, including API keys and the audit log.
    case admin
    /// Registers versions, moves aliases, promotes, sets gates, evaluates, archives, deletes.
    case deployer
    /// Calls inference (when inference requires a key) and reads the registry.
    case predictor
    /// Reads the registry.
    case viewer

    var rank: Int {
        switch self {
        case .viewer: return 0
        case .predictor: return 1
        case .deployer: return 2
        case .admin: return 3
        }
    }

    /// True when this role may do what `needed` may.
    public func includes(_ needed: Role) -> Bool { rank >= needed.rank }
}

/// The caller behind a request: the key's id and name (for the audit log) and its role.
public struct Principal: Sendable, Equatable {
    public var keyID: String
    public var name: String
    public var role: Role
    /// Where the request came from (the client address after trusted proxies), for the audit.
    public var address: String?
    /// The request's id, for the audit.
    public var requestID: String?
    /// The models this caller may touch (nil: all of them).
    public var models: Set<String>?

    public init(keyID: String, name: String, role: Role, address: String? = nil, requestID: String? = nil, models: Set<String>? = nil) {
        self.keyID = keyID
        self.name = name
        self.role = role
        self.models = models
        self.address = address
        self.requestID = requestID
    }

    /// How the audit log names the caller.
    public var actor: String { "\(name) (\(keyID))" }

    /// The in-process caller used by tests and embedders.
    public static let system = Principal(keyID: "system", name: "system", role: .admin)
}
