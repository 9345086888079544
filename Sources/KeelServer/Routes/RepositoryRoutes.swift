import Hummingbird
import KeelCore
import KeelServing

/// The v2 model repository extension: index, load, unload.
struct RepositoryRoutes {
    let manager: ModelManager

    func register(on router: Router<KeelRequestContext>) {
        router.post("/v2/repository/index") { _, _ in
            let entries: [JSONValue] = manager.index().map { status in
                var o: [String: JSONValue] = ["name": .string(status.name), "state": .string(status.state.rawValue)]
                if let latest = status.versions.last { o["version"] = .string(latest) }
                if let reason = status.reason { o["reason"] = .string(reason) }
                return .object(o)
            }
            return JSONResponse.value(.array(entries))
        }
        router.post("/v2/repository/models/{model}/load") { _, context in
            guard let name = context.parameters.get("model") else { throw KeelError.notFound("no model in path") }
            try await manager.load(name)
            return JSONResponse.value(.object([:]))
        }
        router.post("/v2/repository/models/{model}/unload") { _, context in
            guard let name = context.parameters.get("model") else { throw KeelError.notFound("no model in path") }
            try manager.unload(name)
            return JSONResponse.value(.object([:]))
        }
    }
}
