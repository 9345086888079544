import Foundation
import JWTKit
import KeelCore
import KeelRegistry
import Logging
import Synchronization

/// Verifies JWT bearer tokens and maps them to a caller: the signature with a key of the
/// token's own algorithm (`none` never), then `exp`, `nbf` (with leeway), `iss`, `aud`, `sub`
/// and the role claim. Header and claims are read with Keel's bounded JSON parser; jwt-kit
/// checks only the signature. A JWKS file is re-read when it changes (checked at most every
/// two seconds); a broken new file keeps the previous keys and is logged.
public final class TokenVerifier: Sendable {
    public let settings: TokenSettings
    let logger: Logger
    /// Largest token accepted.
    static let maxTokenBytes = 8192

    private struct State {
        var keys: [TokenKey]
        var jwksKeys: [TokenKey]
        var jwksStamp: String
        var checked: Double
    }
    private let state: Mutex<State>
    private let start = ContinuousClock.now

    /// Loads every configured key; a key that cannot be loaded is a startup error.
    public init(_ settings: TokenSettings, logger: Logger = Logger(label: "keel.auth")) async throws(KeelError) {
        self.settings = settings
        self.logger = logger
        var keys: [TokenKey] = []
        if let secret = settings.hmacSecret { keys += try await TokenKeys.hmac(secret) }
        if let file = settings.publicKeyFile { keys += try await TokenKeys.pem(file: file) }
        var jwks: [TokenKey] = []
        var stamp = ""
        if let file = settings.jwksFile {
            stamp = Self.stamp(file)
            jwks = try await TokenKeys.jwks(file: file)
        }
        state = Mutex(State(keys: keys, jwksKeys: jwks, jwksStamp: stamp, checked: 0))
    }

