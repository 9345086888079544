import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelEngine
import KeelServer
import KeelServing
import Logging

/// Builds an in-process Keel app over the repository's `models/` folder plus test models.
enum TestServer {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let models = root.appendingPathComponent("models")

    static func manager(repository: URL? = models) async throws -> ModelManager {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let manager = ModelManager(
            repository: repository.map { ModelRepository(directory: $0) }, metrics: ServingMetrics(), logger: logger,
            queueTimeout: .seconds(5))
        await manager.loadAll()
        return manager
    }

    static func app(_ manager: ModelManager, maxBodyBytes: Int = 1 << 20) -> some ApplicationProtocol {
        var configuration = ServerConfiguration()
        configuration.maxBodyBytes = maxBodyBytes
        return Application(router: KeelApplication.router(manager: manager, configuration: configuration))
    }

    static func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static func json(_ response: TestResponse) throws -> JSONValue {
        try JSONParser.parse(Array(buffer: response.body), errorCode: .invalidInput)
    }

    static func bytes(_ url: URL) throws -> ByteBuffer {
        ByteBuffer(bytes: try Data(contentsOf: url))
    }
}

/// Returns every input as an output of the same name: exercises every datatype end to end.
struct EchoModel: LoadedModel {
    let metadata: ModelMetadata

    init(types: [DataType] = DataType.allCases) {
        let sigs = types.map { TensorSignature(name: "x_\($0.rawValue.lowercased())", dataType: $0, shape: [-1, 2]) }
        metadata = ModelMetadata(format: .onnx, inputs: sigs, outputs: sigs.map { TensorSignature(name: $0.name, dataType: $0.dataType, shape: $0.shape) })
    }

    func infer(_ inputs: [String: Tensor]) throws(KeelError) -> [String: Tensor] { inputs }
}

/// Doubles FP32 rows after a pause, so concurrent requests pile up and get batched.
struct SlowDoubler: LoadedModel {
    let delay: Double
    let metadata = ModelMetadata(
        format: .onnx, inputs: [TensorSignature(name: "x", dataType: .fp32, shape: [-1, 1])],
        outputs: [TensorSignature(name: "y", dataType: .fp32, shape: [-1, 1])])

    func infer(_ inputs: [String: Tensor]) throws(KeelError) -> [String: Tensor] {
        Thread.sleep(forTimeInterval: delay)
        guard let x = inputs["x"], let v = x.floats else { throw .invalidInput("need x") }
        return ["y": Tensor(unchecked: x.shape, data: .fp32(v.map { $0 * 2 }))]
    }
}
