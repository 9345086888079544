import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelEngine
import KeelRegistry
import KeelServer
import KeelServing
import KeelTestSupport
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
            requestTimeout: .seconds(60))
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

/// API keys of every role, for tests of routes that need one.
struct TestKeys {
    var admin: String
    var deployer: String
    var predictor: String
    var viewer: String

    /// A key of each role weaker than `role` would need to be refused: the next one down.
    func weaker(than role: Role) -> String? {
        switch role {
        case .admin: return deployer
        case .deployer: return predictor
        case .predictor: return viewer
        case .viewer: return nil
        }
    }

    func key(_ role: Role) -> String {
        switch role {
        case .admin: return admin
        case .deployer: return deployer
        case .predictor: return predictor
        case .viewer: return viewer
        }
    }

    static func make(_ registry: Registry) async throws -> TestKeys {
        let root = Principal.system
        guard let admin = try await registry.keys.bootstrapAdmin(environmentKey: nil) else {
            throw KeelError(.internal, "registry already has keys")
        }
        return TestKeys(
            admin: admin,
            deployer: try await registry.keys.create(name: "ci", role: .deployer, by: root).secret,
            predictor: try await registry.keys.create(name: "app", role: .predictor, by: root).secret,
            viewer: try await registry.keys.create(name: "dash", role: .viewer, by: root).secret)
    }
}

extension TestServer {
    /// A server over the repository's models with a registry and keys of every role.
    static func secured(
        _ manager: ModelManager, configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> (app: some ApplicationProtocol, built: KeelRouter, registry: Registry, keys: TestKeys) {
        let (app, built, registry, keys, _) = try await securedWithJobs(manager, configure: configure)
        return (app, built, registry, keys)
    }

    /// `secured`, with the batch-job runtime (its worker is driven by the test, not started).
    static func securedWithJobs(
        _ manager: ModelManager, configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> (app: some ApplicationProtocol, built: KeelRouter, registry: Registry, keys: TestKeys, jobs: JobsRuntime) {
        let registry = try await TestRegistry.make(.sqlite)
        let keys = try await TestKeys.make(registry)
        var configuration = ServerConfiguration()
        configuration.maxBodyBytes = 8 << 20
        configuration.dataDirectory = TestStores.temporaryDirectory()
        configure(&configuration)
        let jobs = try JobsRuntime(registry: registry, manager: manager, follower: nil, monitoring: nil, configuration: configuration, logger: Logger(label: "test"))
        let built = KeelApplication.build(manager: manager, configuration: configuration, registry: registry, jobs: jobs)
        return (Application(router: built.router), built, registry, keys, jobs)
    }

    static func bearer(_ key: String?, json: Bool = true) -> HTTPFields {
        var h: HTTPFields = json ? [.contentType: "application/json"] : [:]
        if let key { h[.authorization] = "Bearer \(key)" }
        return h
    }
}
