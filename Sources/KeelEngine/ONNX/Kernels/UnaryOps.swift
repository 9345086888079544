import Foundation
import KeelCore

/// Elementwise math functions of one input.
enum UnaryMath: String, Sendable, CaseIterable {
    case sqrt = "Sqrt", exp = "Exp", log = "Log", abs = "Abs", neg = "Neg", reciprocal = "Reciprocal"
    case erf = "Erf", floor = "Floor", ceil = "Ceil", sign = "Sign", round = "Round"

    /// Ops defined for integer types as well as floats.
    var acceptsIntegers: Bool { self == .abs || self == .neg || self == .sign }
}

/// Sqrt, Exp, Log, Abs, Neg, Reciprocal, Erf, Floor, Ceil, Sign, Round.
struct UnaryMathKernel: ONNXKernel {
    let op: UnaryMath

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, op.rawValue)
        switch x.data {
        case .fp32(let v): return [Tensor(unchecked: x.shape, data: .fp32(real(v)))]
        case .fp64(let v): return [Tensor(unchecked: x.shape, data: .fp64(real(v)))]
        case .int64(let v) where op.acceptsIntegers: return [Tensor(unchecked: x.shape, data: .int64(integer(v)))]
        case .int32(let v) where op.acceptsIntegers: return [Tensor(unchecked: x.shape, data: .int32(integer(v)))]
        default: throw .invalidInput("\(op.rawValue) does not accept \(x.dataType.rawValue) input")
        }
    }

    private func real<T: ONNXReal>(_ v: [T]) -> [T] {
        switch op {
        case .sqrt: return v.map { $0.squareRoot() }
        case .exp: return v.map { T.expF($0) }
        case .log: return v.map { T.logF($0) }
        case .abs: return v.map { Swift.abs($0) }
        case .neg: return v.map { -$0 }
        case .reciprocal: return v.map { 1 / $0 }
        case .erf: return v.map { T.erfF($0) }
        case .floor: return v.map { $0.rounded(.down) }
        case .ceil: return v.map { $0.rounded(.up) }
        case .sign: return v.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : $0) }
        case .round: return v.map { $0.rounded(.toNearestOrEven) }
        }
    }

    private func integer<T: FixedWidthInteger & SignedInteger>(_ v: [T]) -> [T] {
        switch op {
        case .abs: return v.map { $0 == T.min ? $0 : Swift.abs($0) }
        case .neg: return v.map { 0 &- $0 }
        default: return v.map { $0.signum() }
        }
    }
}

/// IsNaN and Not: boolean results.
struct PredicateKernel: ONNXKernel {
    enum Op: String, Sendable { case isNaN = "IsNaN", not = "Not", isInf = "IsInf" }
    let op: Op

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, op.rawValue)
        switch (op, x.data) {
        case (.isNaN, .fp32(let v)): return [Tensor(unchecked: x.shape, data: .bool(v.map { $0.isNaN }))]
        case (.isNaN, .fp64(let v)): return [Tensor(unchecked: x.shape, data: .bool(v.map { $0.isNaN }))]
        case (.isInf, .fp32(let v)): return [Tensor(unchecked: x.shape, data: .bool(v.map { $0.isInfinite }))]
        case (.isInf, .fp64(let v)): return [Tensor(unchecked: x.shape, data: .bool(v.map { $0.isInfinite }))]
        case (.not, .bool(let v)): return [Tensor(unchecked: x.shape, data: .bool(v.map { !$0 }))]
        default: throw .invalidInput("\(op.rawValue) does not accept \(x.dataType.rawValue) input")
        }
    }
}

enum UnaryOps {
    static let registrations: [KernelRegistration] = {
        var list: [KernelRegistration] = []
        for op in UnaryMath.allCases {
            list.append(KernelRegistration(KernelRegistry.defaultDomain, op.rawValue, 1...23) { ctx throws(KeelError) in
                try ctx.requireInputs(1...1)
                try ctx.requireType(0, in: op.acceptsIntegers ? [.fp32, .fp64, .int32, .int64] : [.fp32, .fp64])
                return CompiledNode(kernel: UnaryMathKernel(op: op), outputs: [ctx.input(0) ?? .unknown])
            })
        }
        for op in [PredicateKernel.Op.isNaN, .not, .isInf] {
            list.append(KernelRegistration(KernelRegistry.defaultDomain, op.rawValue, 1...23) { ctx throws(KeelError) in
                try ctx.requireInputs(1...1)
                return CompiledNode(kernel: PredicateKernel(op: op), outputs: [ValueInfo(.bool, ctx.input(0)?.shape)])
            })
        }
        return list
    }()
}
