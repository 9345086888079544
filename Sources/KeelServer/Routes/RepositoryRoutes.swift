import Hummingbird
import KeelCore
import KeelServing

/// The v2 model repository extension: the index (as model metadata), and load/unload, which
/// change what the server serves and so need a `deployer` key.
struct RepositoryRoutes {
    let manager: ModelManager

    func register(on routes: KeelRoutes) {
        let index = RouteDoc.json(
            .array(.ref("RepositoryIndexEntry")), "Every model the server knows, with its state; `{\"ready\": true}` lists only ready ones.",
            body: .json(.ref("RepositoryIndexRequest"), "Optional filter", required: false, example: ChurnExamples.readyOnly))
        routes.post("/v2/repository/index", .inference, "Model repository index", doc: index) { request, _ in
            // Optional body {"ready": true}: list only the models that are ready.
            let body = try await RequestBody.collect(request, limit: 64 * 1024)
            var readyOnly = false
            if !body.isEmpty, body.contains(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) {
                let doc = try JSONParser.parse(body, errorCode: .invalidInput)
                guard doc.objectValue != nil else { throw KeelError.invalidInput("repository index body must be a JSON object") }
                switch doc["ready"] {
                case nil, .null?: break
                case .bool(let b)?: readyOnly = b
                default: throw KeelError.invalidInput("repository index 'ready' must be true or false")
                }
            }
            let entries: [JSONValue] = manager.index().filter { !readyOnly || $0.state == .ready }.map { status in
                var o: [String: JSONValue] = ["name": .string(status.name), "state": .string(status.state.rawValue)]
                if let latest = status.versions.last { o["version"] = .string(latest) }
                if let reason = status.reason { o["reason"] = .string(reason) }
                return .object(o)
            }
            return JSONResponse.value(.array(entries))
        }
        let load = RouteDoc.json(
            .ref("Empty"), "Loads (or reloads) the model's versions from the model repository folder and warms them up; 409 for a model the registry serves.",
            parameters: [.model], errors: [.notFound, .conflict])
        routes.post("/v2/repository/models/{model}/load", .deployer, "Load a model from the model repository", doc: load) { _, context in
            try await manager.load(try context.modelName())
            return JSONResponse.value(.object([:]))
        }
        let unload = RouteDoc.json(
            .ref("Empty"), "Stops serving a model-repository model (afterwards it answers 503 until loaded again); 409 for a model the registry serves.",
            parameters: [.model], errors: [.notFound, .conflict])
        routes.post("/v2/repository/models/{model}/unload", .deployer, "Unload a model-repository model", doc: unload) { _, context in
            try manager.unload(try context.modelName())
            return JSONResponse.value(.object([:]))
        }
    }
}
