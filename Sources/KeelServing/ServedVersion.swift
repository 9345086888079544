import Foundation
import KeelCore
import KeelEngine
import KeelMonitoring

/// One loaded, warmed-up model version with its configuration and batcher.
public final class ServedVersion: Sendable {
    public let modelName: String
    public let version: String
    public let model: any LoadedModel
    public let config: ModelConfig
    public let batcher: DynamicBatcher
    public let metrics: VersionMetrics
    /// How monitoring reads this version's outputs.
    public let outputProfile: OutputProfile
    /// The same, laid out for the prediction log once rather than per logged row.
    public let logLayout: LogLayout
    /// Circuit breaker, fallback and prediction cache (each only when configured).
    public let resilience: VersionResilience

    init(modelName: String, version: String, model: any LoadedModel, config: ModelConfig, metrics: VersionMetrics, requestTimeout: Duration) throws(KeelError) {
        self.modelName = modelName
        self.version = version
        self.model = model
        self.config = config
        self.metrics = metrics
        outputProfile = OutputProfile.of(metadata: model.metadata, config: config, classLabels: config.labels ?? model.metadata.classLabels)
        logLayout = LogLayout(profile: outputProfile)
        resilience = try VersionResilience(config: config, metadata: model.metadata, metrics: metrics, what: "\(modelName) version \(version)")
        batcher = DynamicBatcher(
            model: model, maxBatchSize: config.maxBatchSize,
            maxQueueDelay: .microseconds(config.maxQueueDelayMicroseconds),
            instances: config.instanceCount, requestTimeout: requestTimeout, metrics: metrics)
    }

    public var metadata: ModelMetadata { model.metadata }

    /// Class labels: the config's, else the model's own.
    public var classLabels: [String] {
        config.labels ?? model.metadata.classLabels
    }

    /// Runs a request through the batcher, recording request metrics; answers by `deadline`
    /// (default: the server's request timeout from now) or fails with 504.
    public func infer(_ inputs: [String: Tensor], deadline: ContinuousClock.Instant? = nil) async throws(KeelError) -> [String: Tensor] {
        let t0 = ContinuousClock.now
        metrics.inFlight.increment()
        defer { metrics.inFlight.decrement() }
        do {
            try validate(inputs)
            let out = try await batcher.infer(inputs, deadline: deadline)
            metrics.successes.increment()
            metrics.rows.increment(by: Int64(inputs.values.first?.shape.first ?? 0))
            let took = ContinuousClock.now - t0
            metrics.requestDuration.recordInterval(took)
            metrics.statistics.succeeded(after: took, rows: inputs.values.first?.shape.first ?? 0)
            return out
        } catch {
            metrics.failure(reason: error.code.rawValue)
            metrics.statistics.failed(after: ContinuousClock.now - t0)
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
}
