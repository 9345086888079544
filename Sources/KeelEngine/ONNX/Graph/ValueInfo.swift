import KeelCore

/// What is known at load time about one value of the graph: its element type and shape
/// (-1 for a dimension only known at run time); nil when not known statically.
struct ValueInfo: Sendable, Equatable {
    var dataType: DataType?
    var shape: [Int]?

    init(_ dataType: DataType?, _ shape: [Int]? = nil) {
        self.dataType = dataType
        self.shape = shape
    }

    static let unknown = ValueInfo(nil, nil)

    var rank: Int? { shape?.count }

    /// `FP32 [-1,3]`-style text for error messages.
    var description: String {
        let type = dataType?.rawValue ?? "?"
        guard let shape else { return type }
        return "\(type) " + Tensor.describe(shape)
    }
}

/// ONNX `TensorProto.DataType` codes and their Keel data types.
enum ONNXDataType {
    static func dataType(code: Int) -> DataType? {
        switch code {
        case 1: return .fp32
        case 2: return .uint8
        case 3: return .int8
        case 4: return .uint16
        case 5: return .int16
        case 6: return .int32
        case 7: return .int64
        case 8: return .bytes
        case 9: return .bool
        case 10: return .fp16
        case 11: return .fp64
        case 12: return .uint32
        case 13: return .uint64
        default: return nil
        }
    }

    static func code(_ type: DataType) -> Int {
        switch type {
        case .fp32: return 1
        case .uint8: return 2
        case .int8: return 3
        case .uint16: return 4
        case .int16: return 5
        case .int32: return 6
        case .int64: return 7
        case .bytes: return 8
        case .bool: return 9
        case .fp16: return 10
        case .fp64: return 11
        case .uint32: return 12
        case .uint64: return 13
        }
    }

    /// ONNX's own name for a type code, for messages about types Keel does not run.
    static func onnxName(code: Int) -> String {
        let names = [
            0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32",
            7: "INT64", 8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64",
            14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ",
            19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1",
        ]
        return names[code] ?? "type code \(code)"
    }
}

/// Overflow-checked shape arithmetic: hostile shapes become errors, never traps.
///
/// Every tensor the engine makes passes `count` first, which bounds the product of the
/// shape's non-zero dimensions. So a product over any part of a shape (strides, outer and
/// inner sizes) can never overflow, even for an empty tensor such as [0, 2^40, 2^40].
enum ShapeMath {
    /// Largest element count of one tensor: 2^27 (512 MiB of FP32), documented in docs/onnx.md.
    /// Tabular models are far below it; a request whose values would make a larger tensor
    /// (ConstantOfShape, Expand, broadcasting, Gather, MatMul …) is refused before allocating.
    static let maxElements = 1 << 27

    /// The element limit in force: `maxElements`, lowered while constants are folded at load
    /// to what the load budget has left (bound to the folding call only).
    @TaskLocal static var elementLimit = maxElements

    static func count(_ shape: [Int], what: @autoclosure () -> String) throws(KeelError) -> Int {
        let limit = elementLimit
        var nonZero = 1
        var empty = false
        for d in shape {
            guard d >= 0 else { throw .invalidInput("\(what()) has negative dimension \(d) in shape \(Tensor.describe(shape))") }
            if d == 0 { empty = true; continue }
            let (p, overflow) = nonZero.multipliedReportingOverflow(by: d)
            guard !overflow, p <= limit else {
                throw .invalidInput("\(what()) shape \(Tensor.describe(shape)) has too many elements (limit \(limit))")
            }
            nonZero = p
        }
        return empty ? 0 : nonZero
    }

    /// A tensor whose shape `count` accepts and whose data matches it; errors instead of the
    /// trap `Tensor(unchecked:)` would hit on a mismatch.
    static func tensor(_ shape: [Int], _ data: TensorData, what: @autoclosure () -> String) throws(KeelError) -> Tensor {
        let n = try count(shape, what: what())
        guard n == data.count else {
            throw KeelError(.internal, "\(what()) has shape \(Tensor.describe(shape)) but \(data.count) values")
        }
        return Tensor(unchecked: shape, data: data)
    }

    /// Normalises a possibly negative axis against a rank.
    static func axis(_ axis: Int, rank: Int, what: @autoclosure () -> String) throws(KeelError) -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < max(rank, 1) || (rank == 0 && a == 0) else {
            throw .invalidModel("\(what()): axis \(axis) is out of range for rank \(rank)")
        }
        return a
    }
}
