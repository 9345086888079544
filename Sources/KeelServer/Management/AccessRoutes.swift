import Foundation
import Hummingbird
import KeelCore
import KeelRegistry

/// `/api/v1/keys` and `/api/v1/audit`: admin only. `/api/v1/whoami` for any valid key.
struct AccessRoutes {
    let registry: Registry
    let maxBodyBytes: Int
    /// Most audit events one request may ask for.
    static let maxAuditEvents = 10_000
    /// The caller's own identity: open to every valid key, model-limited ones included.
    static let whoami = "/api/v1/whoami"

    func register(on routes: KeelRoutes) {
        routes.get(Self.whoami, .viewer, "The calling key's id, name and role",
            doc: .json(.ref("Caller"))) { _, context in
            let who = try context.caller()
            return JSONResponse.value(.object(["id": .string(who.keyID), "name": .string(who.name), "role": .string(who.role.rawValue)]))
        }
        routes.get("/api/v1/keys", .admin, "List API keys",
            doc: .json(.ref("KeyList"))) { _, _ in
            return JSONResponse.value(.object(["keys": .array(try await registry.keys.list().map(Views.key))]))
        }
        routes.post("/api/v1/keys", .admin, "Create an API key (the secret is shown once)",
            doc: .json(.ref("IssuedKey"), parameters: [], body: .json(.ref("KeyRequest"), "The new key's role and name", example: ChurnExamples.key), status: 201)) { request, context in
            let who = try context.caller()
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            let roleName = try body.requiredString("role")
            guard let role = Role(rawValue: roleName) else {
                throw KeelError.invalidInput("role '\(roleName)' is not one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var limits = KeyLimits(models: try body.stringList("models", limit: KeyLimits.maxModels))
            if let seconds = try body.int("expires_in_s") {
                guard seconds >= 1, Double(seconds) <= KeyLimits.maxLifetime else {
                    throw KeelError.invalidInput("'expires_in_s' must be 1 to \(Int(KeyLimits.maxLifetime)) seconds")
                }
                limits.expiresAt = Date().addingTimeInterval(Double(seconds))
            }
            let issued = try await registry.keys.create(name: try body.string("name") ?? roleName, role: role, limits: limits, by: who)
            guard case .object(var o) = Views.key(issued.record) else { return JSONResponse.value(.null) }
            o["key"] = .string(issued.secret)
            return JSONResponse.value(.object(o), status: .created)
        }
        routes.delete("/api/v1/keys/{id}", .admin, "Revoke an API key",
            doc: .json(.ref("Revoked"), "409 for a key already revoked, or for the key making the request.", parameters: [.keyID], errors: [.notFound, .conflict])) { _, context in
            let who = try context.caller()
            let id = try ResourceName.validate(try context.parameter("id"), what: "key id")
            // Revoking the key that makes the request would lock its holder out mid-session.
            guard id != who.keyID else {
                throw KeelError(.conflict, "API key '\(id)' is the one making this request; revoke it with another admin key")
            }
            try await registry.keys.revoke(id: id, by: who)
            return JSONResponse.value(.object(["revoked": .bool(true)]))
        }
        routes.get("/api/v1/audit", .admin, "The audit log, newest first",
            doc: .json(.ref("AuditLog"), parameters: [
                .query("limit", .integer(minimum: 1, maximum: Self.maxAuditEvents), "Most events to return (default 100)", example: 100),
                .query("target", .string, "Only events about this target (a model, `model/version`, `keys/<id>`)"),
            ])) { request, _ in
            let query = request.uri.queryParameters
            var limit = 100
            if let text = query.get("limit") {
                // A limit outside the documented range is refused, not silently clamped.
                guard let n = Int(text), (1...Self.maxAuditEvents).contains(n) else {
                    throw KeelError.invalidInput("limit must be an integer in 1...\(Self.maxAuditEvents), got '\(text.prefix(40))'")
                }
                limit = n
            }
            let events = try await registry.audit(target: query.get("target").map { String($0) }, limit: limit)
            return JSONResponse.value(.object(["events": .array(events.map(Views.audit))]))
        }
    }
}
