import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import KeelCore
import KeelRegistry
import KeelServing
import KeelTestSupport
import Logging
import Testing
import _CryptoExtras
@testable import KeelServer

/// JWT bearer tokens: every key type, every claim check, and every refusal the issue lists.
/// Tokens are signed here by hand with swift-crypto, so the tests can also forge the bad ones.
@Suite struct TokenTests {
    static let secret = "a-test-secret-that-is-long-enough-for-hs256-hs384-and-even-hs512!!"
    static let now = Date(timeIntervalSince1970: 1_900_000_000)

    static func part(_ json: String) -> String { Base64URL.encode(Array(json.utf8)) }

    /// `header.payload.signature` with `sign` over the signing input.
    static func token(header: String, claims: String, sign: ([UInt8]) throws -> [UInt8]) rethrows -> String {
        let input = part(header) + "." + part(claims)
        return input + "." + Base64URL.encode(try sign(Array(input.utf8)))
    }

    static func hs256(_ key: String, _ input: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Array(key.utf8))))
    }

    static func claims(
        sub: String = "alice@example.com", exp: Double? = 1_900_000_600, nbf: Double? = nil, iss: String? = "https://idp.example.com",
        aud: String? = #""keel""#, roles: String? = #"["deployer"]"#, extra: String = ""
    ) -> String {
        var fields = [#""sub":"\#(sub)""#]
        if let exp { fields.append(#""exp":\#(exp)"#) }
        if let nbf { fields.append(#""nbf":\#(nbf)"#) }
        if let iss { fields.append(#""iss":"\#(iss)""#) }
        if let aud { fields.append(#""aud":\#(aud)"#) }
        if let roles { fields.append(#""roles":\#(roles)"#) }
        if !extra.isEmpty { fields.append(extra) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func settings(_ configure: (inout TokenSettings) -> Void = { _ in }) -> TokenSettings {
        var s = TokenSettings()
        s.hmacSecret = secret
        s.issuer = "https://idp.example.com"
        s.audience = "keel"
        configure(&s)
        return s
    }

    static func file(_ text: String, _ name: String) throws -> String {
        let url = TestStores.temporaryDirectory().appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// The refusal's message, or nil when the token was accepted.
    static func refusal(_ verifier: TokenVerifier, _ token: String) async -> String? {
        do {
            _ = try await verifier.verify(token, now: now)
            return nil
        } catch {
            #expect(error.code == .unauthorized)
            return error.message
        }
    }

    @Test func hmacTokensAreCheckedClaimByClaim() async throws {
        let v = try await TokenVerifier(Self.settings())
        let hs = #"{"alg":"HS256","typ":"JWT"}"#
        let good = Self.token(header: hs, claims: Self.claims()) { Self.hs256(Self.secret, $0) }
        let p = try await v.verify(good, now: Self.now)
        #expect(p == Principal(keyID: "jwt:alice@example.com", name: "alice@example.com", role: .deployer))
        // HS384 and HS512 with the same secret.
        let hs384 = Self.token(header: #"{"alg":"HS384"}"#, claims: Self.claims()) {
            Array(HMAC<SHA384>.authenticationCode(for: $0, using: SymmetricKey(data: Array(Self.secret.utf8))))
        }
        let hs512 = Self.token(header: #"{"alg":"HS512"}"#, claims: Self.claims()) {
            Array(HMAC<SHA512>.authenticationCode(for: $0, using: SymmetricKey(data: Array(Self.secret.utf8))))
        }
        #expect(await Self.refusal(v, hs384) == nil)
        #expect(await Self.refusal(v, hs512) == nil)
        // A secret long enough for HS256 only: HS512 tokens meet no key (and nothing traps).
        let short = "a-40-byte-secret-for-hs256-only-000000000"
        let sv = try await TokenVerifier(Self.settings { $0.hmacSecret = short })
        let shortGood = Self.token(header: hs, claims: Self.claims()) { Self.hs256(short, $0) }
        #expect(await Self.refusal(sv, shortGood) == nil)
        let shortHS512 = Self.token(header: #"{"alg":"HS512"}"#, claims: Self.claims()) {
            Array(HMAC<SHA512>.authenticationCode(for: $0, using: SymmetricKey(data: Array(short.utf8))))
        }
        #expect(await Self.refusal(sv, shortHS512) != nil)

        let cases: [(String, String, String)] = [
            ("expired", Self.claims(exp: 1_900_000_000 - 61), "expired"),
            ("no exp", Self.claims(exp: nil), "no 'exp'"),
            ("not yet valid", Self.claims(nbf: 1_900_000_000 + 61), "not valid yet"),
            ("wrong issuer", Self.claims(iss: "https://evil.example.com"), "wrong issuer"),
            ("no issuer", Self.claims(iss: nil), "wrong issuer"),
            ("wrong audience", Self.claims(aud: #""other""#), "wrong audience"),
            ("audience list without keel", Self.claims(aud: #"["a","b"]"#), "wrong audience"),
            ("no role claim", Self.claims(roles: nil), "no Keel role"),
            ("no known role", Self.claims(roles: #"["superuser"]"#), "no Keel role"),
            ("no sub", #"{"exp":1900000600,"iss":"https://idp.example.com","aud":"keel","roles":["admin"]}"#, "no 'sub'"),
        ]
        for (name, claims, reason) in cases {
            let t = Self.token(header: hs, claims: claims) { Self.hs256(Self.secret, $0) }
            let message = await Self.refusal(v, t)
            #expect(message?.contains(reason) == true, "\(name): \(message ?? "accepted")")
        }
        // Within the leeway: a minute of skew either way is fine.
        for claims in [Self.claims(exp: 1_900_000_000 - 59), Self.claims(nbf: 1_900_000_000 + 59), Self.claims(aud: #"["x","keel"]"#)] {
            let t = Self.token(header: hs, claims: claims) { Self.hs256(Self.secret, $0) }
            #expect(await Self.refusal(v, t) == nil, "\(claims)")
        }
        // Wrong key, alg none, tampered claims, garbage.
        let wrongKey = Self.token(header: hs, claims: Self.claims()) { Self.hs256("another-secret-that-is-also-long-enough!!", $0) }
        #expect(await Self.refusal(v, wrongKey)?.contains("signature") == true)
        for none in [#"{"alg":"none"}"#, #"{"alg":"NONE"}"#, #"{"alg":"None","typ":"JWT"}"#] {
            let t = Self.part(none) + "." + Self.part(Self.claims(roles: #"["admin"]"#)) + "."
            #expect(await Self.refusal(v, t)?.contains("none") == true, "\(none)")
        }
        let parts = good.split(separator: ".")
        let tampered = parts[0] + "." + Self.part(Self.claims(roles: #"["admin"]"#)) + "." + parts[2]
        #expect(await Self.refusal(v, String(tampered))?.contains("signature") == true)
        for junk in ["", "eyJ", "a.b", "a.b.c.d", "!!!.???.***", String(repeating: "A", count: 9000), "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.AAAA",
                     Self.part(#"{"alg":"HS256","crit":["exp"]}"#) + "." + Self.part(Self.claims()) + ".AAAA",
                     Self.part(#"[1,2]"#) + "." + Self.part(Self.claims()) + ".AAAA", Self.part(#"{"alg":"HS256","kid":7}"#) + ".e30.AAAA"] {
            #expect(await Self.refusal(v, junk) != nil, "\(junk.prefix(40))")
        }
    }

    @Test func publicKeyTokensAcceptOnlyTheirOwnAlgorithmSoConfusionFails() async throws {
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let pem = rsa.publicKey.pemRepresentation
        let path = try Self.file(pem, "rsa.pem")
        let v = try await TokenVerifier(Self.settings { $0.hmacSecret = nil; $0.publicKeyFile = path })
        let rs256 = try Self.token(header: #"{"alg":"RS256","typ":"JWT"}"#, claims: Self.claims()) {
            Array(try rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation)
        }
        #expect(await Self.refusal(v, rs256) == nil)
        let ps256 = try Self.token(header: #"{"alg":"PS256"}"#, claims: Self.claims()) {
            Array(try rsa.signature(for: SHA256.hash(data: $0), padding: .PSS).rawRepresentation)
        }
        #expect(await Self.refusal(v, ps256) == nil)
        // Algorithm confusion: an HS256 token whose "secret" is the RSA public key PEM.
        let confused = Self.token(header: #"{"alg":"HS256"}"#, claims: Self.claims(roles: #"["admin"]"#)) { Self.hs256(pem, $0) }
        #expect(await Self.refusal(v, confused)?.contains("not accepted") == true)
        // A token signed by another RSA key.
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let forged = try Self.token(header: #"{"alg":"RS256"}"#, claims: Self.claims()) {
            Array(try other.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation)
        }
        #expect(await Self.refusal(v, forged)?.contains("signature") == true)
        // Both an HMAC secret and the RSA key configured: confusion still meets only the real secret.
        let both = try await TokenVerifier(Self.settings { $0.publicKeyFile = path })
        #expect(await Self.refusal(both, confused)?.contains("signature") == true)
        #expect(await Self.refusal(both, rs256) == nil)

        // ES256 and EdDSA from PEM files.
        let ec = P256.Signing.PrivateKey()
        let ecv = try await TokenVerifier(Self.settings { $0.hmacSecret = nil; $0.publicKeyFile = try? Self.file(ec.publicKey.pemRepresentation, "ec.pem") })
        let es256 = try Self.token(header: #"{"alg":"ES256"}"#, claims: Self.claims()) { Array(try ec.signature(for: $0).rawRepresentation) }
        #expect(await Self.refusal(ecv, es256) == nil)
        #expect(await Self.refusal(ecv, rs256)?.contains("not accepted") == true)
        let ed = Curve25519.Signing.PrivateKey()
        let edPEM = EdDSA.PublicKey(backing: ed.publicKey).pemRepresentation
        let edv = try await TokenVerifier(Self.settings { $0.hmacSecret = nil; $0.publicKeyFile = try? Self.file(edPEM, "ed.pem") })
        let eddsa = try Self.token(header: #"{"alg":"EdDSA"}"#, claims: Self.claims()) { Array(try ed.signature(for: $0)) }
        #expect(await Self.refusal(edv, eddsa) == nil)

        // A private key, or a file that is not a key, is refused at startup.
        for (text, name) in [(rsa.pemRepresentation, "private.pem"), ("not a key", "junk.pem")] {
            let p = try Self.file(text, name)
            await #expect(throws: KeelError.self) { try await TokenVerifier(Self.settings { $0.publicKeyFile = p }) }
        }
    }

    static func jwks(_ keys: [(String, P256.Signing.PublicKey)], ed: [(String, Curve25519.Signing.PublicKey)] = []) -> String {
        var items: [String] = []
        for (kid, key) in keys {
            let raw = Array(key.rawRepresentation)
            items.append(#"{"kty":"EC","crv":"P-256","kid":"\#(kid)","use":"sig","x":"\#(Base64URL.encode(Array(raw[0..<32])))","y":"\#(Base64URL.encode(Array(raw[32..<64])))"}"#)
        }
        for (kid, key) in ed {
            items.append(#"{"kty":"OKP","crv":"Ed25519","kid":"\#(kid)","alg":"EdDSA","x":"\#(Base64URL.encode(Array(key.rawRepresentation)))"}"#)
        }
        return #"{"keys":[\#(items.joined(separator: ","))]}"#
    }

    @Test func jwksKeysAreChosenByKidAndTheFileIsReloadedWhenItChanges() async throws {
        let k1 = P256.Signing.PrivateKey()
        let k2 = P256.Signing.PrivateKey()
        let ed = Curve25519.Signing.PrivateKey()
        let path = try Self.file(Self.jwks([("k1", k1.publicKey)], ed: [("ed1", ed.publicKey)]), "jwks.json")
        let v = try await TokenVerifier(Self.settings { $0.hmacSecret = nil; $0.jwksFile = path })
        func es(_ kid: String?, _ key: P256.Signing.PrivateKey) throws -> String {
            let header = kid.map { #"{"alg":"ES256","kid":"\#($0)"}"# } ?? #"{"alg":"ES256"}"#
            return try Self.token(header: header, claims: Self.claims()) { Array(try key.signature(for: $0).rawRepresentation) }
        }
        #expect(await Self.refusal(v, try es("k1", k1)) == nil)
        #expect(await Self.refusal(v, try es(nil, k1)) == nil, "one ES256 key: no kid needed")
        let edToken = try Self.token(header: #"{"alg":"EdDSA","kid":"ed1"}"#, claims: Self.claims()) { Array(try ed.signature(for: $0)) }
        #expect(await Self.refusal(v, edToken) == nil)
        #expect(await Self.refusal(v, try es("k2", k2))?.contains("unknown key id") == true)
        #expect(await Self.refusal(v, try es("k1", k2))?.contains("signature") == true)
        // A key id used with another algorithm.
        let wrongAlg = Self.token(header: #"{"alg":"HS256","kid":"k1"}"#, claims: Self.claims()) { Self.hs256(Self.secret, $0) }
        #expect(await Self.refusal(v, wrongAlg)?.contains("does not accept") == true)

        // Rotation: k2 is published, k1 withdrawn; the file is re-read.
        try await Task.sleep(for: .milliseconds(1100))
        try Self.jwks([("k2", k2.publicKey)]).write(toFile: path, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(2100))
        #expect(await Self.refusal(v, try es("k2", k2)) == nil)
        #expect(await Self.refusal(v, try es("k1", k1))?.contains("unknown key id") == true)
        // A broken new file keeps the previous keys.
        try await Task.sleep(for: .milliseconds(1100))
        try "{not json".write(toFile: path, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(2100))
        #expect(await Self.refusal(v, try es("k2", k2)) == nil)

        // Bad JWKS files are refused at startup.
        for (name, text) in [
            ("nokid", #"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#), ("oct", #"{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}"#),
            ("dup", Self.jwks([("a", k1.publicKey), ("a", k2.publicKey)])), ("junk", "[]"),
            ("private", #"{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB","d":"AQAB"}]}"#),
            ("mismatch", #"{"keys":[{"kty":"EC","crv":"P-256","kid":"m","alg":"RS256","x":"AA","y":"AA"}]}"#),
        ] {
            let p = try Self.file(text, "bad-\(name).json")
            await #expect(throws: KeelError.self, "\(name)") { try await TokenVerifier(Self.settings { $0.hmacSecret = nil; $0.jwksFile = p }) }
        }
    }

    @Test func theRoleClaimIsConfigurable() async throws {
        func role(_ configure: (inout TokenSettings) -> Void, _ extra: String, roles: String? = nil) async throws -> Role? {
            let v = try await TokenVerifier(Self.settings(configure))
            let t = Self.token(header: #"{"alg":"HS256"}"#, claims: Self.claims(roles: roles, extra: extra)) { Self.hs256(Self.secret, $0) }
            return try? await v.verify(t, now: Self.now).role
        }
        #expect(try await role({ _ in }, "", roles: #"["viewer","admin","predictor"]"#) == .admin, "the highest role wins")
        #expect(try await role({ _ in }, "", roles: #""viewer deployer""#) == .deployer)
        #expect(try await role({ $0.roleClaim = "scope" }, #""scope":"openid email keel:deployer""#) == .deployer)
        #expect(try await role({ $0.roleClaim = "realm_access.roles" }, #""realm_access":{"roles":["offline_access","keel.predictor"]}"#) == .predictor)
        #expect(try await role({ $0.roleClaim = "groups"; $0.roleMap = ["ml-platform": .admin] }, #""groups":["staff","ml-platform"]"#) == .admin)
        #expect(try await role({ $0.roleClaim = "https://keel.example/roles" }, #""https://keel.example/roles":["viewer"]"#) == .viewer)
        #expect(try await role({ $0.roleClaim = "groups" }, #""groups":["staff"]"#) == nil)
        #expect(throws: KeelError.self) { try TokenSettings.parseRoleMap("a=root") }
        #expect(try TokenSettings.parseRoleMap("keel-admins=admin, data=viewer") == ["keel-admins": .admin, "data": .viewer])
    }

    @Test func tokensAndKeysWorkSideBySideOnTheServer() async throws {
        let manager = try await TestServer.manager()
        let registry = try await TestRegistry.make(.sqlite)
        let keys = try await TestKeys.make(registry)
        var configuration = ServerConfiguration()
        configuration.inferenceRequiresKey = true
        let verifier = try await TokenVerifier(Self.settings())
        let built = KeelApplication.build(manager: manager, configuration: configuration, registry: registry, tokens: verifier)
        let app = Application(router: built.router)
        @Sendable func token(_ roles: String, exp: Double) -> String {
            Self.token(header: #"{"alg":"HS256"}"#, claims: Self.claims(exp: exp, roles: roles)) { Self.hs256(Self.secret, $0) }
        }
        let later = Date().timeIntervalSince1970 + 600
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/models", method: .get, headers: TestServer.bearer(token(#"["viewer"]"#, exp: later))) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: "/api/v1/models", method: .get, headers: TestServer.bearer(keys.viewer)) { r in #expect(r.status == .ok) }
            // A viewer token may not change anything: 403 naming the token's subject.
            try await client.execute(
                uri: "/api/v1/models/churn/aliases/staging", method: .put, headers: TestServer.bearer(token(#"["viewer"]"#, exp: later)),
                body: TestServer.body(#"{"version":1}"#)
            ) { r in
                #expect(r.status == .forbidden)
                #expect(String(buffer: r.body).contains("alice@example.com"))
            }
            try await client.execute(uri: "/api/v1/models", method: .get, headers: TestServer.bearer(token(#"["viewer"]"#, exp: 1000))) { r in
                #expect(r.status == .unauthorized)
                #expect(String(buffer: r.body).contains("expired"))
            }
            try await client.execute(uri: "/v2/models/churn/infer", method: .post, headers: TestServer.bearer(token(#"["predictor"]"#, exp: later)), body: TestServer.body(EdgeSecurityTests.infer)) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: "/api/v1/keys", method: .get, headers: TestServer.bearer(token(#"["deployer"]"#, exp: later))) { r in
                #expect(r.status == .forbidden)
            }
            try await client.execute(uri: "/metrics", method: .get) { r in
                #expect(String(buffer: r.body).contains(#"keel_auth_failures_total{reason="invalid_token"} 1"#))
            }
        }
    }

    @Test func auditEventsNameTheActorTheClientAddressAndTheRequestID() async throws {
        let manager = try await TestServer.manager()
        let registry = try await TestRegistry.make(.sqlite)
        let keys = try await TestKeys.make(registry)
        let verifier = try await TokenVerifier(Self.settings())
        let built = KeelApplication.build(manager: manager, configuration: ServerConfiguration(), registry: registry, tokens: verifier)
        let app = Application(router: built.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Logger(label: "audit-test"))
        let admin = Self.token(header: #"{"alg":"HS256"}"#, claims: Self.claims(exp: Date().timeIntervalSince1970 + 600, roles: #"["admin"]"#)) {
            Self.hs256(Self.secret, $0)
        }
        let id: String = try await app.test(.live) { client in
            // A change made with a token, then one made with an API key.
            var h = TestServer.bearer(admin)
            h[HTTPField.Name("X-Request-ID")!] = "audit-by-token"
            let created = try await client.execute(uri: "/api/v1/keys", method: .post, headers: h, body: TestServer.body(#"{"name":"ci","role":"viewer"}"#)) { r in
                #expect(r.status == .created || r.status == .ok)
                return Data(buffer: r.body)
            }
            let object = try JSONSerialization.jsonObject(with: created) as? [String: Any]
            let id = try #require(object?["id"] as? String)
            h = TestServer.bearer(keys.admin)
            h[HTTPField.Name("X-Request-ID")!] = "audit-by-key"
            try await client.execute(uri: "/api/v1/keys/\(id)", method: .delete, headers: h) { r in #expect(r.status == .ok) }
            // The audit route shows where each change came from.
            try await client.execute(uri: "/api/v1/audit?target=keys/\(id)", method: .get, headers: TestServer.bearer(keys.admin)) { r in
                let body = String(buffer: r.body)
                #expect(body.contains(#""address":"127.0.0.1""#), "\(body)")
                #expect(body.contains(#""request_id":"audit-by-token""#), "\(body)")
            }
            return id
        }
        let events = try await registry.audit(target: "keys/\(id)")
        #expect(events.map(\.action) == ["key.revoke", "key.create"])
        #expect(events.map(\.requestID) == ["audit-by-key", "audit-by-token"])
        #expect(events.map(\.address) == ["127.0.0.1", "127.0.0.1"])
        #expect(events[1].actor.contains("jwt:alice@example.com"))
        #expect(!events[0].actor.contains("jwt:"))
    }

    @Test func tokenSettingsAreReadAndBounded() throws {
        var flags = ServerConfiguration.Flags()
        flags.jwtIssuer = "https://idp.example.com"
        flags.jwtRoleMap = "keel-admins=admin"
        let env = ["KEEL_JWT_SECRET": Self.secret, "KEEL_JWT_AUDIENCE": "keel", "KEEL_JWT_LEEWAY_S": "30", "KEEL_JWT_ROLE_CLAIM": "groups"]
        let c = try ServerConfiguration.resolve(flags: flags, environment: env, file: ["jwks_file": "/etc/keel/jwks.json"], defaultRepositoryExists: false)
        #expect(c.tokens.enabled)
        #expect(c.tokens.hmacSecret == Self.secret)
        #expect(c.tokens.issuer == "https://idp.example.com")
        #expect(c.tokens.audience == "keel")
        #expect(c.tokens.leewaySeconds == 30)
        #expect(c.tokens.roleClaim == "groups")
        #expect(c.tokens.roleMap == ["keel-admins": .admin])
        #expect(c.tokens.jwksFile == "/etc/keel/jwks.json")
        #expect(!(try ServerConfiguration.resolve(flags: .init(), environment: [:], file: [:], defaultRepositoryExists: false)).tokens.enabled)
        for (key, value) in [("KEEL_JWT_SECRET", "short"), ("KEEL_JWT_LEEWAY_S", "601"), ("KEEL_JWT_ROLE_MAP", "x"), ("KEEL_JWT_ISSUER", String(repeating: "i", count: 600))] {
            #expect(throws: KeelError.self, "\(key)") {
                try ServerConfiguration.resolve(flags: .init(), environment: [key: value], file: [:], defaultRepositoryExists: false)
            }
        }
    }
}
