import Foundation
import KeelCore

/// Which output element each input element reduces into, for a set of reduced axes.
struct ReductionLayout {
    let outShape: [Int]
    let keptShape: [Int]
    let target: [Int]

    init(shape: [Int], axes: Set<Int>, keepDims: Bool) {
        keptShape = shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        outShape = keepDims ? keptShape : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        // Input index -> output index: walk the input with an odometer, output strides 0 on reduced axes.
        var outStrides = [Int](repeating: 0, count: shape.count)
        var step = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) where !axes.contains(d) {
            outStrides[d] = step
            step *= shape[d]
        }
        self.target = Broadcast.offsets(walking: shape, strides: outStrides)
    }

    var outCount: Int { outShape.reduce(1, *) }
}

/// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceLogSumExp, ReduceSumSquare.
struct ReduceKernel: ONNXKernel {
    enum Op: String, Sendable, CaseIterable {
        case sum = "ReduceSum", mean = "ReduceMean", max = "ReduceMax", min = "ReduceMin", prod = "ReduceProd"
        case logSumExp = "ReduceLogSumExp", sumSquare = "ReduceSumSquare", l1 = "ReduceL1", l2 = "ReduceL2"

        /// Opset from which axes come as an input instead of an attribute.
        var axesInputSince: Int { self == .sum ? 13 : 18 }
    }
    let op: Op
    let axes: [Int]?
    let keepDims: Bool
    let noopWithEmptyAxes: Bool

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, op.rawValue)
        var list = axes
        if list == nil, inputs.count > 1, let t = inputs[1] {
            guard let v = t.data.ints else { throw .invalidInput("\(op.rawValue) axes must be INT64") }
            list = v
        }
        if (list ?? []).isEmpty && noopWithEmptyAxes { return [x] }
        let rank = x.shape.count
        var set = Set<Int>()
        for a in list ?? Array(0..<rank) {
            let n = a < 0 ? a + rank : a
            guard n >= 0, n < max(rank, 1) else { throw .invalidInput("\(op.rawValue): axis \(a) is out of range for rank \(rank)") }
            set.insert(n)
        }
        let layout = ReductionLayout(shape: x.shape, axes: set, keepDims: keepDims)
        switch x.data {
        case .fp32(let v): return [Tensor(unchecked: layout.outShape, data: .fp32(reduce(v, layout)))]
        case .fp64(let v): return [Tensor(unchecked: layout.outShape, data: .fp64(reduce(v, layout)))]
        case .int64(let v): return [Tensor(unchecked: layout.outShape, data: .int64(reduceInts(v, layout)))]
        case .int32(let v): return [Tensor(unchecked: layout.outShape, data: .int32(reduceInts(v, layout)))]
        default: throw .invalidInput("\(op.rawValue) does not accept \(x.dataType.rawValue) input")
        }
    }

    private func reduce<T: ONNXReal>(_ v: [T], _ layout: ReductionLayout) -> [T] {
        let n = layout.outCount
        let group = T(v.count / max(n, 1))
        switch op {
        case .max, .min:
            var out = [T](repeating: op == .max ? -.infinity : .infinity, count: n)
            for (i, x) in v.enumerated() {
                let o = layout.target[i]
                if x.isNaN || out[o].isNaN { out[o] = .nan } else if op == .max ? x > out[o] : x < out[o] { out[o] = x }
            }
            return out
        case .logSumExp:
            var top = [T](repeating: -.infinity, count: n)
            for (i, x) in v.enumerated() where x > top[layout.target[i]] { top[layout.target[i]] = x }
            var sum = [T](repeating: 0, count: n)
            for (i, x) in v.enumerated() {
                let o = layout.target[i]
                sum[o] += T.expF(x - (top[o].isFinite ? top[o] : 0))
            }
            return (0..<n).map { T.logF(sum[$0]) + (top[$0].isFinite ? top[$0] : 0) }
        case .prod:
            var out = [T](repeating: 1, count: n)
            for (i, x) in v.enumerated() { out[layout.target[i]] *= x }
            return out
        default:
            var out = [T](repeating: 0, count: n)
            for (i, x) in v.enumerated() {
                let o = layout.target[i]
                switch op {
                case .sumSquare, .l2: out[o] += x * x
                case .l1: out[o] += Swift.abs(x)
                default: out[o] += x
                }
            }
            if op == .mean { for o in 0..<n { out[o] /= group } }
            if op == .l2 { for o in 0..<n { out[o] = out[o].squareRoot() } }
            return out
        }
    }

    private func reduceInts<T: FixedWidthInteger & ONNXNumeric>(_ v: [T], _ layout: ReductionLayout) -> [T] {
        let n = layout.outCount
        var out = [T](repeating: op == .max ? T.min : (op == .min ? T.max : (op == .prod ? 1 : 0)), count: n)
        for (i, x) in v.enumerated() {
            let o = layout.target[i]
            switch op {
            case .max: out[o] = Swift.max(out[o], x)
            case .min: out[o] = Swift.min(out[o], x)
            case .prod: out[o] = out[o] &* x
            case .sumSquare, .l2: out[o] = out[o] &+ x &* x
            default: out[o] = out[o] &+ x
            }
        }
        if op == .mean { let g = T(clamping: v.count / Swift.max(n, 1)); for o in 0..<n where g != 0 { out[o] /= g } }
        return out
    }
}

