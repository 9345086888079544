import Foundation
import KeelCore

/// A Swift element type stored in one `TensorData` case, so kernels can be written once,
/// generically, and dispatched with a single switch per call (never per element).
protocol ONNXElement: Sendable {
    static var dataType: DataType { get }
    static func unwrap(_ data: TensorData) -> [Self]?
    static func wrap(_ values: [Self]) -> TensorData
}

/// Numeric elements that arithmetic and comparison kernels accept.
protocol ONNXNumeric: ONNXElement, Comparable, Numeric {
    static func converting(_ value: Double) -> Self
    var doubleValue: Double { get }
}

/// Real-valued elements with the math functions ONNX unary ops need.
protocol ONNXReal: ONNXNumeric, BinaryFloatingPoint {
    static func expF(_ x: Self) -> Self
    static func logF(_ x: Self) -> Self
    static func tanhF(_ x: Self) -> Self
    static func erfF(_ x: Self) -> Self
    static func powF(_ x: Self, _ y: Self) -> Self
}

extension Float: ONNXReal {
    static var dataType: DataType { .fp32 }
    static func unwrap(_ data: TensorData) -> [Float]? { if case .fp32(let v) = data { return v }; return nil }
    static func wrap(_ values: [Float]) -> TensorData { .fp32(values) }
    static func converting(_ value: Double) -> Float { Float(value) }
    var doubleValue: Double { Double(self) }
    @inline(__always) static func expF(_ x: Float) -> Float { Foundation.exp(x) }
    @inline(__always) static func logF(_ x: Float) -> Float { Foundation.log(x) }
    @inline(__always) static func tanhF(_ x: Float) -> Float { Foundation.tanh(x) }
    @inline(__always) static func erfF(_ x: Float) -> Float { Foundation.erf(x) }
    @inline(__always) static func powF(_ x: Float, _ y: Float) -> Float { Foundation.pow(x, y) }
}

extension Double: ONNXReal {
    static var dataType: DataType { .fp64 }
    static func unwrap(_ data: TensorData) -> [Double]? { if case .fp64(let v) = data { return v }; return nil }
    static func wrap(_ values: [Double]) -> TensorData { .fp64(values) }
    static func converting(_ value: Double) -> Double { value }
    var doubleValue: Double { self }
    @inline(__always) static func expF(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always) static func logF(_ x: Double) -> Double { Foundation.log(x) }
    @inline(__always) static func tanhF(_ x: Double) -> Double { Foundation.tanh(x) }
    @inline(__always) static func erfF(_ x: Double) -> Double { Foundation.erf(x) }
    @inline(__always) static func powF(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
}

/// Integers convert from Double by truncation toward zero, saturating (no trap on NaN/huge).
extension ONNXNumeric where Self: FixedWidthInteger {
    static func converting(_ value: Double) -> Self {
        if value.isNaN { return 0 }
        if value >= Double(Self.max) { return Self.max }
        if value <= Double(Self.min) { return Self.min }
        return Self(value.rounded(.towardZero))
    }
    var doubleValue: Double { Double(self) }
}

extension Int8: ONNXNumeric {
    static var dataType: DataType { .int8 }
    static func unwrap(_ data: TensorData) -> [Int8]? { if case .int8(let v) = data { return v }; return nil }
    static func wrap(_ values: [Int8]) -> TensorData { .int8(values) }
}
extension Int16: ONNXNumeric {
    static var dataType: DataType { .int16 }
    static func unwrap(_ data: TensorData) -> [Int16]? { if case .int16(let v) = data { return v }; return nil }
    static func wrap(_ values: [Int16]) -> TensorData { .int16(values) }
}
extension Int32: ONNXNumeric {
    static var dataType: DataType { .int32 }
    static func unwrap(_ data: TensorData) -> [Int32]? { if case .int32(let v) = data { return v }; return nil }
    static func wrap(_ values: [Int32]) -> TensorData { .int32(values) }
}
extension Int64: ONNXNumeric {
    static var dataType: DataType { .int64 }
    static func unwrap(_ data: TensorData) -> [Int64]? { if case .int64(let v) = data { return v }; return nil }
    static func wrap(_ values: [Int64]) -> TensorData { .int64(values) }
}
extension UInt8: ONNXNumeric {
    static var dataType: DataType { .uint8 }
    static func unwrap(_ data: TensorData) -> [UInt8]? { if case .uint8(let v) = data { return v }; return nil }
    static func wrap(_ values: [UInt8]) -> TensorData { .uint8(values) }
}
extension UInt16: ONNXNumeric {
    static var dataType: DataType { .uint16 }
    static func unwrap(_ data: TensorData) -> [UInt16]? { if case .uint16(let v) = data { return v }; return nil }
    static func wrap(_ values: [UInt16]) -> TensorData { .uint16(values) }
}
extension UInt32: ONNXNumeric {
    static var dataType: DataType { .uint32 }
    static func unwrap(_ data: TensorData) -> [UInt32]? { if case .uint32(let v) = data { return v }; return nil }
    static func wrap(_ values: [UInt32]) -> TensorData { .uint32(values) }
}
extension UInt64: ONNXNumeric {
    static var dataType: DataType { .uint64 }
    static func unwrap(_ data: TensorData) -> [UInt64]? { if case .uint64(let v) = data { return v }; return nil }
    static func wrap(_ values: [UInt64]) -> TensorData { .uint64(values) }
}
extension Bool: ONNXElement {
    static var dataType: DataType { .bool }
    static func unwrap(_ data: TensorData) -> [Bool]? { if case .bool(let v) = data { return v }; return nil }
    static func wrap(_ values: [Bool]) -> TensorData { .bool(values) }
}
extension Array: ONNXElement where Element == UInt8 {
    static var dataType: DataType { .bytes }
    static func unwrap(_ data: TensorData) -> [[UInt8]]? { if case .bytes(let v) = data { return v }; return nil }
    static func wrap(_ values: [[UInt8]]) -> TensorData { .bytes(values) }
}

/// A type-generic operation on a tensor's elements (movement ops: gather, slice, concat…),
/// run through `TensorData.transform` with one switch per call.
protocol ElementTransform {
    func apply<T: ONNXElement>(_ values: [T]) throws(KeelError) -> [T]
}

extension TensorData {
    /// Applies a type-generic transform to whichever typed array this holds.
    func transform(_ t: some ElementTransform) throws(KeelError) -> TensorData {
        switch self {
        case .bool(let a): return .bool(try t.apply(a))
        case .int8(let a): return .int8(try t.apply(a))
        case .int16(let a): return .int16(try t.apply(a))
        case .int32(let a): return .int32(try t.apply(a))
        case .int64(let a): return .int64(try t.apply(a))
        case .uint8(let a): return .uint8(try t.apply(a))
        case .uint16(let a): return .uint16(try t.apply(a))
        case .uint32(let a): return .uint32(try t.apply(a))
        case .uint64(let a): return .uint64(try t.apply(a))
        case .fp16(let a): return .fp16(try t.apply(a))
        case .fp32(let a): return .fp32(try t.apply(a))
        case .fp64(let a): return .fp64(try t.apply(a))
        case .bytes(let a): return .bytes(try t.apply(a))
        }
    }

