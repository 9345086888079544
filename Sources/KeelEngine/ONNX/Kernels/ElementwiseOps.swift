import Foundation
import KeelCore

/// Arithmetic that never traps: wrapping for integers, IEEE for floats.
protocol ArithmeticElement: ONNXNumeric {
    static func add(_ a: Self, _ b: Self) -> Self
    static func sub(_ a: Self, _ b: Self) -> Self
    static func mul(_ a: Self, _ b: Self) -> Self
    static func div(_ a: Self, _ b: Self) -> Self
    static func pow(_ a: Self, _ b: Double) -> Self
    static var isInteger: Bool { get }
}

extension ArithmeticElement where Self: BinaryFloatingPoint & ONNXReal {
    @inline(__always) static func add(_ a: Self, _ b: Self) -> Self { a + b }
    @inline(__always) static func sub(_ a: Self, _ b: Self) -> Self { a - b }
    @inline(__always) static func mul(_ a: Self, _ b: Self) -> Self { a * b }
    @inline(__always) static func div(_ a: Self, _ b: Self) -> Self { a / b }
    @inline(__always) static func pow(_ a: Self, _ b: Double) -> Self { powF(a, Self(b)) }
    static var isInteger: Bool { false }
}

extension ArithmeticElement where Self: FixedWidthInteger {
    @inline(__always) static func add(_ a: Self, _ b: Self) -> Self { a &+ b }
    @inline(__always) static func sub(_ a: Self, _ b: Self) -> Self { a &- b }
    @inline(__always) static func mul(_ a: Self, _ b: Self) -> Self { a &* b }
    /// Division by zero is rejected before the loop; MIN / -1 wraps instead of trapping.
    @inline(__always) static func div(_ a: Self, _ b: Self) -> Self {
        b == 0 ? 0 : a.dividedReportingOverflow(by: b).partialValue
    }
    @inline(__always) static func pow(_ a: Self, _ b: Double) -> Self { Self.converting(Foundation.pow(Double(a), b)) }
    static var isInteger: Bool { true }
}

extension Float: ArithmeticElement {}
extension Double: ArithmeticElement {}
extension Int32: ArithmeticElement {}
extension Int64: ArithmeticElement {}
extension Int8: ArithmeticElement {}
extension Int16: ArithmeticElement {}
extension UInt8: ArithmeticElement {}
extension UInt16: ArithmeticElement {}
extension UInt32: ArithmeticElement {}
extension UInt64: ArithmeticElement {}

/// The binary arithmetic operators.
enum ArithmeticOp: String, Sendable {
    case add = "Add", sub = "Sub", mul = "Mul", div = "Div", pow = "Pow"
}

