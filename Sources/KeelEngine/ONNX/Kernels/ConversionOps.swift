import Foundation
import KeelCore

/// Returns a fixed tensor (Constant, and folded values).
struct ConstantKernel: ONNXKernel {
    let value: Tensor
    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] { [value] }
}

/// ConstantOfShape: a tensor of the given shape filled with one value.
struct ConstantOfShapeKernel: ONNXKernel {
    let value: Tensor

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let s = try KernelInput.require(inputs, 0, "ConstantOfShape")
        guard let shape = s.data.ints else { throw .invalidInput("ConstantOfShape shape must be INT64") }
        let count = try ShapeMath.count(shape, what: "ConstantOfShape output")
        struct Fill: ElementTransform {
            let count: Int
            func apply<T: ONNXElement>(_ values: [T]) -> [T] { values.isEmpty ? [] : [T](repeating: values[0], count: count) }
        }
        return [try ShapeMath.tensor(shape, try value.data.transform(Fill(count: count)), what: "ConstantOfShape output")]
    }
}

/// Cast between every numeric type, BOOL and STRING, as ONNX Runtime converts.
struct CastKernel: ONNXKernel {
    let to: DataType?
    /// CastLike takes the target type from its second input.
    let likeInput: Bool

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Cast")
        var target = to
        if likeInput { target = try KernelInput.require(inputs, 1, "CastLike").dataType }
        guard let target else { throw .invalidInput("Cast has no target type") }
        return [Tensor(unchecked: x.shape, data: try Self.convert(x.data, to: target))]
    }

    static func convert(_ data: TensorData, to target: DataType) throws(KeelError) -> TensorData {
        if data.dataType == target { return data }
        if target == .bytes { return .bytes(strings(data)) }
        if case .bytes(let s) = data { return try parse(s, to: target) }
        // Floats go through Double exactly; integers keep full 64-bit precision.
        switch data {
        case .int64(let v): return fromInt64(v, to: target)
        case .uint64(let v) where target != .fp32 && target != .fp64 && target != .fp16:
            return fromInt64(v.map { Int64(bitPattern: $0) }, to: target)
        default: break
        }
        guard let d = data.doubles else { throw .invalidInput("Cast from \(data.dataType.rawValue) is not supported") }
        return fromDoubles(d, to: target, sourceIsFloat: data.dataType == .fp32 || data.dataType == .fp64 || data.dataType == .fp16)
    }

    private static func fromInt64(_ v: [Int64], to target: DataType) -> TensorData {
        switch target {
        case .int64: return .int64(v)
        case .int32: return .int32(v.map { Int32(truncatingIfNeeded: $0) })
        case .int16: return .int16(v.map { Int16(truncatingIfNeeded: $0) })
        case .int8: return .int8(v.map { Int8(truncatingIfNeeded: $0) })
        case .uint64: return .uint64(v.map { UInt64(bitPattern: $0) })
        case .uint32: return .uint32(v.map { UInt32(truncatingIfNeeded: $0) })
        case .uint16: return .uint16(v.map { UInt16(truncatingIfNeeded: $0) })
        case .uint8: return .uint8(v.map { UInt8(truncatingIfNeeded: $0) })
        case .bool: return .bool(v.map { $0 != 0 })
        case .fp32: return .fp32(v.map { Float($0) })
        case .fp64: return .fp64(v.map { Double($0) })
        case .fp16: return .fp16(v.map { HalfFloat.bits(from: Float($0)) })
        case .bytes: return .bytes(v.map { Array(String($0).utf8) })
        }
    }

    /// x86 semantics for float → integer: truncate; NaN and out-of-range give the minimum.
    private static func toInt64(_ x: Double) -> Int64 {
        // [-2^63, 2^63) converts; anything else (including -9.25e18, below Int64.min) saturates.
        guard x.isFinite, x >= -0x1p63, x < 0x1p63 else { return Int64.min }
        return Int64(x.rounded(.towardZero))
    }

    private static func fromDoubles(_ d: [Double], to target: DataType, sourceIsFloat: Bool) -> TensorData {
        switch target {
        case .fp32: return .fp32(d.map { Float($0) })
        case .fp64: return .fp64(d)
        case .fp16: return .fp16(d.map { HalfFloat.bits(from: Float($0)) })
        case .bool: return .bool(d.map { $0 != 0 })
        case .int64: return .int64(d.map(toInt64))
        case .int32: return .int32(d.map { x in
            guard x.isFinite, x > -2.2e9, x < 2.2e9 else { return Int32.min }
            return Int32(truncatingIfNeeded: Int64(x.rounded(.towardZero)))
        })
        case .int16: return .int16(d.map { Int16(truncatingIfNeeded: toInt64($0)) })
        case .int8: return .int8(d.map { Int8(truncatingIfNeeded: toInt64($0)) })
        case .uint8: return .uint8(d.map { UInt8(truncatingIfNeeded: toInt64($0)) })
        case .uint16: return .uint16(d.map { UInt16(truncatingIfNeeded: toInt64($0)) })
        case .uint32: return .uint32(d.map { UInt32(truncatingIfNeeded: toInt64($0)) })
        case .uint64: return .uint64(d.map { UInt64(bitPattern: toInt64($0)) })
        case .bytes: return .bytes([])
        }
    }

    /// Numbers to text as ONNX Runtime prints them (shortest round-trip form; NaN, INF, -INF).
    static func strings(_ data: TensorData) -> [[UInt8]] {
        func real(_ x: Double, _ isFloat: Bool) -> [UInt8] {
            if x.isNaN { return Array("NaN".utf8) }
            if x.isInfinite { return Array((x < 0 ? "-INF" : "INF").utf8) }
            let text = isFloat ? String(format: "%.8g", x) : String(format: "%.17g", x)
            return Array(text.utf8)
        }
        switch data {
        case .fp32(let v): return v.map { real(Double($0), true) }
        case .fp64(let v): return v.map { real($0, false) }
        case .fp16(let v): return v.map { real(Double(HalfFloat.float(fromBits: $0)), true) }
        case .bool(let v): return v.map { Array(($0 ? "1" : "0").utf8) }
        case .bytes(let v): return v
        case .int64(let v): return v.map { Array(String($0).utf8) }
        case .uint64(let v): return v.map { Array(String($0).utf8) }
        default: return (data.doubles ?? []).map { Array(String(Int64($0)).utf8) }
        }
    }

    private static func parse(_ s: [[UInt8]], to target: DataType) throws(KeelError) -> TensorData {
        var values: [Double] = []
        values.reserveCapacity(s.count)
        var ints: [Int64] = []
        let integer = ![DataType.fp32, .fp64, .fp16, .bool].contains(target)
        for raw in s {
            let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if integer, let i = Int64(text) { ints.append(i); continue }
            let lower = text.lowercased()
            let d: Double?
            switch lower {
            case "nan", "-nan": d = .nan
            case "inf", "+inf", "infinity": d = .infinity
            case "-inf", "-infinity": d = -.infinity
            default: d = Double(text)
            }
            guard let d else {
                throw .invalidInput("cannot convert string '\(text.prefix(40))' to \(target.rawValue): expected a number")
            }
            if integer { ints.append(toInt64(d)) } else { values.append(d) }
        }
        return integer ? fromInt64(ints, to: target) : fromDoubles(values, to: target, sourceIsFloat: true)
    }
}

