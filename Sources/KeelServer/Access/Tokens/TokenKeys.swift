import Foundation
import JWTKit
import KeelCore

/// One verification key: its `kid` (nil for the configured secret or PEM key), the one
/// algorithm it accepts, and a key collection holding only it. A token is checked against a
/// key of its own `alg` only, which is what stops algorithm confusion (an HS256 token "signed"
/// with an RSA public key as the secret meets no HMAC key).
struct TokenKey: Sendable {
    let kid: String?
    let alg: String
    let collection: JWTKeyCollection
}

enum TokenKeys {
    static let hmacAlgorithms = ["HS256", "HS384", "HS512"]
    static let rsaAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
    /// Largest key file read (PEM or JWKS).
    static let maxFileBytes = 1 << 20
    /// Most keys one JWKS may hold.
    static let maxJWKSKeys = 100

    /// The secret's keys: one per HMAC digest the secret is long enough for
    /// (a key at least as long as the digest: 32 bytes for HS256, 48 for
    /// HS384, 64 for HS512). A token whose algorithm needs a longer secret
    /// than the one configured meets no key and is refused.
    static func hmac(_ secret: String) async throws(KeelError) -> [TokenKey] {
        guard secret.utf8.count >= 32, secret.utf8.count <= 4096 else {
            throw .invalidInput("the JWT HMAC secret must be 32 to 4096 bytes long")
        }
        var out: [TokenKey] = []
        let length = secret.utf8.count
        for (alg, digest, bytes) in [("HS256", DigestAlgorithm.sha256, 32), ("HS384", .sha384, 48), ("HS512", .sha512, 64)] where length >= bytes {
            let c = JWTKeyCollection()
            await c.add(hmac: HMACKey(from: secret), digestAlgorithm: digest)
            out.append(TokenKey(kid: nil, alg: alg, collection: c))
        }
        return out
    }

    static func read(_ path: String, what: String) throws(KeelError) -> String {
        guard let text = SmallFile.text(path, limit: maxFileBytes) else {
            throw .invalidInput("\(what) '\(path.prefix(200))' cannot be read, or is over 1 MiB")
        }
        return text
    }

    /// A PEM public key's keys: every algorithm of its type.
    static func pem(file path: String) async throws(KeelError) -> [TokenKey] {
        let text = try read(path, what: "JWT public key file")
        guard !text.contains("PRIVATE KEY") else {
            throw .invalidInput("JWT public key file '\(path.prefix(200))' holds a private key; give Keel only the public key")
        }
        if let key = try? Insecure.RSA.PublicKey(pem: text) {
            var out: [TokenKey] = []
            for (alg, digest) in [("RS256", DigestAlgorithm.sha256), ("RS384", .sha384), ("RS512", .sha512)] {
                let c = JWTKeyCollection()
                await c.add(rsa: key, digestAlgorithm: digest)
                out.append(TokenKey(kid: nil, alg: alg, collection: c))
            }
            for (alg, digest) in [("PS256", DigestAlgorithm.sha256), ("PS384", .sha384), ("PS512", .sha512)] {
                let c = JWTKeyCollection()
                await c.add(pss: key, digestAlgorithm: digest)
                out.append(TokenKey(kid: nil, alg: alg, collection: c))
            }
            return out
        }
        let c = JWTKeyCollection()
        let alg: String
        if let key = try? ES256PublicKey(pem: text) {
            await c.add(ecdsa: key)
            alg = "ES256"
        } else if let key = try? ES384PublicKey(pem: text) {
            await c.add(ecdsa: key)
            alg = "ES384"
        } else if let key = try? ES512PublicKey(pem: text) {
            await c.add(ecdsa: key)
            alg = "ES512"
        } else if let key = try? EdDSA.PublicKey(pem: text) {
            await c.add(eddsa: key)
            alg = "EdDSA"
        } else {
            throw .invalidInput("JWT public key file '\(path.prefix(200))' is not a PEM RSA, P-256/384/521 or Ed25519 public key")
        }
        return [TokenKey(kid: nil, alg: alg, collection: c)]
    }

    /// A JWKS file's keys, each under its `kid`: public RSA, EC and OKP keys only.
    static func jwks(file path: String) async throws(KeelError) -> [TokenKey] {
        let text = try read(path, what: "JWKS file")
        let set: JWKS
        do {
            set = try JSONDecoder().decode(JWKS.self, from: Data(text.utf8))
        } catch {
            throw .invalidInput("JWKS file '\(path.prefix(200))' is not a JWKS document ({\"keys\": [...]})")
        }
        guard set.keys.count <= maxJWKSKeys else { throw .invalidInput("JWKS file '\(path.prefix(200))' has more than \(maxJWKSKeys) keys") }
        var out: [TokenKey] = []
        var seen = Set<String>()
        for (i, jwk) in set.keys.enumerated() {
            guard let kid = jwk.keyIdentifier?.string, !kid.isEmpty, kid.utf8.count <= 256 else {
                throw .invalidInput("JWKS key \(i) has no 'kid' (1-256 characters)")
            }
            guard seen.insert(kid).inserted else { throw .invalidInput("JWKS kid '\(kid.prefix(80))' appears twice") }
            guard jwk.privateExponent == nil else {
                throw .invalidInput("JWKS key '\(kid.prefix(80))' is a private key; publish only public keys")
            }
            let algorithms: [String]
            switch jwk.keyType {
            case .rsa: algorithms = rsaAlgorithms
            case .ecdsa:
                switch jwk.curve?.rawValue {
                case "P-256": algorithms = ["ES256"]
                case "P-384": algorithms = ["ES384"]
                case "P-521": algorithms = ["ES512"]
                default: throw .invalidInput("JWKS key '\(kid.prefix(80))' has an unsupported curve")
                }
            case .octetKeyPair: algorithms = ["EdDSA"]
            default:
                throw .invalidInput("JWKS key '\(kid.prefix(80))' has key type '\(jwk.keyType.rawValue.prefix(20))'; only RSA, EC and OKP public keys are accepted")
            }
            let accepted = jwk.algorithm.map { [$0.rawValue] } ?? algorithms
            for alg in accepted {
                guard algorithms.contains(alg), let jwkAlg = JWK.Algorithm(rawValue: alg) else {
                    throw .invalidInput("JWKS key '\(kid.prefix(80))' declares alg '\(alg.prefix(20))', which does not fit its key type")
                }
                var single = jwk
                single.algorithm = jwkAlg
                let c = JWTKeyCollection()
                do {
                    try await c.add(jwk: single, isDefault: true)
                    // Build the signer now: a key that cannot be used fails here, not per request.
                    _ = try await c.getKey(for: nil, alg: alg)
                } catch {
                    throw .invalidInput("JWKS key '\(kid.prefix(80))' cannot be used for \(alg)")
                }
                out.append(TokenKey(kid: kid, alg: alg, collection: c))
            }
        }
        return out
    }
}
