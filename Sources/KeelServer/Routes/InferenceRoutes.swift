import HTTPTypes
import Hummingbird
import KeelCore
import KeelEngine
import KeelServing

/// Open Inference Protocol v2 model endpoints: metadata, readiness and inference (JSON and
/// the binary tensor extension).
struct InferenceRoutes {
    let manager: ModelManager
    let maxBodyBytes: Int

    static let headerLength = HTTPField.Name("Inference-Header-Content-Length")!

    func register(on router: Router<KeelRequestContext>) {
        router.get("/v2/models/{model}") { _, context in try metadata(context, version: nil) }
        router.get("/v2/models/{model}/versions/{version}") { _, context in
            try metadata(context, version: context.parameters.get("version"))
        }
        router.get("/v2/models/{model}/ready") { _, context in try ready(context, version: nil) }
        router.get("/v2/models/{model}/versions/{version}/ready") { _, context in
            try ready(context, version: context.parameters.get("version"))
        }
        router.post("/v2/models/{model}/infer") { request, context in
            try await infer(request, context, version: nil)
        }
        router.post("/v2/models/{model}/versions/{version}/infer") { request, context in
            try await infer(request, context, version: context.parameters.get("version"))
        }
    }

    private func model(_ context: KeelRequestContext) throws -> String {
        guard let name = context.parameters.get("model") else { throw KeelError.notFound("no model in path") }
        return name
    }

    private func metadata(_ context: KeelRequestContext, version: String?) throws -> Response {
        let name = try model(context)
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
        let name = try model(context)
        _ = try manager.resolve(name, version: version)
        return JSONResponse.value(.object(["name": .string(name), "ready": .bool(true)]))
    }

    private func infer(_ request: Request, _ context: KeelRequestContext, version: String?) async throws -> Response {
        let name = try model(context)
        let served = try manager.resolve(name, version: version)
        let body = try await RequestBody.collect(request, limit: maxBodyBytes)
        var headerLength: Int?
        if let text = request.headers[Self.headerLength] {
            guard let n = Int(text) else { throw KeelError.invalidInput("Inference-Header-Content-Length '\(text)' is not an integer") }
            headerLength = n
        }
        let inferenceRequest = try V2BinaryCodec.decodeRequest(body, headerLength: headerLength)
        let known = Set(served.metadata.outputs.map(\.name))
        for output in inferenceRequest.outputs where !known.contains(output.name) {
            throw KeelError.invalidInput("unknown output '\(output.name)'; model '\(name)' outputs \(served.metadata.outputs.map { "'\($0.name)'" }.joined(separator: ", "))")
        }
        let outputs = try await served.infer(inferenceRequest.tensorsByName)

        // Requested outputs (all when none named), in the model's order.
        let wanted = inferenceRequest.outputs.isEmpty ? nil : Set(inferenceRequest.outputs.map(\.name))
        var named: [NamedTensor] = []
        for s in served.metadata.outputs where wanted?.contains(s.name) ?? true {
            if let t = outputs[s.name] { named.append(NamedTensor(name: s.name, tensor: t)) }
        }
        var binary = Set<String>()
        let allBinary = inferenceRequest.parameters["binary_data_output"] == .bool(true)
        for s in named.map(\.name) {
            let asked = inferenceRequest.outputs.first { $0.name == s }?.parameters["binary_data"]
            if asked == .bool(true) || (allBinary && asked != .bool(false)) { binary.insert(s) }
        }
        let response = InferenceResponse(modelName: name, modelVersion: served.version, id: inferenceRequest.id, outputs: named)
        let (bytes, header) = V2BinaryCodec.encodeResponse(response, binaryOutputs: binary)
        var fields: HTTPFields = [.contentType: header == nil ? "application/json" : "application/octet-stream"]
        if let header { fields[Self.headerLength] = String(header) }
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Reading request bodies with Keel's size limit and error.
enum RequestBody {
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw KeelError(.payloadTooLarge, "request body of \(length) bytes exceeds the limit of \(limit) bytes")
        }
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw KeelError(.payloadTooLarge, "request body exceeds the limit of \(limit) bytes")
        }
    }
}