/// Add, Sub, Mul, Div and Pow with broadcasting, for every numeric type.
struct BinaryArithmeticKernel: ONNXKernel {
    let op: ArithmeticOp

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let a = try KernelInput.require(inputs, 0, op.rawValue)
        let b = try KernelInput.require(inputs, 1, op.rawValue)
        if op == .pow { return [try power(a, b)] }
        guard a.dataType == b.dataType else {
            throw .invalidInput("\(op.rawValue) needs inputs of one type, got \(a.dataType.rawValue) and \(b.dataType.rawValue)")
        }
        switch (a.data, b.data) {
        case (.fp32(let x), .fp32(let y)):
            if let fast = rowwise(x, a.shape, y, b.shape) { return [fast] }
            return [try compute(x, a.shape, y, b.shape)]
        case (.fp64(let x), .fp64(let y)): return [try compute(x, a.shape, y, b.shape)]
        case (.int64(let x), .int64(let y)): return [try compute(x, a.shape, y, b.shape)]
        case (.int32(let x), .int32(let y)): return [try compute(x, a.shape, y, b.shape)]
        case (.int16(let x), .int16(let y)): return [try compute(x, a.shape, y, b.shape)]
        case (.int8(let x), .int8(let y)): return [try compute(x, a.shape, y, b.shape)]
        case (.uint8(let x), .uint8(let y)): return [try compute(x, a.shape, y, b.shape)]
        case (.uint16(let x), .uint16(let y)): return [try compute(x, a.shape, y, b.shape)]
        case (.uint32(let x), .uint32(let y)): return [try compute(x, a.shape, y, b.shape)]
        case (.uint64(let x), .uint64(let y)): return [try compute(x, a.shape, y, b.shape)]
        default:
            throw .invalidInput("\(op.rawValue) does not accept \(a.dataType.rawValue) inputs")
        }
    }

    /// FP32 `a ∘ b` where `b` is one row applied to every row of `a` (the bias after a MatMul,
    /// a scale or shift): plain loops the compiler vectorises, on a copy of `a` in place.
    private func rowwise(_ x: [Float], _ xs: [Int], _ y: [Float], _ ys: [Int]) -> Tensor? {
        let row = ys.drop(while: { $0 == 1 })
        guard op != .pow, !y.isEmpty, x.count % y.count == 0, row.count <= xs.count,
              row.elementsEqual(xs.suffix(row.count)), ys.count <= xs.count else { return nil }
        var out = x
        out.withUnsafeMutableBufferPointer { o in
            y.withUnsafeBufferPointer { w in
                let width = w.count
                var i = 0
                while i < o.count {
                    switch op {
                    case .add: for j in 0..<width { o[i + j] += w[j] }
                    case .sub: for j in 0..<width { o[i + j] -= w[j] }
                    case .mul: for j in 0..<width { o[i + j] *= w[j] }
                    case .div: for j in 0..<width { o[i + j] /= w[j] }
                    case .pow: break
                    }
                    i += width
                }
            }
        }
        return Tensor(unchecked: xs, data: .fp32(out))
    }

    private func compute<T: ArithmeticElement>(_ x: [T], _ xs: [Int], _ y: [T], _ ys: [Int]) throws(KeelError) -> Tensor {
        let name = op.rawValue
        let r: (values: [T], shape: [Int])
        switch op {
        case .add: r = try Broadcast.apply(x, xs, y, ys, op: name) { T.add($0, $1) }
        case .sub: r = try Broadcast.apply(x, xs, y, ys, op: name) { T.sub($0, $1) }
        case .mul: r = try Broadcast.apply(x, xs, y, ys, op: name) { T.mul($0, $1) }
        case .div:
            if T.isInteger, y.contains(0) { throw .invalidInput("Div: integer division by zero") }
            r = try Broadcast.apply(x, xs, y, ys, op: name) { T.div($0, $1) }
        case .pow: r = try Broadcast.apply(x, xs, y, ys, op: name) { T.pow($0, $1.doubleValue) }
        }
        return Tensor(unchecked: r.shape, data: T.wrap(r.values))
    }

    /// Pow allows an exponent of another numeric type than the base.
    private func power(_ a: Tensor, _ b: Tensor) throws(KeelError) -> Tensor {
        if case .fp32(let x) = a.data, case .fp32(let y) = b.data {
            let r = try Broadcast.apply(x, a.shape, y, b.shape, op: "Pow") { Foundation.pow($0, $1) }
            return Tensor(unchecked: r.shape, data: .fp32(r.values))
        }
        guard let exponent = b.data.doubles, b.dataType != .bytes else {
            throw .invalidInput("Pow exponent must be numeric, got \(b.dataType.rawValue)")
        }
        func go<T: ArithmeticElement>(_ x: [T]) throws(KeelError) -> Tensor {
            let r = try Broadcast.apply(x, a.shape, exponent, b.shape, op: "Pow") { T.pow($0, $1) }
            return Tensor(unchecked: r.shape, data: T.wrap(r.values))
        }
        switch a.data {
        case .fp32(let x): return try go(x)
        case .fp64(let x): return try go(x)
        case .int64(let x): return try go(x)
        case .int32(let x): return try go(x)
        default: throw .invalidInput("Pow does not accept \(a.dataType.rawValue) bases")
        }
    }
}

/// Max, Min, Sum, Mean over any number of broadcast inputs.
struct VariadicKernel: ONNXKernel {
    enum Op: String, Sendable { case max = "Max", min = "Min", sum = "Sum", mean = "Mean" }
    let op: Op

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let tensors = inputs.compactMap { $0 }
        guard var acc = tensors.first else { throw .invalidInput("\(op.rawValue) needs at least one input") }
        for t in tensors.dropFirst() {
            guard t.dataType == acc.dataType else {
                throw .invalidInput("\(op.rawValue) needs inputs of one type, got \(acc.dataType.rawValue) and \(t.dataType.rawValue)")
            }
            acc = try combine(acc, t)
        }
        if op == .mean, tensors.count > 1 {
            let n = Double(tensors.count)
            switch acc.data {
            case .fp32(let v): acc = Tensor(unchecked: acc.shape, data: .fp32(v.map { $0 / Float(n) }))
            case .fp64(let v): acc = Tensor(unchecked: acc.shape, data: .fp64(v.map { $0 / n }))
            default: throw .invalidInput("Mean needs float inputs")
            }
        }
        return [acc]
    }

    private func combine(_ a: Tensor, _ b: Tensor) throws(KeelError) -> Tensor {
        func go<T: ArithmeticElement>(_ x: [T], _ y: [T]) throws(KeelError) -> Tensor {
            let r: (values: [T], shape: [Int])
            switch op {
            // NaN propagates as in ONNX Runtime (std::max/min on Eigen arrays keep the NaN).
            case .max: r = try Broadcast.apply(x, a.shape, y, b.shape, op: op.rawValue) { $0 != $0 || $0 > $1 ? $0 : $1 }
            case .min: r = try Broadcast.apply(x, a.shape, y, b.shape, op: op.rawValue) { $0 != $0 || $0 < $1 ? $0 : $1 }
            case .sum, .mean: r = try Broadcast.apply(x, a.shape, y, b.shape, op: op.rawValue) { T.add($0, $1) }
            }
            return Tensor(unchecked: r.shape, data: T.wrap(r.values))
        }
        switch (a.data, b.data) {
        case (.fp32(let x), .fp32(let y)): return try go(x, y)
        case (.fp64(let x), .fp64(let y)): return try go(x, y)
        case (.int64(let x), .int64(let y)): return try go(x, y)
        case (.int32(let x), .int32(let y)): return try go(x, y)
        default: throw .invalidInput("\(op.rawValue) does not accept \(a.dataType.rawValue) inputs")
        }
    }
}

