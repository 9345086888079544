import Hummingbird
import KeelCore
import KeelServing

/// `POST /v1/models/{m}:predict`: named-feature records in, labelled predictions out, and
/// KServe v1 model readiness.
struct RecordsRoutes {
    let manager: ModelManager
    let maxBodyBytes: Int
    let maxInstances: Int

    func register(on routes: KeelRoutes) {
        // KServe v1 model readiness: 200 with {"name","ready"} once the model serves.
        routes.get("/v1/models/{model}", .inference, "Model readiness (KServe v1)") { _, context in
            let name = try context.modelName()
            _ = try manager.resolve(name)
            return JSONResponse.value(.object(["name": .string(name), "ready": .bool(true)]))
        }
        routes.post("/v1/models/{model}:predict", .inference, "Predict from records") { request, context in
            try await predict(request, context, version: nil)
        }
        routes.post("/v1/models/{model}/versions/{version}:predict", .inference, "Predict from records with a given version or alias") { request, context in
            try await predict(request, context, version: try context.parameter("version"))
        }
    }

    private func predict(_ request: Request, _ context: KeelRequestContext, version: String?) async throws -> Response {
        let served = try manager.resolve(try context.modelName(), version: version)
        let body = try await RequestBody.collect(request, limit: maxBodyBytes)
        let records = try RecordPredictor.decodeInstances(body, maxInstances: maxInstances)
        return JSONResponse.ok(try await RecordPredictor.predict(served, records: records))
    }
}
