import Foundation
import KeelCore

/// Relu, LeakyRelu, Sigmoid, Tanh (and the cheap relatives HardSigmoid, Softplus, Elu):
/// float-only elementwise activations.
struct ActivationKernel: ONNXKernel {
    enum Op: String, Sendable, CaseIterable {
        case relu = "Relu", leakyRelu = "LeakyRelu", sigmoid = "Sigmoid", tanh = "Tanh"
        case hardSigmoid = "HardSigmoid", softplus = "Softplus", elu = "Elu"
    }
    let op: Op
    let alpha: Float
    let beta: Float

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, op.rawValue)
        switch x.data {
        case .fp32(let v): return [Tensor(unchecked: x.shape, data: .fp32(apply(v, alpha, beta)))]
        case .fp64(let v): return [Tensor(unchecked: x.shape, data: .fp64(apply(v, Double(alpha), Double(beta))))]
        default: throw .invalidInput("\(op.rawValue) does not accept \(x.dataType.rawValue) input")
        }
    }

    private func apply<T: ONNXReal>(_ v: [T], _ alpha: T, _ beta: T) -> [T] {
        switch op {
        case .relu:
            if T.self == Float.self {
                // Same type, checked above: reinterpret instead of an element-wise array cast.
                return unsafeBitCast(Self.relu(unsafeBitCast(v, to: [Float].self)), to: [T].self)
            }
            return Self.map(v) { $0 > 0 || $0.isNaN ? $0 : 0 }
        case .leakyRelu: return Self.map(v) { $0 >= 0 ? $0 : $0 * alpha }
        case .sigmoid:
            // Split by sign so exp never overflows; matches 1/(1+e^-x) within an ulp.
            return Self.map(v) { x in
                if x >= 0 { return 1 / (1 + T.expF(-x)) }
                let e = T.expF(x)
                return e / (1 + e)
            }
        case .tanh: return Self.map(v) { T.tanhF($0) }
        case .hardSigmoid: return Self.map(v) { Swift.max(0, Swift.min(1, alpha * $0 + beta)) }
        case .softplus: return Self.map(v) { $0 > 0 ? $0 + T.logF(1 + T.expF(-$0)) : T.logF(1 + T.expF($0)) }
        case .elu: return Self.map(v) { $0 >= 0 ? $0 : alpha * (T.expF($0) - 1) }
        }
    }

    /// ReLU on Float, 8 lanes at a time with a mask instead of a branch per element (about
    /// half the inputs are negative, so a branch mispredicts constantly). NaN passes through.
    private static func relu(_ v: [Float]) -> [Float] {
        var out = v
        out.withUnsafeMutableBufferPointer { p in
            let n = p.count
            var i = 0
            let raw = UnsafeMutableRawPointer(p.baseAddress!)
            while i + 8 <= n {
                let x = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                let drop = (x .<= 0)
                raw.storeBytes(of: x.replacing(with: 0, where: drop), toByteOffset: i * 4, as: SIMD8<Float>.self)
                i += 8
            }
            while i < n {
                if p[i] <= 0 { p[i] = 0 }
                i += 1
            }
        }
        return out
    }

    /// Element-wise map over a copy in place; inlined so the closure is too (`Array.map`
    /// left a closure call per element on this hot path).
    @inline(__always)
    private static func map<T>(_ v: [T], _ f: (T) -> T) -> [T] {
        var out = v
        out.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = f(p[i]) }
        }
        return out
    }
}

/// Softmax and LogSoftmax along an axis; before opset 13 the input is viewed as 2-D at the axis.
struct SoftmaxKernel: ONNXKernel {
    let axis: Int
    let log: Bool
    let legacy: Bool

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let name = log ? "LogSoftmax" : "Softmax"
        let x = try KernelInput.require(inputs, 0, name)
        let rank = x.shape.count
        let a = try ShapeMath.axis(axis, rank: rank, what: name)
        let outer: Int, length: Int, inner: Int
        if legacy {
            outer = x.shape[..<a].reduce(1, *)
            length = x.shape[a...].reduce(1, *)
            inner = 1
        } else {
            outer = x.shape[..<a].reduce(1, *)
            length = rank == 0 ? 1 : x.shape[a]
            inner = rank == 0 ? 1 : x.shape[(a + 1)...].reduce(1, *)
        }
        switch x.data {
        case .fp32(var v):
            compute(&v, outer, length, inner)
            return [Tensor(unchecked: x.shape, data: .fp32(v))]
        case .fp64(var v):
            compute(&v, outer, length, inner)
            return [Tensor(unchecked: x.shape, data: .fp64(v))]
        default: throw .invalidInput("\(name) does not accept \(x.dataType.rawValue) input")
        }
    }

    private func compute<T: ONNXReal>(_ v: inout [T], _ outer: Int, _ length: Int, _ inner: Int) {
        guard length > 0 else { return }
        v.withUnsafeMutableBufferPointer { p in
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o * length * inner + i
                    var top = p[base]
                    for k in 1..<length where p[base + k * inner] > top { top = p[base + k * inner] }
                    var sum: T = 0
                    if log {
                        for k in 0..<length { sum += T.expF(p[base + k * inner] - top) }
                        let logSum = T.logF(sum)
                        for k in 0..<length { p[base + k * inner] = p[base + k * inner] - top - logSum }
                    } else {
                        for k in 0..<length {
                            let e = T.expF(p[base + k * inner] - top)
                            p[base + k * inner] = e
                            sum += e
                        }
                        for k in 0..<length { p[base + k * inner] /= sum }
                    }
                }
            }
        }
    }
}

