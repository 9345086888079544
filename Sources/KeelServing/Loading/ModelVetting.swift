import KeelCore
import KeelEngine

/// What a model version must pass before it may serve: it loads, its configuration fits it
/// (feature schema width and types, labels, positive class), and one warm-up inference on a
/// zero-filled row succeeds. The same checks run at registration, on alias moves, at startup
/// and for repository models, so a version that passed once cannot fail later on them.
public enum ModelVetting {
    /// Largest element count of one warm-up row; a model declaring more is refused.
    public static let maxWarmUpElements = 1 << 24

    /// Loads, checks and warms up a model file (synchronous: run it inside `BoundedCall`).
    public static func vet(
        bytes: [UInt8], filename: String, config: ModelConfig, loader: ModelLoader = ModelLoader(), what: String
    ) throws(KeelError) -> any LoadedModel {
        let model = try loader.load(ModelArtifact(bytes: bytes, filename: filename))
        try check(model: model, config: config, what: what)
        do {
            _ = try model.infer(try warmUpInputs(model.metadata))
        } catch {
            throw KeelError(.invalidModel, "\(what) fails its warm-up inference on a zero-filled row: \(error.message)")
        }
        return model
    }

    /// Checks that the serving configuration fits the model.
    public static func check(model: any LoadedModel, config: ModelConfig, what: String) throws(KeelError) {
        let meta = model.metadata
        if let schema = config.featureSchema {
            switch schema.layout {
            case .vector:
                guard let input = meta.inputs.first(where: { $0.name == schema.inputName }) else {
                    throw .invalidModel("\(what): the feature schema fills input '\(schema.inputName)', but the model's inputs are \(names(meta.inputs))")
                }
                guard input.dataType == .fp32 else {
                    throw .invalidModel("\(what): the feature schema makes FP32 columns, but input '\(input.name)' is \(input.dataType.rawValue)")
                }
                guard input.shape.count == 2, let width = input.shape.last, width == schema.width || width < 0 else {
                    throw .invalidModel("\(what): the feature schema makes \(schema.width) columns in '\(schema.inputName)', but the model expects \(Tensor.describe(input.shape))")
                }
            case .perField:
                for input in meta.inputs {
                    guard let field = schema.fields.first(where: { $0.name == input.name }) else {
                        throw .invalidModel("\(what): model input '\(input.name)' has no field in the per-field feature schema")
                    }
                    let expected: DataType
                    switch field.kind {
                    case .number, .indicator: expected = .fp32
                    case .integer: expected = .int64
                    case .string, .oneHot: expected = .bytes
                    }
                    guard input.dataType == expected else {
                        throw .invalidModel("\(what): field '\(field.name)' (\(field.kind.rawValue)) makes \(expected.rawValue), but input '\(input.name)' is \(input.dataType.rawValue)")
                    }
                }
            }
        }
        let classes = classCount(meta)
        if let labels = config.labels, let classes, labels.count != classes {
            throw .invalidModel("\(what): config lists \(labels.count) labels, but the model has \(classes) classes")
        }
        if let positive = config.positiveClass {
            let count = classes ?? config.labels?.count
            guard positive >= 0, count.map({ positive < $0 }) ?? true else {
                throw .invalidModel("\(what): positive_class \(positive) is out of range for \(count.map(String.init) ?? "the") classes")
            }
        }
        try VersionResilience.check(config: config, metadata: meta, what: what)
    }

    /// Number of classes from a fixed-width `[N, C]` probability output, if the model has one.
    static func classCount(_ meta: ModelMetadata) -> Int? {
        let probabilities = meta.outputs.first { $0.name == "probabilities" }
            ?? meta.outputs.first { $0.name.lowercased().contains("prob") && $0.dataType == .fp32 && $0.shape.count == 2 }
        guard let p = probabilities, p.shape.count == 2, let c = p.shape.last, c > 0 else { return nil }
        return c
    }

    private static func names(_ s: [TensorSignature]) -> String {
        s.map { "'\($0.name)'" }.joined(separator: ", ")
    }

    /// Zero-filled inputs of one row, for warm-up; refuses signatures whose row is absurdly large.
    public static func warmUpInputs(_ meta: ModelMetadata) throws(KeelError) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for s in meta.inputs {
            let shape = s.shape.enumerated().map { $0.offset == 0 && $0.element < 0 ? 1 : max($0.element, 1) }
            guard let n = Tensor.checkedElementCount(shape), n <= maxWarmUpElements else {
                throw .invalidModel("input '\(s.name)' declares shape \(Tensor.describe(s.shape)); one row may hold at most \(maxWarmUpElements) elements")
            }
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
            out[s.name] = try Tensor(shape: shape, data: data)
        }
        return out
    }
}