/// ArgMax / ArgMin along one axis (INT64 result).
struct ArgExtremeKernel: ONNXKernel {
    let isMax: Bool
    let axis: Int
    let keepDims: Bool
    let selectLast: Bool

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let name = isMax ? "ArgMax" : "ArgMin"
        let x = try KernelInput.require(inputs, 0, name)
        let rank = x.shape.count
        guard rank > 0 else { throw .invalidInput("\(name) needs a tensor of rank >= 1") }
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else { throw .invalidInput("\(name): axis \(axis) is out of range for rank \(rank)") }
        let outer = x.shape[..<a].reduce(1, *), length = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, *)
        guard length > 0 else { throw .invalidInput("\(name) over an empty axis") }
        var shape = x.shape
        if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
        func go<T: Comparable>(_ v: [T]) -> [Int64] {
            var out = [Int64](repeating: 0, count: outer * inner)
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o * length * inner + i
                    var best = 0
                    for k in 1..<max(length, 1) {
                        let c = v[base + k * inner], b = v[base + best * inner]
                        let better = isMax ? (selectLast ? c >= b : c > b) : (selectLast ? c <= b : c < b)
                        if better { best = k }
                    }
                    out[o * inner + i] = Int64(best)
                }
            }
            return out
        }
        let result: [Int64]
        switch x.data {
        case .fp32(let v): result = go(v)
        case .fp64(let v): result = go(v)
        case .int64(let v): result = go(v)
        case .int32(let v): result = go(v)
        default: throw .invalidInput("\(name) does not accept \(x.dataType.rawValue) input")
        }
        return [Tensor(unchecked: shape, data: .int64(result))]
    }
}

enum ReductionOps {
    static let registrations: [KernelRegistration] = {
        var list: [KernelRegistration] = ReduceKernel.Op.allCases.map { op in
            KernelRegistration(KernelRegistry.defaultDomain, op.rawValue, 1...23) { ctx throws(KeelError) in
                try ctx.requireInputs(1...2)
                let keep = try ctx.attributes.int("keepdims", default: 1) != 0
                let noop = try ctx.attributes.int("noop_with_empty_axes", default: 0) != 0
                var axes: [Int]?
                if ctx.opset < op.axesInputSince {
                    axes = try ctx.attributes.ints("axes")
                } else if ctx.hasInput(1) {
                    axes = try ctx.constantInts(1, what: "axes")
                }
                let kernel = ReduceKernel(op: op, axes: axes, keepDims: keep, noopWithEmptyAxes: noop)
                return CompiledNode(kernel: kernel, outputs: [ValueInfo(ctx.type(0), nil)])
            }
        }
        for (name, isMax) in [("ArgMax", true), ("ArgMin", false)] {
            list.append(KernelRegistration(KernelRegistry.defaultDomain, name, 1...23) { ctx throws(KeelError) in
                try ctx.requireInputs(1...1)
                let kernel = ArgExtremeKernel(
                    isMax: isMax, axis: try ctx.attributes.int("axis", default: 0),
                    keepDims: try ctx.attributes.int("keepdims", default: 1) != 0,
                    selectLast: try ctx.attributes.int("select_last_index", default: 0) != 0)
                return CompiledNode(kernel: kernel, outputs: [ValueInfo(.int64, nil)])
            })
        }
        return list
    }()
}
