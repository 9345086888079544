import Hummingbird
import KeelCore
import KeelRegistry

/// `/api/v1/keys` and `/api/v1/audit`: admin only. `/api/v1/whoami` for any valid key.
struct AccessRoutes {
    let registry: Registry
    let auth: Authenticator
    let maxBodyBytes: Int

    func register(on router: Router<KeelRequestContext>) {
        router.get("/api/v1/whoami") { request, _ in
            let who = try await auth.require(.viewer, request)
            return JSONResponse.value(.object(["id": .string(who.keyID), "name": .string(who.name), "role": .string(who.role.rawValue)]))
        }
        router.get("/api/v1/keys") { request, _ in
            _ = try await auth.require(.admin, request)
            return JSONResponse.value(.object(["keys": .array(try await registry.keys.list().map(Views.key))]))
        }
        router.post("/api/v1/keys") { request, _ in
            let who = try await auth.require(.admin, request)
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
        router.delete("/api/v1/keys/{id}") { request, context in
            let who = try await auth.require(.admin, request)
            try await registry.keys.revoke(id: try context.parameters.require("id"), by: who)
            return JSONResponse.value(.object(["revoked": .bool(true)]))
        }
        router.get("/api/v1/audit") { request, _ in
            _ = try await auth.require(.admin, request)
            let query = request.uri.queryParameters
            let limit = query.get("limit").flatMap { Int($0) } ?? 100
            let events = try await registry.audit(target: query.get("target").map { String($0) }, limit: limit)
            return JSONResponse.value(.object(["events": .array(events.map(Views.audit))]))
        }
    }
}