    /// Elements picked by index (every index must be in range): the core of gather-like ops.
    func gathered(_ indices: [Int]) -> TensorData {
        struct Pick: ElementTransform {
            let indices: [Int]
            func apply<T: ONNXElement>(_ values: [T]) -> [T] { indices.map { values[$0] } }
        }
        // Cannot throw: Pick does not.
        return (try? transform(Pick(indices: indices))) ?? self
    }

    /// Numeric elements widened to Double (nil for BOOL? no: 0/1; nil for BYTES and FP16 stays exact).
    var doubles: [Double]? {
        switch self {
        case .bool(let a): return a.map { $0 ? 1 : 0 }
        case .int8(let a): return a.map(Double.init)
        case .int16(let a): return a.map(Double.init)
        case .int32(let a): return a.map(Double.init)
        case .int64(let a): return a.map(Double.init)
        case .uint8(let a): return a.map(Double.init)
        case .uint16(let a): return a.map(Double.init)
        case .uint32(let a): return a.map(Double.init)
        case .uint64(let a): return a.map(Double.init)
        case .fp16(let a): return a.map { Double(HalfFloat.float(fromBits: $0)) }
        case .fp32(let a): return a.map(Double.init)
        case .fp64(let a): return a
        case .bytes: return nil
        }
    }

    /// Integer elements as Int (for shapes, indices, axes); nil for non-integer types.
    var ints: [Int]? {
        switch self {
        case .int64(let a): return a.map { Int($0) }
        case .int32(let a): return a.map { Int($0) }
        case .int16(let a): return a.map { Int($0) }
        case .int8(let a): return a.map { Int($0) }
        case .uint8(let a): return a.map { Int($0) }
        case .uint16(let a): return a.map { Int($0) }
        case .uint32(let a): return a.map { Int($0) }
        case .uint64(let a): return a.map { Int(clamping: $0) }
        default: return nil
        }
    }

    /// A zero-filled array of a given type and count.
    static func zeros(_ type: DataType, count: Int) -> TensorData {
        switch type {
        case .bool: return .bool(Array(repeating: false, count: count))
        case .int8: return .int8(Array(repeating: 0, count: count))
        case .int16: return .int16(Array(repeating: 0, count: count))
        case .int32: return .int32(Array(repeating: 0, count: count))
        case .int64: return .int64(Array(repeating: 0, count: count))
        case .uint8: return .uint8(Array(repeating: 0, count: count))
        case .uint16: return .uint16(Array(repeating: 0, count: count))
        case .uint32: return .uint32(Array(repeating: 0, count: count))
        case .uint64: return .uint64(Array(repeating: 0, count: count))
        case .fp16: return .fp16(Array(repeating: 0, count: count))
        case .fp32: return .fp32(Array(repeating: 0, count: count))
        case .fp64: return .fp64(Array(repeating: 0, count: count))
        case .bytes: return .bytes(Array(repeating: [], count: count))
        }
    }
}
