import Hummingbird
import KeelCore
import KeelRegistry

/// `/api/v1/keys` and `/api/v1/audit`: admin only. `/api/v1/whoami` for any valid key.
struct AccessRoutes {
    let registry: Registry
    let maxBodyBytes: Int

    func register(on routes: KeelRoutes) {
        routes.get("/api/v1/whoami", .viewer, "The calling key's id, name and role") { _, context in
            let who = try context.caller()
            return JSONResponse.value(.object(["id": .string(who.keyID), "name": .string(who.name), "role": .string(who.role.rawValue)]))
        }
        routes.get("/api/v1/keys", .admin, "List API keys") { _, _ in
            return JSONResponse.value(.object(["keys": .array(try await registry.keys.list().map(Views.key))]))
        }
        routes.post("/api/v1/keys", .admin, "Create an API key (the secret is shown once)") { request, context in
            let who = try context.caller()
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            let roleName = try body.requiredString("role")
            guard let role = Role(rawValue: roleName) else {
                throw KeelError.invalidInput("role '\(roleName)' is not one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let issued = try await registry.keys.create(name: try body.string("name") ?? roleName, role: role, by: who)
            guard case .object(var o) = Views.key(issued.record) else { return JSONResponse.value(.null) }
            o["key"] = .string(issued.secret)
            return JSONResponse.value(.object(o), status: .created)
        }
        routes.delete("/api/v1/keys/{id}", .admin, "Revoke an API key") { _, context in
            let who = try context.caller()
            try await registry.keys.revoke(id: try ResourceName.validate(try context.parameter("id"), what: "key id"), by: who)
            return JSONResponse.value(.object(["revoked": .bool(true)]))
        }
        routes.get("/api/v1/audit", .admin, "The audit log, newest first") { request, _ in
            let query = request.uri.queryParameters
            let limit = query.get("limit").flatMap { Int($0) } ?? 100
            let events = try await registry.audit(target: query.get("target").map { String($0) }, limit: limit)
            return JSONResponse.value(.object(["events": .array(events.map(Views.audit))]))
        }
    }
}
