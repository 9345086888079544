import Hummingbird
import KeelCore
import KeelServing

/// `POST /v1/models/{m}:predict`: named-feature records in, labelled predictions out.
struct RecordsRoutes {
    let manager: ModelManager
    let maxBodyBytes: Int

    func register(on router: Router<KeelRequestContext>) {
        // KServe v1 model readiness: 200 with {"name","ready"} once the model serves.
        router.get("/v1/models/{model}") { _, context in
            guard let name = context.parameters.get("model") else { throw KeelError.notFound("no model in path") }
            _ = try manager.resolve(name)
            return JSONResponse.value(.object(["name": .string(name), "ready": .bool(true)]))
        }
        router.post("/v1/models/{model}:predict") { request, context in
            try await predict(request, context, version: nil)
        }
        router.post("/v1/models/{model}/versions/{version}:predict") { request, context in
            try await predict(request, context, version: context.parameters.get("version"))
        }
    }

    private func predict(_ request: Request, _ context: KeelRequestContext, version: String?) async throws -> Response {
        guard let name = context.parameters.get("model") else { throw KeelError.notFound("no model in path") }
        let served = try manager.resolve(name, version: version)
        let body = try await RequestBody.collect(request, limit: maxBodyBytes)
        let records = try RecordPredictor.decodeInstances(body)
        return JSONResponse.ok(try await RecordPredictor.predict(served, records: records))
    }
}
