import Foundation

/// A registered model: a name that versions are numbered under.
public struct RegisteredModelRecord: Sendable, Equatable, Codable {
    public var name: String
    public var description: String
    public var tags: [String: String]
    public var owner: String
    /// Highest version number handed out so far (numbers are never reused).
    public var lastVersion: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(name: String, description: String = "", tags: [String: String] = [:], owner: String = "", lastVersion: Int = 0, createdAt: Date = Date(), updatedAt: Date = Date()) {
        self.name = name
        self.description = description
        self.tags = tags
        self.owner = owner
        self.lastVersion = lastVersion
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Lifecycle status of a model version.
public enum VersionStatus: String, Sendable, Codable, CaseIterable {
    case development, staging, production, archived
}

/// One immutable model version: its artifact and everything known about it at registration.
/// Only `status` and measured `metrics` (from evaluations) change afterwards.
///
/// `metrics` are the ones Keel measured itself (evaluation results, latency, `size_mb`);
/// `reportedMetrics` are what the registering client claimed, kept and shown but not trusted.
public struct ModelVersionRecord: Sendable, Equatable, Codable {
    public var model: String
    public var version: Int
    public var artifactSHA256: String
    public var format: String
    public var sizeBytes: Int
    public var filename: String
    /// Input/output signature read from the model, as JSON.
    public var signature: String
    /// Measured by Keel: these satisfy promotion gates.
    public var metrics: [String: Double]
    /// Supplied at registration: a gate uses one only when it accepts reported values.
    public var reportedMetrics: [String: Double]
    public var params: [String: String]
    public var tags: [String: String]
    public var description: String
    public var trainingData: String?
    /// Serving configuration (feature schema, labels, risk bands) as config.yaml text.
    public var configYAML: String?
    public var status: VersionStatus
    public var createdBy: String
    public var createdAt: Date

    public init(
        model: String, version: Int = 0, artifactSHA256: String, format: String, sizeBytes: Int, filename: String = "",
        signature: String = "{}", metrics: [String: Double] = [:], reportedMetrics: [String: Double] = [:], params: [String: String] = [:],
        tags: [String: String] = [:], description: String = "", trainingData: String? = nil, configYAML: String? = nil,
        status: VersionStatus = .development, createdBy: String = "", createdAt: Date = Date()
    ) {
        self.model = model
        self.version = version
        self.artifactSHA256 = artifactSHA256
        self.format = format
        self.sizeBytes = sizeBytes
        self.filename = filename
        self.signature = signature
        self.metrics = metrics
        self.reportedMetrics = reportedMetrics
        self.params = params
        self.tags = tags
        self.description = description
        self.trainingData = trainingData
        self.configYAML = configYAML
        self.status = status
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

/// A named pointer (`production`, `staging`, …) from a model to one of its versions.
public struct AliasRecord: Sendable, Equatable, Codable {
    public var model: String
    public var alias: String
    public var version: Int
    public var updatedBy: String
    public var updatedAt: Date
}

/// One recorded alias move; `to` is nil when the alias was removed.
public struct AliasMoveRecord: Sendable, Equatable, Codable {
    public var id: Int64
    public var model: String
    public var alias: String
    public var from: Int?
    public var to: Int?
    public var movedBy: String
    public var forced: Bool
    public var movedAt: Date
}

/// A promotion gate: `metric op threshold`, e.g. `roc_auc >= 0.85`; with `acceptReported`
/// a reported metric may satisfy it when no measured one exists.
public struct GateRecord: Sendable, Equatable, Codable {
    public var model: String
    public var metric: String
    public var op: String
    public var threshold: Double
    public var acceptReported: Bool
    public var createdBy: String
    public var createdAt: Date

    public init(model: String, metric: String, op: String, threshold: Double, acceptReported: Bool = false, createdBy: String = "", createdAt: Date = Date()) {
        self.model = model
        self.metric = metric
        self.op = op
        self.threshold = threshold
        self.acceptReported = acceptReported
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

/// An API key; only the SHA-256 of the secret is stored.
public struct APIKeyRecord: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var role: String
    /// The secret's hash: `hmac-sha256:<hex>` keyed with the server secret, or (keys created
    /// before keyed hashes) a bare SHA-256 hex, rehashed the first time the key is used.
    public var keyHash: String
    public var createdBy: String
    public var createdAt: Date
    public var revokedAt: Date?
    /// After this the key is refused (nil: never expires).
    public var expiresAt: Date?
    /// The models the key may touch (nil: every model).
    public var models: [String]?

    public init(id: String, name: String, role: String, keyHash: String, createdBy: String, createdAt: Date = Date(), revokedAt: Date? = nil,
                expiresAt: Date? = nil, models: [String]? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.keyHash = keyHash
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.expiresAt = expiresAt
        self.models = models
    }
}

/// One audited mutation: who did what to which target, when, and the value before and after.
public struct AuditEventRecord: Sendable, Equatable, Codable {
    public var id: Int64
    public var actor: String
    public var action: String
    public var target: String
    public var before: String?
    public var after: String?
    public var at: Date
    /// The client address of the request that made the change (nil for the server's own work).
    public var address: String?
    /// The request id of that request, as in the access log and the `X-Request-ID` header.
    public var requestID: String?

    public init(id: Int64 = 0, actor: String, action: String, target: String, before: String? = nil, after: String? = nil, at: Date = Date(),
                address: String? = nil, requestID: String? = nil) {
        self.id = id
        self.actor = actor
        self.action = action
        self.target = target
        self.before = before
        self.after = after
        self.at = at
        self.address = address
        self.requestID = requestID
    }
}
