import Crypto
import Foundation
import KeelCore
import KeelStore

/// A newly created key: the record that is stored, and the secret shown once.
public struct IssuedKey: Sendable {
    public var record: APIKeyRecord
    public var secret: String
}

/// Issues, checks and revokes API keys. Secrets look like `keel_<id>_<40 hex digits>`;
/// only their SHA-256 is stored.
public struct APIKeys: Sendable {
    public let store: any Store

    public init(store: any Store) {
        self.store = store
    }

    static func randomHex(_ bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Creates a key; the secret is in the result and nowhere else.
    public func create(name: String, role: Role, by actor: Principal, secret given: String? = nil) async throws(KeelError) -> IssuedKey {
        let issued = try Self.issue(name: name, role: role, by: actor, secret: given)
        try await store.write { tx throws(KeelError) in try await Self.store(issued, in: tx, by: actor) }
        return issued
    }

    static func issue(name: String, role: Role, by actor: Principal, secret given: String?) throws(KeelError) -> IssuedKey {
        guard name.count <= 128 else { throw KeelError.invalidInput("an API key name must be at most 128 characters long") }
        let id = "key_" + Self.randomHex(4)
        let secret = given ?? "keel_\(id.dropFirst(4))_\(Self.randomHex(20))"
        guard secret.count >= 16 else { throw KeelError.invalidInput("an API key must be at least 16 characters long") }
        let record = APIKeyRecord(id: id, name: name, role: role.rawValue, keySHA256: Self.hash(secret), createdBy: actor.actor)
        return IssuedKey(record: record, secret: secret)
    }

    static func store(_ issued: IssuedKey, in tx: any StoreTransaction, by actor: Principal) async throws(KeelError) {
        try await tx.createKey(issued.record)
        try await tx.appendAudit(AuditEventRecord(
            by: actor, action: "key.create", target: "keys/\(issued.record.id)", after: "\(issued.record.name) role=\(issued.record.role)"))
    }

    /// The caller a secret belongs to, or 401 for a missing, unknown or revoked key.
    public func authenticate(_ secret: String?) async throws(KeelError) -> Principal {
        guard let secret, !secret.isEmpty else {
            throw KeelError(.unauthorized, "missing API key: send 'Authorization: Bearer <key>'")
        }
        guard let record = try await store.key(sha256: Self.hash(secret)), record.revokedAt == nil,
              let role = Role(rawValue: record.role)
        else { throw KeelError(.unauthorized, "invalid or revoked API key") }
        return Principal(keyID: record.id, name: record.name, role: role)
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
        let issued = try Self.issue(name: "admin", role: .admin, by: bootstrap, secret: environmentKey)
        let created = try await store.write { tx throws(KeelError) in
            try await tx.lockKeys()
            guard try await tx.keys().isEmpty else { return false }
            try await Self.store(issued, in: tx, by: bootstrap)
            return true
        }
        return created && environmentKey == nil ? issued.secret : nil
    }
}
