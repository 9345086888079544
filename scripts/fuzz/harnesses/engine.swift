import KeelCore
import KeelEngine

/// Loads `bytes` in `format` and, when that succeeds, runs one inference on zero-filled
/// inputs of the declared signature (variable dimensions as 1), as warm-up does.
func loadAndInfer(_ bytes: [UInt8], format: ModelFormat) {
    let model: any LoadedModel
    do {
        switch format {
        case .onnx: model = try ONNXModel(bytes: bytes)
        default: model = try TreeRuntime().load(ModelArtifact(bytes: bytes, format: format), format: format)
        }
    } catch {
        return
    }
    var inputs: [String: Tensor] = [:]
    for s in model.metadata.inputs {
        let shape = s.shape.map { $0 < 0 ? 1 : $0 }
        guard let n = Tensor.checkedElementCount(shape), n <= 1 << 20 else { return }
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
        guard let t = try? Tensor(shape: shape, data: data) else { return }
        inputs[s.name] = t
    }
    _ = try? model.infer(inputs)
}
