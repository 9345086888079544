import ArgumentParser
import Foundation
import KeelCore
import KeelEngine

/// `keel inspect`: load a model file and print its metadata as JSON; exit 1 naming the
/// problem when the file is not a model Keel can load.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Load a model file and print its metadata (format, inputs, outputs, class labels, properties) as JSON."
    )

    @Option(name: .long, help: "Model file (.json/.ubj XGBoost, .txt LightGBM, .onnx).")
    var model: String

    func run() throws {
        let loaded: any LoadedModel
        do {
            loaded = try CommandSupport.loadModel(model)
        } catch let error as KeelError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
        var writer = JSONWriter()
        writer.value(Self.describe(loaded.metadata))
        FileHandle.standardOutput.write(Data(writer.bytes + [0x0A]))
    }

    /// The metadata as a JSON document.
    static func describe(_ metadata: ModelMetadata) -> JSONValue {
        func signatures(_ list: [TensorSignature]) -> JSONValue {
            .array(list.map { s in
                .object(["name": .string(s.name), "datatype": .string(s.dataType.rawValue), "shape": .ints(s.shape.map { Int64($0) })])
            })
        }
        var document: [String: JSONValue] = [
            "format": .string(metadata.format.rawValue),
            "platform": .string(metadata.format.platform),
            "inputs": signatures(metadata.inputs),
            "outputs": signatures(metadata.outputs),
            "class_labels": .array(metadata.classLabels.map { .string($0) }),
            "properties": .object(metadata.properties.mapValues { .string($0) }),
        ]
        if let names = metadata.featureNames { document["feature_names"] = .array(names.map { .string($0) }) }
        return .object(document)
    }
}
