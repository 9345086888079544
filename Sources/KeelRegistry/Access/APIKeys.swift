import Crypto
import Foundation
import KeelCore
import KeelStore

/// A newly created key: the record that is stored, and the secret shown once.
public struct IssuedKey: Sendable {
    public var record: APIKeyRecord
    public var secret: String
}

/// What a new key may do besides its role: when it stops working, and which models it may touch.
public struct KeyLimits: Sendable, Equatable {
    public var expiresAt: Date?
    public var models: [String]?

    public init(expiresAt: Date? = nil, models: [String]? = nil) {
        self.expiresAt = expiresAt
        self.models = models
    }

    /// Longest lifetime a key may be given.
    public static let maxLifetime: TimeInterval = 10 * 366 * 86_400
    /// Most models one key may be limited to.
    public static let maxModels = 100
}

/// Issues, checks and revokes API keys. Secrets look like `keel_<id>_<40 hex digits>`; only
/// their HMAC-SHA256 under the server secret is stored, so the key table alone gives nothing
/// to test guesses against. Keys hashed with bare SHA-256 by older versions keep working and
/// are rehashed the first time they are used.
public struct APIKeys: Sendable {
    public let store: any Store
    public let secret: ServerSecret

    public init(store: any Store, secret: ServerSecret) {
        self.store = store
        self.secret = secret
    }

    static func randomHex(_ bytes: Int) -> String { ServerSecret.randomHex(bytes) }

    /// The hash older versions stored: bare SHA-256 hex.
    public static func legacyHash(_ secret: String) -> String {
        Hex.encode(SHA256.hash(data: Array(secret.utf8)))
    }

    /// Creates a key; the secret is in the result and nowhere else.
    public func create(name: String, role: Role, limits: KeyLimits = KeyLimits(), by actor: Principal, secret given: String? = nil,
                       now: Date = Date()) async throws(KeelError) -> IssuedKey {
        let issued = try issue(name: name, role: role, limits: limits, by: actor, secret: given, now: now)
        try await store.write { tx throws(KeelError) in try await Self.store(issued, in: tx, by: actor) }
        return issued
    }

    func issue(name: String, role: Role, limits: KeyLimits, by actor: Principal, secret given: String?, now: Date = Date()) throws(KeelError) -> IssuedKey {
        guard name.count <= 128 else { throw KeelError.invalidInput("an API key name must be at most 128 characters long") }
        if let expiry = limits.expiresAt {
            guard expiry > now, expiry.timeIntervalSince(now) <= KeyLimits.maxLifetime else {
                throw KeelError.invalidInput("an API key must expire in the future and within 10 years")
            }
        }
        var models: [String]?
        if let wanted = limits.models {
            guard !wanted.isEmpty, wanted.count <= KeyLimits.maxModels else {
                throw KeelError.invalidInput("an API key may be limited to 1 to \(KeyLimits.maxModels) models")
            }
            for m in wanted { try ResourceName.validate(m, what: "model name") }
            models = Array(Set(wanted)).sorted()
        }
        let id = "key_" + Self.randomHex(4)
        let secretText = given ?? "keel_\(id.dropFirst(4))_\(Self.randomHex(20))"
        guard secretText.count >= 16, secretText.utf8.count <= 4096 else {
            throw KeelError.invalidInput("an API key must be 16 to 4096 characters long")
        }
        let record = APIKeyRecord(id: id, name: name, role: role.rawValue, keyHash: secret.hash(secretText), createdBy: actor.actor,
                                  createdAt: now, expiresAt: limits.expiresAt, models: models)
        return IssuedKey(record: record, secret: secretText)
    }

    static func store(_ issued: IssuedKey, in tx: any StoreTransaction, by actor: Principal) async throws(KeelError) {
        try await tx.createKey(issued.record)
        var after = "\(issued.record.name) role=\(issued.record.role)"
        if let e = issued.record.expiresAt { after += " expires=\(ISO8601DateFormatter().string(from: e))" }
        if let m = issued.record.models { after += " models=\(m.joined(separator: ","))" }
        try await tx.appendAudit(AuditEventRecord(by: actor, action: "key.create", target: "keys/\(issued.record.id)", after: after))
    }

    /// The caller a secret belongs to, or 401 for a missing, unknown, revoked or expired key.
    public func authenticate(_ given: String?, now: Date = Date()) async throws(KeelError) -> Principal {
        guard let given, !given.isEmpty else {
            throw KeelError(.unauthorized, "missing API key: send 'Authorization: Bearer <key>'")
        }
        guard given.utf8.count <= 4096 else { throw KeelError(.unauthorized, "invalid or revoked API key") }
        let hashed = secret.hash(given)
        var found = try await store.key(hash: hashed)
        if found == nil, let legacy = try await store.key(hash: Self.legacyHash(given)) {
            try await store.write { tx throws(KeelError) in try await tx.rehashKey(id: legacy.id, from: legacy.keyHash, to: hashed) }
            found = legacy
        }
        guard let record = found, record.revokedAt == nil, let role = Role(rawValue: record.role)
        else { throw KeelError(.unauthorized, "invalid or revoked API key") }
        if let expiry = record.expiresAt, expiry <= now {
            throw KeelError(.unauthorized, "API key '\(record.id)' expired at \(ISO8601DateFormatter().string(from: expiry))")
        }
        return Principal(keyID: record.id, name: record.name, role: role, models: record.models.map(Set.init))
    }

    public func revoke(id: String, by actor: Principal) async throws(KeelError) {
        try await store.revokeKey(id: id, audit: AuditEventRecord(by: actor, action: "key.revoke", target: "keys/\(id)"))
    }

    public func list() async throws(KeelError) -> [APIKeyRecord] {
        try await store.keys()
    }

    /// First start: when the store has no key, creates an admin key — from `KEEL_ADMIN_KEY`
    /// when given (returns nil), else a fresh one whose secret is returned to print once.
    /// The check and the creation are one transaction with the key table locked, so replicas
    /// starting together create one admin key between them.
    public func bootstrapAdmin(environmentKey: String?) async throws(KeelError) -> String? {
        let bootstrap = Principal(keyID: "bootstrap", name: "keel", role: .admin)
        let issued = try issue(name: "admin", role: .admin, limits: KeyLimits(), by: bootstrap, secret: environmentKey)
        let created = try await store.write { tx throws(KeelError) in
            try await tx.lockKeys()
            guard try await tx.keys().isEmpty else { return false }
            try await Self.store(issued, in: tx, by: bootstrap)
            return true
        }
        return created && environmentKey == nil ? issued.secret : nil
    }
}
