import ArgumentParser
import Foundation
import KeelCore
import KeelEngine

/// `keel predict`: run a model file on a v2 request body and print the v2 response.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Run a model file on an Open Inference Protocol v2 request body and print the response."
    )

    @Option(name: .long, help: "Model file (.json/.ubj XGBoost, .txt LightGBM).")
    var model: String

    @Option(name: .long, help: "v2 request body: {\"inputs\":[{\"name\",\"shape\",\"datatype\",\"data\"}]}; '-' reads stdin.")
    var input: String

    func run() throws {
        let loaded = try CommandSupport.loadModel(model)
        let body = try CommandSupport.readInput(input)
        let request = try V2JSONCodec.decodeRequest(body)
        let response = try InferenceRunner.run(loaded, request: request, modelName: CommandSupport.modelName(model))
        FileHandle.standardOutput.write(Data(V2JSONCodec.encodeResponse(response) + [0x0A]))
    }
}

/// Shared helpers of the commands that read model files.
enum CommandSupport {
    static func loadModel(_ path: String) throws -> any LoadedModel {
        let url = URL(fileURLWithPath: path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw KeelError.notFound("cannot read model file '\(path)'")
        }
        return try ModelLoader().load(ModelArtifact(bytes: [UInt8](data), filename: url.lastPathComponent))
    }

    static func readInput(_ path: String) throws -> [UInt8] {
        if path == "-" { return [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeelError.notFound("cannot read input file '\(path)'")
        }
        return [UInt8](data)
    }

    static func modelName(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        // Triton layout <name>/<version>/model.ext: name the model after its folder.
        if stem == "model" {
            let version = url.deletingLastPathComponent()
            if Int(version.lastPathComponent) != nil {
                return version.deletingLastPathComponent().lastPathComponent
            }
        }
        return stem
    }
}
