import HTTPTypes
import Hummingbird
import KeelCore
import KeelEngine
import KeelServing

/// Open Inference Protocol v2 model endpoints: metadata, readiness and inference (JSON and
/// the binary tensor extension).
struct InferenceRoutes {
    let manager: ModelManager
    let service: InferenceService
    let maxBodyBytes: Int

    static let headerLength = HTTPField.Name("Inference-Header-Content-Length")!

    func register(on routes: KeelRoutes) {
        let model: [APIParameter] = [.model]
        let version: [APIParameter] = [.model, .servedVersion]
        let found: Set<ErrorStatus> = [.notFound, .unavailable]
        routes.get("/v2/models/{model}", .inference, "Model metadata (v2)", doc: .json(.ref("ModelMetadata"), parameters: model, errors: found)) { _, context in
            try metadata(context, version: nil)
        }
        routes.get("/v2/models/{model}/versions/{version}", .inference, "Model version metadata (v2)",
            doc: .json(.ref("ModelMetadata"), parameters: version, errors: found)) { _, context in
            try metadata(context, version: try context.parameter("version"))
        }
        routes.get("/v2/models/{model}/ready", .inference, "Model readiness (v2)",
            doc: .json(.ref("ModelReadiness"), "200 when the model serves; 404 unknown, 503 not ready.", parameters: model, errors: found)) { _, context in
            try ready(context, version: nil)
        }
        routes.get("/v2/models/{model}/versions/{version}/ready", .inference, "Model version readiness (v2)",
            doc: .json(.ref("ModelReadiness"), "200 when the version serves; 404 unknown, 503 not ready.", parameters: version, errors: found)) { _, context in
            try ready(context, version: try context.parameter("version"))
        }
        routes.post("/v2/models/{model}/infer", .inference, "Inference (v2, JSON or binary tensors)", doc: Self.inferDoc(model)) { request, context in
            try await infer(request, context, version: nil)
        }
        routes.post("/v2/models/{model}/versions/{version}/infer", .inference, "Inference with a given version or alias (v2)",
            doc: Self.inferDoc(version)) { request, context in
            try await infer(request, context, version: try context.parameter("version"))
        }
    }

    /// The infer routes: a JSON request, or the binary tensor extension (a JSON header of
    /// `Inference-Header-Content-Length` bytes, then raw little-endian data).
    static func inferDoc(_ path: [APIParameter]) -> RouteDoc {
        let headerLength = APIParameter(
            headerLength.rawName, in: .header, required: false, .integer(minimum: 0),
            "Binary tensor extension: the length of the JSON header that starts the body; the rest is the inputs' raw data")
        let binary = JSONSchema(.object(["type": "string", "format": "binary"]))
        return RouteDoc(
            "Runs the model on the request's tensors. Outputs asked for with `binary_data` (or all, with the request parameter "
                + "`binary_data_output`) come back in the binary extension: a JSON header of `Inference-Header-Content-Length` bytes, "
                + "then their raw little-endian data.",
            parameters: path + [headerLength],
            body: RequestBodyDoc("A v2 inference request", content: [
                MediaTypeDoc("application/json", .ref("InferenceRequest"), example: ChurnExamples.inferenceRequest),
                MediaTypeDoc("application/octet-stream", binary.described("JSON header (an InferenceRequest), then the binary tensor data")),
            ]),
            responses: [ResponseDoc(status: 200, "The outputs", content: [
                MediaTypeDoc("application/json", .ref("InferenceResponse")),
                MediaTypeDoc("application/octet-stream", binary.described("JSON header (an InferenceResponse), then the binary output data")),
            ], headers: [headerLength.name: APIParameter(
                headerLength.name, in: .header, .integer(minimum: 0), "Length of the JSON header, when outputs travel as binary data")])],
            errors: [.notFound, .unavailable, .timeout])
    }

    private func metadata(_ context: KeelRequestContext, version: String?) throws -> Response {
        let name = try context.modelName()
        let served = try manager.resolve(name, version: version)
        func sig(_ s: TensorSignature) -> JSONValue {
            .object(["name": .string(s.name), "datatype": .string(s.dataType.rawValue), "shape": .array(s.shape.map { .number(Double($0)) })])
        }
        let meta = served.metadata
        var parameters: [String: JSONValue] = meta.properties.mapValues { .string($0) }
        if !served.classLabels.isEmpty { parameters["class_labels"] = .array(served.classLabels.map { .string($0) }) }
        if let features = meta.featureNames { parameters["feature_names"] = .array(features.map { .string($0) }) }
        return JSONResponse.value(.object([
            "name": .string(name),
            "versions": .array((version.map { [$0] } ?? manager.versions(of: name)).map { .string($0) }),
            "platform": .string(meta.format.platform),
            "inputs": .array(meta.inputs.map(sig)),
            "outputs": .array(meta.outputs.map(sig)),
            "parameters": .object(parameters),
        ]))
    }

    private func ready(_ context: KeelRequestContext, version: String?) throws -> Response {
        let name = try context.modelName()
        _ = try manager.resolve(name, version: version)
        return JSONResponse.value(.object(["name": .string(name), "ready": .bool(true)]))
    }

    private func infer(_ request: Request, _ context: KeelRequestContext, version: String?) async throws -> Response {
        let started = ContinuousClock.now
        let name = try context.modelName()
        _ = try manager.resolve(name, version: version)
        let body = try await RequestBody.collect(request, limit: maxBodyBytes)
        var headerLength: Int?
        if let text = request.headers[Self.headerLength] {
            guard let n = Int(text), n >= 0 else {
                throw KeelError.invalidInput("Inference-Header-Content-Length '\(text.prefix(40))' is not a non-negative integer")
            }
            headerLength = n
        }
        let inferenceRequest = try V2BinaryCodec.decodeRequest(body, headerLength: headerLength)
        let (response, _) = try await service.infer(
            model: name, version: version, request: inferenceRequest, origin: RequestOrigin(requestID: context.requestID, started: started))
        var binary = Set<String>()
        let allBinary = inferenceRequest.parameters["binary_data_output"] == .bool(true)
        for s in response.outputs.map(\.name) {
            let asked = inferenceRequest.outputs.first { $0.name == s }?.parameters["binary_data"]
            if asked == .bool(true) || (allBinary && asked != .bool(false)) { binary.insert(s) }
        }
        let (bytes, header) = V2BinaryCodec.encodeResponse(response, binaryOutputs: binary)
        var fields: HTTPFields = [.contentType: header == nil ? "application/json" : "application/octet-stream"]
        if let header { fields[Self.headerLength] = String(header) }
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
