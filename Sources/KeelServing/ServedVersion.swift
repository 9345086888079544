import Foundation
import KeelCore
import KeelEngine

/// One loaded, warmed-up model version with its configuration and batcher.
public final class ServedVersion: Sendable {
    public let modelName: String
    public let version: String
    public let model: any LoadedModel
    public let config: ModelConfig
    public let batcher: DynamicBatcher
    public let metrics: VersionMetrics

    init(modelName: String, version: String, model: any LoadedModel, config: ModelConfig, metrics: VersionMetrics, queueTimeout: Duration) {
        self.modelName = modelName
        self.version = version
        self.model = model
        self.config = config
        self.metrics = metrics
        batcher = DynamicBatcher(
            model: model, maxBatchSize: config.maxBatchSize,
            maxQueueDelay: .microseconds(config.maxQueueDelayMicroseconds),
            instances: config.instanceCount, queueTimeout: queueTimeout, metrics: metrics)
    }

    public var metadata: ModelMetadata { model.metadata }

    /// Class labels: the config's, else the model's own.
    public var classLabels: [String] {
        config.labels ?? model.metadata.classLabels
    }

    /// Runs a request through the batcher, recording request metrics.
    public func infer(_ inputs: [String: Tensor]) async throws(KeelError) -> [String: Tensor] {
        let t0 = ContinuousClock.now
        metrics.inFlight.increment()
        defer { metrics.inFlight.decrement() }
        do {
            try validate(inputs)
            let out = try await batcher.infer(inputs)
            metrics.successes.increment()
            metrics.rows.increment(by: Int64(inputs.values.first?.shape.first ?? 0))
            metrics.requestDuration.recordInterval(ContinuousClock.now - t0)
            return out
        } catch {
            metrics.failure(reason: error.code.rawValue)
            throw error
        }
    }

    /// Checks names, datatypes and shapes against the signature before a request can join a
    /// batch, so one malformed request never fails a batch.
    func validate(_ inputs: [String: Tensor]) throws(KeelError) {
        let signatures = model.metadata.inputs
        for name in inputs.keys.sorted() where !signatures.contains(where: { $0.name == name }) {
            throw .invalidInput("unknown input '\(name)'; model '\(modelName)' expects \(signatures.map { "'\($0.name)'" }.joined(separator: ", "))")
        }
        for signature in signatures {
            guard let tensor = inputs[signature.name] else {
                throw .invalidInput("missing input '\(signature.name)' (\(signature.dataType.rawValue) \(Tensor.describe(signature.shape)))")
            }
            try signature.validate(tensor)
        }
    }

    /// Zero-filled inputs of one row, for warm-up.
    func warmUpInputs() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for s in model.metadata.inputs {
            let shape = s.shape.enumerated().map { $0.offset == 0 && $0.element < 0 ? 1 : max($0.element, 1) }
            let n = Tensor.elementCount(shape)
            let data: TensorData
            switch s.dataType {
            case .bool: data = .bool(Array(repeating: false, count: n))
            case .int8: data = .int8(Array(repeating: 0, count: n))
            case .int16: data = .int16(Array(repeating: 0, count: n))
            case .int32: data = .int32(Array(repeating: 0, count: n))
            case .int64: data = .int64(Array(repeating: 0, count: n))
            case .uint8: data = .uint8(Array(repeating: 0, count: n))
            case .uint16: data = .uint16(Array(repeating: 0, count: n))
            case .uint32: data = .uint32(Array(repeating: 0, count: n))
            case .uint64: data = .uint64(Array(repeating: 0, count: n))
            case .fp16: data = .fp16(Array(repeating: 0, count: n))
            case .fp32: data = .fp32(Array(repeating: 0, count: n))
            case .fp64: data = .fp64(Array(repeating: 0, count: n))
            case .bytes: data = .bytes(Array(repeating: [], count: n))
            }
            out[s.name] = Tensor(unchecked: shape, data: data)
        }
        return out
    }
}