enum ConversionOps {
    static let registrations: [KernelRegistration] = [
        KernelRegistration(KernelRegistry.defaultDomain, "Cast", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            guard let code = try ctx.attributes.int("to") else { throw .invalidModel("\(ctx.label) needs the 'to' attribute") }
            guard let type = ONNXDataType.dataType(code: code) else {
                throw .unsupported("\(ctx.label) casts to \(ONNXDataType.onnxName(code: code)), which Keel does not run")
            }
            return CompiledNode(kernel: CastKernel(to: type, likeInput: false), outputs: [ValueInfo(type, ctx.input(0)?.shape)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "CastLike", 15...23) { ctx throws(KeelError) in
            try ctx.requireInputs(2...2)
            let kernel = CastKernel(to: ctx.type(1), likeInput: ctx.type(1) == nil)
            return CompiledNode(kernel: kernel, outputs: [ValueInfo(ctx.type(1), ctx.input(0)?.shape)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Constant", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(0...0)
            let a = ctx.attributes
            let value: Tensor
            if let t = try a.tensor("value") {
                value = t
            } else if let f = try a.float("value_float") {
                value = Tensor(unchecked: [], data: .fp32([f]))
            } else if let f = try a.floats("value_floats") {
                value = Tensor(unchecked: [f.count], data: .fp32(f))
            } else if let i = try a.int64s("value_ints") {
                value = Tensor(unchecked: [i.count], data: .int64(i))
            } else if a.has("value_int"), let i = try a.int("value_int") {
                value = Tensor(unchecked: [], data: .int64([Int64(i)]))
            } else if let s = try a.string("value_string") {
                value = Tensor(unchecked: [], data: .bytes([Array(s.utf8)]))
            } else if let s = try a.strings("value_strings") {
                value = Tensor(unchecked: [s.count], data: .bytes(s))
            } else {
                throw .unsupported("\(ctx.label) has no supported value attribute (sparse constants are not supported)")
            }
            return CompiledNode(kernel: ConstantKernel(value: value), outputs: [ValueInfo(value.dataType, value.shape)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "ConstantOfShape", 9...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            var value = Tensor(unchecked: [1], data: .fp32([0]))
            if let t = try ctx.attributes.tensor("value") {
                guard t.count == 1 else { throw .invalidModel("\(ctx.label): 'value' must hold one element") }
                value = t
            }
            return CompiledNode(kernel: ConstantOfShapeKernel(value: value), outputs: [ValueInfo(value.dataType, nil)])
        },
    ]
}