    /// The file's size and modification time, to notice a change.
    static func stamp(_ path: String) -> String {
        guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return "missing" }
        let date = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "\(a[.size] as? Int ?? -1):\(date)"
    }

    func seconds() -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// The keys now, re-reading the JWKS file when it changed.
    func currentKeys() async -> [TokenKey] {
        let now = seconds()
        let (keys, due, oldStamp) = state.withLock { s in
            let due = settings.jwksFile != nil && now - s.checked >= 2
            if due { s.checked = now }
            return (s.keys + s.jwksKeys, due, s.jwksStamp)
        }
        guard due, let file = settings.jwksFile else { return keys }
        let stamp = Self.stamp(file)
        guard stamp != oldStamp else { return keys }
        do {
            let fresh = try await TokenKeys.jwks(file: file)
            logger.info("JWKS file reloaded", metadata: ["file": .string(file), "keys": .stringConvertible(fresh.count)])
            return state.withLock { s in
                s.jwksKeys = fresh
                s.jwksStamp = stamp
                return s.keys + fresh
            }
        } catch {
            logger.warning("JWKS file changed but cannot be used; keeping the previous keys", metadata: [
                "file": .string(file), "error": .string(error.message),
            ])
            state.withLock { $0.jwksStamp = stamp }
            return keys
        }
    }

    /// Does this bearer credential look like a JWT (three base64url parts) rather than a Keel key?
    public static func looksLikeToken(_ credential: String) -> Bool {
        credential.utf8.count > 10 && credential.utf8.filter { $0 == UInt8(ascii: ".") }.count == 2 && credential.hasPrefix("eyJ")
    }

    /// The caller a token names, or 401 with the reason.
    public func verify(_ token: String, now: Date = Date()) async throws(KeelError) -> Principal {
        func refuse(_ reason: String) -> KeelError { KeelError(.unauthorized, "invalid token: \(reason)") }
        guard token.utf8.count <= Self.maxTokenBytes else { throw refuse("over \(Self.maxTokenBytes) bytes") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
              let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1])
        else { throw refuse("not a signed JWT (header.payload.signature in base64url)") }
        guard let header = try? JSONParser.parse(headerBytes, errorCode: .unauthorized), header.objectValue != nil else {
            throw refuse("the header is not a JSON object")
        }
        guard let alg = header["alg"]?.stringValue, !alg.isEmpty, alg.utf8.count <= 16 else { throw refuse("the header names no 'alg'") }
        guard alg.lowercased() != "none" else { throw refuse("alg 'none' is never accepted") }
        if header["crit"] != nil { throw refuse("critical header extensions are not supported") }
        let kid: String?
        if let value = header["kid"] {
            guard let k = value.stringValue, !k.isEmpty, k.utf8.count <= 256 else { throw refuse("'kid' must be a string of 1-256 characters") }
            kid = k
        } else {
            kid = nil
        }

        let keys = await currentKeys()
        let key: TokenKey
        if let kid {
            let named = keys.filter { $0.kid == kid }
            guard !named.isEmpty else { throw refuse("unknown key id '\(ErrorMiddleware.shown(kid))'") }
            guard let k = named.first(where: { $0.alg == alg }) else {
                throw refuse("key '\(ErrorMiddleware.shown(kid))' does not accept alg '\(ErrorMiddleware.shown(alg))'")
            }
            key = k
        } else {
            let candidates = keys.filter { $0.kid == nil && $0.alg == alg }
            let jwks = keys.filter { $0.kid != nil && $0.alg == alg }
            if let k = candidates.first {
                key = k
            } else if jwks.count == 1, let k = jwks.first {
                key = k
            } else if keys.contains(where: { $0.alg == alg }) {
                throw refuse("the token names no 'kid' and several keys accept \(ErrorMiddleware.shown(alg))")
            } else {
                throw refuse("alg '\(ErrorMiddleware.shown(alg))' is not accepted by any configured key")
            }
        }
        do {
            _ = try await key.collection.verify(token, as: SignatureOnly.self)
        } catch {
            throw refuse("the signature does not verify")
        }

        guard let claims = try? JSONParser.parse(payloadBytes, errorCode: .unauthorized, numericArrays: .values), claims.objectValue != nil else {
            throw refuse("the claims are not a JSON object")
        }
        let t = now.timeIntervalSince1970
        let leeway = Double(settings.leewaySeconds)
        guard let exp = claims["exp"]?.doubleValue, exp.isFinite else { throw refuse("no 'exp' claim: tokens must expire") }
        guard t <= exp + leeway else { throw refuse("expired") }
        if let nbfValue = claims["nbf"] {
            guard let nbf = nbfValue.doubleValue, nbf.isFinite else { throw refuse("'nbf' is not a number") }
            guard t + leeway >= nbf else { throw refuse("not valid yet ('nbf' is in the future)") }
        }
        if let issuer = settings.issuer {
            guard claims["iss"]?.stringValue == issuer else { throw refuse("wrong issuer") }
        }
        if let audience = settings.audience {
            let aud = claims["aud"]
            let ok = aud?.stringValue == audience || (aud?.arrayValue?.contains { $0.stringValue == audience } ?? false)
            guard ok else { throw refuse("wrong audience") }
        }
        guard let sub = claims["sub"]?.stringValue, !sub.isEmpty, sub.utf8.count <= 256 else {
            throw refuse("no 'sub' claim (1-256 characters) naming the caller")
        }
        guard let role = role(in: claims) else {
            throw refuse("no Keel role in claim '\(settings.roleClaim)'")
        }
        return Principal(keyID: "jwt:" + sub, name: sub, role: role)
    }

    /// The highest Keel role the role claim names.
    func role(in claims: JSONValue) -> Role? {
        var value: JSONValue? = claims
        for step in settings.roleClaim.split(separator: ".").prefix(8) {
            value = value?[String(step)]
        }
        if value == nil { value = claims[settings.roleClaim] }
        var names: [String] = []
        if let text = value?.stringValue {
            names = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        } else if let items = value?.arrayValue {
            names = items.prefix(256).compactMap(\.stringValue)
        }
        var best: Role?
        for name in names.prefix(256) {
            var role = settings.roleMap[name] ?? Role(rawValue: name)
            if role == nil, name.hasPrefix("keel:") || name.hasPrefix("keel.") { role = Role(rawValue: String(name.dropFirst(5))) }
            if let role, best.map({ !$0.includes(role) }) ?? true { best = role }
        }
        return best
    }
}

/// jwt-kit checks the signature only; the claims are read by `TokenVerifier`.
struct SignatureOnly: JWTPayload {
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Unpadded base64url, as JWTs use it.
enum Base64URL {
    static func decode(_ text: Substring) -> [UInt8]? {
        guard text.utf8.count <= TokenVerifier.maxTokenBytes else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !s.contains("=") else { return nil }
        switch s.utf8.count % 4 {
        case 0: break
        case 2: s += "=="
        case 3: s += "="
        default: return nil
        }
        return Data(base64Encoded: s).map { [UInt8]($0) }
    }

    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
