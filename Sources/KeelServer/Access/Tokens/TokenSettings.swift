import Foundation
import KeelCore
import KeelRegistry

/// How JWT bearer tokens are verified: the keys (an HMAC secret, a PEM public key, a JWKS file),
/// the claims checked, and how a claim maps to Keel's roles. Tokens are off when no key is set.
public struct TokenSettings: Sendable, Equatable {
    /// HS256/384/512 secret (at least 32 bytes).
    public var hmacSecret: String?
    /// A PEM public key (RSA: RS*/PS*; P-256/384/521: ES*; Ed25519: EdDSA).
    public var publicKeyFile: String?
    /// A JWKS document of public keys, selected by `kid`; re-read when the file changes.
    public var jwksFile: String?
    /// `iss` must equal this when set.
    public var issuer: String?
    /// `aud` must be or contain this when set.
    public var audience: String?
    /// The claim holding the roles: a string (space- or comma-separated, like `scope`) or an
    /// array of strings; a dotted path reaches into objects (`realm_access.roles`).
    public var roleClaim = "roles"
    /// Claim values that name a Keel role (`keel-admins=admin`); besides these, a value that is
    /// a role's name, or `keel:<role>` / `keel.<role>`, counts.
    public var roleMap: [String: Role] = [:]
    /// Clock skew allowed on `exp` and `nbf`.
    public var leewaySeconds = 60

    public init() {}

    public var enabled: Bool { hmacSecret != nil || publicKeyFile != nil || jwksFile != nil }

    /// Parses `VALUE=ROLE,VALUE=ROLE`.
    public static func parseRoleMap(_ text: String) throws(KeelError) -> [String: Role] {
        var map: [String: Role] = [:]
        for entry in text.split(separator: ",") {
            let kv = entry.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, !kv[0].trimmingCharacters(in: .whitespaces).isEmpty, kv[0].utf8.count <= 256,
                  let role = Role(rawValue: kv[1].trimmingCharacters(in: .whitespaces).lowercased())
            else {
                throw .invalidInput("JWT role map entry '\(entry.prefix(80))' must be VALUE=ROLE with ROLE one of admin, deployer, predictor, viewer")
            }
            map[kv[0].trimmingCharacters(in: .whitespaces)] = role
        }
        guard map.count <= 256 else { throw .invalidInput("the JWT role map takes at most 256 entries") }
        return map
    }
}
