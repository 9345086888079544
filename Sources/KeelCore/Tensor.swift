/// Typed element storage of a tensor, one case per v2 datatype.
///
/// FP16 is kept as raw IEEE half-precision bit patterns so it works on every platform.
public enum TensorData: Sendable, Equatable {
    case bool([Bool])
    case int8([Int8])
    case int16([Int16])
    case int32([Int32])
    case int64([Int64])
    case uint8([UInt8])
    case uint16([UInt16])
    case uint32([UInt32])
    case uint64([UInt64])
    case fp16([UInt16])
    case fp32([Float])
    case fp64([Double])
    case bytes([[UInt8]])

    public var dataType: DataType {
        switch self {
        case .bool: return .bool
        case .int8: return .int8
        case .int16: return .int16
        case .int32: return .int32
        case .int64: return .int64
        case .uint8: return .uint8
        case .uint16: return .uint16
        case .uint32: return .uint32
        case .uint64: return .uint64
        case .fp16: return .fp16
        case .fp32: return .fp32
        case .fp64: return .fp64
        case .bytes: return .bytes
        }
    }

    public var count: Int {
        switch self {
        case .bool(let v): return v.count
        case .int8(let v): return v.count
        case .int16(let v): return v.count
        case .int32(let v): return v.count
        case .int64(let v): return v.count
        case .uint8(let v): return v.count
        case .uint16(let v): return v.count
        case .uint32(let v): return v.count
        case .uint64(let v): return v.count
        case .fp16(let v): return v.count
        case .fp32(let v): return v.count
        case .fp64(let v): return v.count
        case .bytes(let v): return v.count
        }
    }
}

/// An n-dimensional array: a shape and typed, row-major storage whose element count matches it.
public struct Tensor: Sendable, Equatable {
    public let shape: [Int]
    public let data: TensorData

    /// Creates a tensor, checking that the shape is non-negative and matches the element count.
    public init(shape: [Int], data: TensorData) throws(KeelError) {
        if let bad = shape.first(where: { $0 < 0 }) {
            throw .invalidInput("shape \(Tensor.describe(shape)) has negative dimension \(bad)")
        }
        guard let expected = Tensor.checkedElementCount(shape), expected == data.count else {
            throw .invalidInput(
                "shape \(Tensor.describe(shape)) needs \(Tensor.checkedElementCount(shape).map(String.init) ?? "too many") elements, got \(data.count)")
        }
        self.shape = shape
        self.data = data
    }

    /// Creates a tensor whose shape is known to match (internal producers such as runtimes).
    public init(unchecked shape: [Int], data: TensorData) {
        // Request decoders use the throwing initializer; only internal producers come here.
        precondition(Tensor.checkedElementCount(shape) == data.count, "tensor shape/data mismatch")
        self.shape = shape
        self.data = data
    }

    public var dataType: DataType { data.dataType }
    public var count: Int { data.count }

    /// FP32 elements, or nil if the tensor holds another type.
    public var floats: [Float]? {
        if case .fp32(let v) = data { return v }
        return nil
    }

    /// INT64 elements, or nil if the tensor holds another type.
    public var int64s: [Int64]? {
        if case .int64(let v) = data { return v }
        return nil
    }

    /// Product of the dimensions (1 for a scalar), or nil when it overflows or a dimension is negative — for
    /// shapes that come from requests.
    public static func checkedElementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// Product of the dimensions of a shape already known to be valid (it traps on overflow:
    /// use `checkedElementCount` for anything that came from outside).
    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1, *)
    }

    /// `[2,3]`-style text for error messages.
    public static func describe(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ",") + "]"
    }
}
