import KeelCore
import KeelEngine
import KeelMonitoring

extension OutputProfile {
    /// How monitoring reads a served version: its probability (or prediction) output, labels,
    /// positive class, feature schema and the FP32 input logged as encoded rows.
    public static func of(metadata meta: ModelMetadata, config: ModelConfig, classLabels: [String]) -> OutputProfile {
        let probability = meta.outputs.first { $0.name == "probabilities" && $0.dataType == .fp32 && $0.shape.count == 2 }
            ?? meta.outputs.first { $0.name.lowercased().contains("prob") && $0.dataType == .fp32 && $0.shape.count == 2 }
        let schema = config.featureSchema
        var vector: String?
        if let schema, schema.layout == .vector {
            vector = schema.inputName
        } else if meta.inputs.count == 1, let only = meta.inputs.first, only.dataType == .fp32, only.shape.count == 2 {
            vector = only.name
        }
        if let probability {
            let classes = probability.shape[1] > 0 ? probability.shape[1] : classLabels.count
            let task: Task = classes == 2 ? .binary : (classes > 2 ? .multiclass : .unknown)
            return OutputProfile(
                task: task, probabilities: probability.name, classLabels: classLabels,
                positiveClass: config.positiveClass ?? (classes == 2 ? 1 : 0), schema: schema, vectorInput: vector)
        }
        let regression = meta.outputs.first { $0.dataType == .fp32 && ($0.shape.count == 1 || ($0.shape.count == 2 && $0.shape[1] == 1)) }
        return OutputProfile(
            task: regression == nil ? .unknown : .regression, prediction: regression?.name, classLabels: classLabels, schema: schema,
            vectorInput: vector)
    }
}