/// Clip to [min, max]; bounds from attributes (opset < 11) or optional inputs.
struct ClipKernel: ONNXKernel {
    let low: Double?
    let high: Double?

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Clip")
        func bound(_ i: Int, _ fixed: Double?) throws(KeelError) -> Double? {
            if let fixed { return fixed }
            guard i < inputs.count, let t = inputs[i] else { return nil }
            guard t.count == 1, let d = t.data.doubles else { throw .invalidInput("Clip bound \(i) must be a numeric scalar") }
            return d[0]
        }
        let lo = try bound(1, low), hi = try bound(2, high)
        func clip<T: ONNXNumeric>(_ v: [T]) -> [T] {
            let l = lo.map { T.converting($0) }, h = hi.map { T.converting($0) }
            return v.map { x in
                var y = x
                if let l, y < l { y = l }
                if let h, y > h { y = h }
                return y
            }
        }
        switch x.data {
        case .fp32(let v): return [Tensor(unchecked: x.shape, data: .fp32(clip(v)))]
        case .fp64(let v): return [Tensor(unchecked: x.shape, data: .fp64(clip(v)))]
        case .int64(let v): return [Tensor(unchecked: x.shape, data: .int64(clip(v)))]
        case .int32(let v): return [Tensor(unchecked: x.shape, data: .int32(clip(v)))]
        default: throw .invalidInput("Clip does not accept \(x.dataType.rawValue) input")
        }
    }
}

enum ActivationOps {
    static let registrations: [KernelRegistration] = {
        var list: [KernelRegistration] = ActivationKernel.Op.allCases.map { op in
            KernelRegistration(KernelRegistry.defaultDomain, op.rawValue, 1...23) { ctx throws(KeelError) in
                try ctx.requireInputs(1...1)
                try ctx.requireType(0, in: DataType.floatTypes)
                let defaults: (Float, Float) = switch op {
                case .leakyRelu: (0.01, 0)
                case .hardSigmoid: (0.2, 0.5)
                case .elu: (1, 0)
                default: (0, 0)
                }
                let kernel = ActivationKernel(
                    op: op, alpha: try ctx.attributes.float("alpha", default: defaults.0),
                    beta: try ctx.attributes.float("beta", default: defaults.1))
                return CompiledNode(kernel: kernel, outputs: [ctx.input(0) ?? .unknown])
            }
        }
        for (name, log) in [("Softmax", false), ("LogSoftmax", true)] {
            list.append(KernelRegistration(KernelRegistry.defaultDomain, name, 1...23) { ctx throws(KeelError) in
                try ctx.requireInputs(1...1)
                try ctx.requireType(0, in: DataType.floatTypes)
                let legacy = ctx.opset < 13
                let axis = try ctx.attributes.int("axis", default: legacy ? 1 : -1)
                return CompiledNode(kernel: SoftmaxKernel(axis: axis, log: log, legacy: legacy), outputs: [ctx.input(0) ?? .unknown])
            })
        }
        list.append(KernelRegistration(KernelRegistry.defaultDomain, "Clip", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...3)
            var low: Double?, high: Double?
            if ctx.opset < 11 {
                low = try ctx.attributes.float("min").map(Double.init)
                high = try ctx.attributes.float("max").map(Double.init)
            } else {
                for (i, _) in [(1, 0), (2, 0)] where ctx.hasInput(i) && ctx.constant(i) != nil {
                    guard let d = ctx.constant(i)?.data.doubles, d.count == 1 else {
                        throw .invalidModel("\(ctx.label): bound \(i) must be a scalar")
                    }
                    if i == 1 { low = d[0] } else { high = d[0] }
                }
            }
            return CompiledNode(kernel: ClipKernel(low: low, high: high), outputs: [ctx.input(0) ?? .unknown])
        })
        return list
    }()
}
