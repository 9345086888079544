import Hummingbird
import KeelCore
import KeelServing

/// `POST /v1/models/{m}:predict`: named-feature records in, labelled predictions out, and
/// KServe v1 model readiness.
struct RecordsRoutes {
    let manager: ModelManager
    let service: InferenceService
    let maxBodyBytes: Int
    let maxInstances: Int

    func register(on routes: KeelRoutes) {
        // KServe v1 model readiness: 200 with {"name","ready"} once the model serves.
        routes.get("/v1/models/{model}", .inference, "Model readiness (KServe v1)",
            doc: .json(.ref("ModelReadiness"), parameters: [.model], errors: [.notFound, .unavailable])) { _, context in
            let name = try context.modelName()
            _ = try manager.resolve(name)
            return JSONResponse.value(.object(["name": .string(name), "ready": .bool(true)]))
        }
        routes.post("/v1/models/{model}:predict", .inference, "Predict from records", doc: Self.predictDoc([.model])) { request, context in
            try await predict(request, context, version: nil)
        }
        routes.post("/v1/models/{model}/versions/{version}:predict", .inference, "Predict from records with a given version or alias",
            doc: Self.predictDoc([.model, .servedVersion])) { request, context in
            try await predict(request, context, version: try context.parameter("version"))
        }
    }

    static func predictDoc(_ path: [APIParameter]) -> RouteDoc {
        .json(
            .ref("RecordsResponse"),
            "Maps each record through the model's feature schema (config.yaml) and answers with a label, probability, risk band "
                + "and class scores (classifiers) or a prediction (regressors). At most --max-instances records (default 10 000): more is a 413.",
            parameters: path, body: .json(.ref("RecordsRequest"), "Records of named features", example: ChurnExamples.records),
            errors: [.notFound, .unavailable, .timeout])
    }

    private func predict(_ request: Request, _ context: KeelRequestContext, version: String?) async throws -> Response {
        let started = ContinuousClock.now
        let name = try context.modelName()
        _ = try manager.resolve(name, version: version)
        let body = try await RequestBody.collect(request, limit: maxBodyBytes)
        let records = try RecordPredictor.decodeInstances(body, maxInstances: maxInstances)
        return JSONResponse.ok(try await service.predict(
            model: name, version: version, records: records, origin: RequestOrigin(requestID: context.requestID, started: started)))
    }
}
