import Foundation
import KeelCore
import SwiftProtobuf

/// Parses ONNX bytes into the protobuf model and checks the envelope (IR version, graph,
/// opset imports) before any graph work.
enum ModelDecoder {
    /// IR versions whose graph semantics Keel follows (3 = ONNX 1.0 … 11+).
    static let supportedIR: ClosedRange<Int64> = 3...14

    static func decode(_ bytes: [UInt8]) throws(KeelError) -> ONNXModelProto {
        guard !bytes.isEmpty else { throw .invalidModel("the ONNX model is empty") }
        let model: ONNXModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            model = try ONNXModelProto(serializedBytes: bytes, options: options)
        } catch {
            throw .invalidModel("not a valid ONNX model: the protobuf bytes are truncated or malformed (\(error)); expected a ModelProto as written by onnx.save_model")
        }
        guard model.hasIrVersion, model.irVersion > 0 else {
            throw .invalidModel("not a valid ONNX model: ir_version is missing; expected a ModelProto as written by onnx.save_model")
        }
        guard model.hasGraph else {
            throw .invalidModel("not a valid ONNX model: it has no graph")
        }
        guard supportedIR.contains(model.irVersion) else {
            throw .unsupported("ONNX IR version \(model.irVersion) is not supported; expected \(supportedIR.lowerBound) to \(supportedIR.upperBound)")
        }
        if model.opsetImport.isEmpty {
            throw .invalidModel("the ONNX model imports no operator set (opset_import is empty)")
        }
        return model
    }

    /// Imported opset version per normalised domain.
    static func opsets(_ model: ONNXModelProto) throws(KeelError) -> [String: Int] {
        var out: [String: Int] = [:]
        for imp in model.opsetImport {
            let domain = KernelRegistry.normalize(domain: imp.domain)
            guard let v = Int(exactly: imp.version), v > 0 else {
                throw .invalidModel("opset import for domain '\(domain)' has invalid version \(imp.version)")
            }
            out[domain] = v
        }
        return out
    }

    /// Static info for a graph input/output's declared type; `nil` type for non-tensor types.
    static func valueInfo(_ v: ONNXValueInfoProto) -> (info: ValueInfo, kind: String) {
        guard v.hasType, let value = v.type.value else { return (.unknown, "unknown") }
        switch value {
        case .tensorType(let t):
            let type = ONNXDataType.dataType(code: Int(t.elemType))
            var shape: [Int]?
            if t.hasShape {
                shape = t.shape.dim.map { d in
                    if case .dimValue(let n)? = d.value, n >= 0, let i = Int(exactly: n) { return i }
                    return -1
                }
            }
            let kind = type == nil ? "tensor(\(ONNXDataType.onnxName(code: Int(t.elemType))))" : "tensor"
            return (ValueInfo(type, shape), kind)
        case .sequenceType: return (.unknown, "sequence")
        case .mapType: return (.unknown, "map")
        case .optionalType: return (.unknown, "optional")
        case .sparseTensorType: return (.unknown, "sparse tensor")
        }
    }
}
