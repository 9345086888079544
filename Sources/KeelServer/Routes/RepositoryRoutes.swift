import Hummingbird
import KeelCore
import KeelServing

/// The v2 model repository extension: index, load, unload.
struct RepositoryRoutes {
    let manager: ModelManager

    func register(on router: Router<KeelRequestContext>) {
        router.post("/v2/repository/index") { request, _ in
            // Optional body {"ready": true}: list only the models that are ready.
            let body = try await RequestBody.collect(request, limit: 64 * 1024)
            var readyOnly = false
            if !body.isEmpty, body.contains(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) {
                let doc = try JSONParser.parse(body, errorCode: .invalidInput)
                guard doc.objectValue != nil else { throw KeelError.invalidInput("repository index body must be a JSON object") }
                readyOnly = doc["ready"] == .bool(true)
            }
            let entries: [JSONValue] = manager.index().filter { !readyOnly || $0.state == .ready }.map { status in
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
