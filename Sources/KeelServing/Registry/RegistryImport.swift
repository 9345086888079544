import Foundation
import KeelCore
import KeelEngine
import KeelRegistry
import KeelStore

/// Reads a model file before it enters the registry: it must load, its configuration must
/// parse and fit it, and it must warm up (see `ModelVetting`); its format and input/output
/// signature are recorded with the version.
public enum RegistryImport {
    /// Builds a `NewVersion` from a model file, refusing files that cannot serve.
    /// Synchronous and unbounded in time: the server calls `admit`, which bounds it.
    public static func inspect(model: String, bytes: [UInt8], filename: String, configYAML: String?, loader: ModelLoader = ModelLoader()) throws(KeelError) -> NewVersion {
        try ResourceName.validate(model, what: "model name")
        guard !bytes.isEmpty else { throw KeelError.invalidInput("the model file is empty") }
        let config = try configYAML.map { (text: String) throws(KeelError) in try ModelConfig.parse(yaml: text, source: "schema of \(model)") } ?? ModelConfig()
        let loaded = try ModelVetting.vet(bytes: bytes, filename: filename, config: config, loader: loader, what: "the new version of '\(model)'")
        var new = NewVersion(model: model, bytes: bytes, filename: filename, format: loaded.metadata.format.rawValue, signature: signatureJSON(loaded.metadata))
        new.configYAML = configYAML
        return new
    }

    /// `inspect` within a time limit: a model that cannot load and warm up in time is refused.
    public static func admit(model: String, bytes: [UInt8], filename: String, configYAML: String?, limit: Duration) async throws(KeelError) -> NewVersion {
        try await BoundedCall.run(limit: limit, what: "loading the new version of '\(model)'") { () throws(KeelError) -> NewVersion in
            try inspect(model: model, bytes: bytes, filename: filename, configYAML: configYAML)
        }
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