/// Where(condition, x, y) with three-way broadcasting, any element type.
struct WhereKernel: ONNXKernel {
    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let c = try KernelInput.require(inputs, 0, "Where")
        let x = try KernelInput.require(inputs, 1, "Where")
        let y = try KernelInput.require(inputs, 2, "Where")
        guard case .bool(let cond) = c.data else { throw .invalidInput("Where condition must be BOOL, got \(c.dataType.rawValue)") }
        guard x.dataType == y.dataType else {
            throw .invalidInput("Where needs X and Y of one type, got \(x.dataType.rawValue) and \(y.dataType.rawValue)")
        }
        let xy = try Broadcast.shape(x.shape, y.shape, op: "Where")
        let out = try Broadcast.shape(c.shape, xy, op: "Where")
        let ci = Broadcast.sourceIndices(c.shape, to: out)
        let xi = Broadcast.sourceIndices(x.shape, to: out)
        let yi = Broadcast.sourceIndices(y.shape, to: out)
        // Pick from the concatenation [x, y]: index into x, or x.count + index into y.
        let picks = (0..<ci.count).map { cond[ci[$0]] ? xi[$0] : x.count + yi[$0] }
        struct Join: ElementTransform {
            let other: TensorData
            let picks: [Int]
            func apply<T: ONNXElement>(_ values: [T]) throws(KeelError) -> [T] {
                guard let rest = T.unwrap(other) else { throw .invalidInput("Where inputs differ in type") }
                let all = values + rest
                return picks.map { all[$0] }
            }
        }
        return [Tensor(unchecked: out, data: try x.data.transform(Join(other: y.data, picks: picks)))]
    }
}

/// Static result info of a broadcasting op.
func broadcastInfo(_ ctx: NodeContext, type: DataType?) -> ValueInfo {
    var shape = ctx.input(0)?.shape
    for i in 1..<max(ctx.inputs.count, 1) { shape = Broadcast.staticShape(shape, ctx.input(i)?.shape) }
    return ValueInfo(type, shape)
}

enum ElementwiseOps {
    static let registrations: [KernelRegistration] = {
        var list: [KernelRegistration] = []
        for op in [ArithmeticOp.add, .sub, .mul, .div, .pow] {
            list.append(KernelRegistration(KernelRegistry.defaultDomain, op.rawValue, 1...23) { ctx throws(KeelError) in
                try ctx.requireInputs(2...2)
                if ctx.opset < 7, ctx.attributes.has("broadcast") || ctx.attributes.has("axis") {
                    throw .unsupported("\(ctx.label): legacy broadcast attributes (opset < 7) are not supported")
                }
                try ctx.requireType(0, in: DataType.numericTypes)
                return CompiledNode(kernel: BinaryArithmeticKernel(op: op), outputs: [broadcastInfo(ctx, type: ctx.type(0))])
            })
        }
        for op in [VariadicKernel.Op.max, .min, .sum, .mean] {
            list.append(KernelRegistration(KernelRegistry.defaultDomain, op.rawValue, 6...23) { ctx throws(KeelError) in
                try ctx.requireInputs(1...Int.max)
                return CompiledNode(kernel: VariadicKernel(op: op), outputs: [broadcastInfo(ctx, type: ctx.type(0))])
            })
        }
        list.append(KernelRegistration(KernelRegistry.defaultDomain, "Where", 9...23) { ctx throws(KeelError) in
            try ctx.requireInputs(3...3)
            return CompiledNode(kernel: WhereKernel(), outputs: [broadcastInfo(ctx, type: ctx.type(1))])
        })
        return list
    }()
}
