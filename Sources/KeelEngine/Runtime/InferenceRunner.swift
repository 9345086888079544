import KeelCore

/// Runs a v2 `InferenceRequest` on a loaded model: checks inputs, selects requested outputs
/// in model order, echoes the id.
public enum InferenceRunner {
    public static func run(
        _ model: any LoadedModel, request: InferenceRequest, modelName: String, modelVersion: String? = nil
    ) throws(KeelError) -> InferenceResponse {
        let known = Set(model.metadata.outputs.map(\.name))
        for output in request.outputs where !known.contains(output.name) {
            throw .invalidInput("unknown output '\(output.name)'; model outputs are \(model.metadata.outputs.map { "'\($0.name)'" }.joined(separator: ", "))")
        }
        let results = try model.infer(request.tensorsByName)
        let wanted = request.outputs.isEmpty ? nil : Set(request.outputs.map(\.name))
        var outputs: [NamedTensor] = []
        for signature in model.metadata.outputs where wanted?.contains(signature.name) ?? true {
            guard let tensor = results[signature.name] else { continue }
            outputs.append(NamedTensor(name: signature.name, tensor: tensor))
        }
        return InferenceResponse(modelName: modelName, modelVersion: modelVersion, id: request.id, outputs: outputs)
    }
}
