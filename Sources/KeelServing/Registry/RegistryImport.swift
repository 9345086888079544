import Foundation
import KeelCore
import KeelEngine
import KeelRegistry
import KeelStore

/// Reads a model file before it enters the registry: it must load, and its format and
/// input/output signature are recorded with the version; a feature schema must parse and fit.
public enum RegistryImport {
    /// Builds a `NewVersion` from a model file, refusing files the engine cannot load.
    public static func inspect(model: String, bytes: [UInt8], filename: String, configYAML: String?, loader: ModelLoader = ModelLoader()) throws(KeelError) -> NewVersion {
        let loaded = try loader.load(ModelArtifact(bytes: bytes, filename: filename))
        let meta = loaded.metadata
        if let configYAML {
            let config = try ModelConfig.parse(yaml: configYAML, source: "schema of \(model)")
            if let schema = config.featureSchema, schema.layout == .vector,
               let input = meta.inputs.first(where: { $0.name == schema.inputName }), let width = input.shape.last,
               width >= 0, width != schema.width {
                throw KeelError.invalidModel("feature schema makes \(schema.width) columns in '\(schema.inputName)', but the model expects \(Tensor.describe(input.shape))")
            }
        }
        var new = NewVersion(model: model, bytes: bytes, filename: filename, format: meta.format.rawValue, signature: signatureJSON(meta))
        new.configYAML = configYAML
        return new
    }

    static func signatureJSON(_ meta: ModelMetadata) -> String {
        func sig(_ s: TensorSignature) -> JSONValue {
            .object(["name": .string(s.name), "datatype": .string(s.dataType.rawValue), "shape": .array(s.shape.map { .number(Double($0)) })])
        }
        var object: [String: JSONValue] = ["inputs": .array(meta.inputs.map(sig)), "outputs": .array(meta.outputs.map(sig))]
        if !meta.classLabels.isEmpty { object["class_labels"] = .array(meta.classLabels.map { .string($0) }) }
        if let names = meta.featureNames { object["feature_names"] = .array(names.map { .string($0) }) }
        var w = JSONWriter()
        w.value(.object(object))
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
