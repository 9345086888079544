import KeelCore

/// Gather along an axis with (possibly negative) integer indices.
struct GatherKernel: ONNXKernel {
    let axis: Int

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Gather")
        let i = try KernelInput.require(inputs, 1, "Gather")
        guard let indices = i.data.ints, i.dataType == .int64 || i.dataType == .int32 else {
            throw .invalidInput("Gather indices must be INT64 or INT32, got \(i.dataType.rawValue)")
        }
        let rank = x.shape.count
        guard rank > 0 else { throw .invalidInput("Gather needs data of rank >= 1") }
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else { throw .invalidInput("Gather: axis \(axis) is out of range for rank \(rank)") }
        let dim = x.shape[a]
        let outer = x.shape[..<a].reduce(1, *), inner = x.shape[(a + 1)...].reduce(1, *)
        let shape = Array(x.shape[..<a]) + i.shape + Array(x.shape[(a + 1)...])
        let count = try ShapeMath.count(shape, what: "Gather output")
        var picks: [Int] = []
        picks.reserveCapacity(count)
        for o in 0..<outer {
            for raw in indices {
                let k = raw < 0 ? raw + dim : raw
                guard k >= 0, k < dim else {
                    throw .invalidInput("Gather: index \(raw) is out of range for dimension \(a) of size \(dim)")
                }
                let base = (o * dim + k) * inner
                for j in 0..<inner { picks.append(base + j) }
            }
        }
        return [Tensor(unchecked: shape, data: x.data.gathered(picks))]
    }
}

/// Slice with starts/ends/axes/steps from attributes (opset < 10) or inputs, clamped as ONNX says.
struct SliceKernel: ONNXKernel {
    let fixed: (starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?)?

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Slice")
        var starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?
        if let fixed {
            (starts, ends, axes, steps) = fixed
        } else {
            func ints(_ k: Int) throws(KeelError) -> [Int]? {
                guard k < inputs.count, let t = inputs[k] else { return nil }
                guard let v = t.data.ints else { throw .invalidInput("Slice input \(k) must be INT64 or INT32") }
                return v
            }
            starts = try ints(1) ?? []
            ends = try ints(2) ?? []
            axes = try ints(3)
            steps = try ints(4)
        }
        let rank = x.shape.count
        guard starts.count == ends.count else { throw .invalidInput("Slice: starts and ends differ in length") }
        let axisList = axes ?? Array(0..<starts.count)
        let stepList = steps ?? Array(repeating: 1, count: starts.count)
        guard axisList.count == starts.count, stepList.count == starts.count else {
            throw .invalidInput("Slice: starts, ends, axes and steps differ in length")
        }
        var begin = [Int](repeating: 0, count: rank)
        var step = [Int](repeating: 1, count: rank)
        var outShape = x.shape
        for k in 0..<starts.count {
            let a = axisList[k] < 0 ? axisList[k] + rank : axisList[k]
            guard a >= 0, a < rank else { throw .invalidInput("Slice: axis \(axisList[k]) is out of range for rank \(rank)") }
            let dim = x.shape[a], s = stepList[k]
            guard s != 0 else { throw .invalidInput("Slice: step cannot be 0") }
            var st = starts[k] < 0 ? starts[k] &+ dim : starts[k]
            var en = ends[k] < 0 ? ends[k] &+ dim : ends[k]
            // ceil(distance / |step|) without overflow for steps such as Int.max or Int.min.
            func steps(_ distance: Int) -> Int { distance > 0 ? Int((UInt(distance) - 1) / s.magnitude) + 1 : 0 }
            if s > 0 {
                st = min(max(st, 0), dim)
                en = min(max(en, 0), dim)
                outShape[a] = steps(en - st)
            } else {
                st = min(max(st, 0), dim - 1)
                en = min(max(en, -1), dim - 1)
                outShape[a] = steps(st - en)
            }
            begin[a] = st
            step[a] = s
        }
        var strides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * x.shape[d + 1] }
        let count = outShape.reduce(1, *)
        var picks = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        for o in 0..<count {
            var off = 0
            for d in 0..<rank { off += (begin[d] + index[d] * step[d]) * strides[d] }
            picks[o] = off
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < outShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return [Tensor(unchecked: outShape, data: x.data.gathered(picks))]
    }
}

/// Concat along an axis; every input has one type and equal other dimensions.
struct ConcatKernel: ONNXKernel {
    let axis: Int

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let parts = inputs.compactMap { $0 }
        guard let first = parts.first else { throw .invalidInput("Concat needs at least one input") }
        let rank = first.shape.count
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else { throw .invalidInput("Concat: axis \(axis) is out of range for rank \(rank)") }
        var total = 0
        for p in parts {
            guard p.dataType == first.dataType else {
                throw .invalidInput("Concat needs inputs of one type, got \(first.dataType.rawValue) and \(p.dataType.rawValue)")
            }
            guard p.shape.count == rank, (0..<rank).allSatisfy({ $0 == a || p.shape[$0] == first.shape[$0] }) else {
                throw .invalidInput("Concat: shapes \(Tensor.describe(first.shape)) and \(Tensor.describe(p.shape)) differ outside axis \(a)")
            }
            let (sum, overflow) = total.addingReportingOverflow(p.shape[a])
            guard !overflow else { throw .invalidInput("Concat: the inputs' sizes along axis \(a) overflow") }
            total = sum
        }
        let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
        var shape = first.shape
        shape[a] = total
        _ = try ShapeMath.count(shape, what: "Concat output")
        struct Join: ElementTransform {
            let parts: [Tensor]
            let outer: Int, inner: Int, axis: Int
            func apply<T: ONNXElement>(_ head: [T]) throws(KeelError) -> [T] {
                var arrays: [[T]] = []
                for p in parts {
                    guard let v = T.unwrap(p.data) else { throw .invalidInput("Concat inputs differ in type") }
                    arrays.append(v)
                }
                var out: [T] = []
                out.reserveCapacity(arrays.reduce(0) { $0 + $1.count })
                for o in 0..<outer {
                    for (k, v) in arrays.enumerated() {
                        let chunk = parts[k].shape[axis] * inner
                        out.append(contentsOf: v[(o * chunk)..<((o + 1) * chunk)])
                    }
                }
                return out
            }
        }
        let data = try first.data.transform(Join(parts: parts, outer: outer, inner: inner, axis: a))
        return [Tensor(unchecked: shape, data: data)]
    }
}

/// Expand: broadcast to a shape.
struct ExpandKernel: ONNXKernel {
    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Expand")
        let s = try KernelInput.require(inputs, 1, "Expand")
        guard let target = s.data.ints else { throw .invalidInput("Expand shape must be INT64") }
        let out = try Broadcast.shape(x.shape, target, op: "Expand")
        _ = try ShapeMath.count(out, what: "Expand output")
        return [Tensor(unchecked: out, data: x.data.gathered(Broadcast.sourceIndices(x.shape, to: out)))]
    }
}

enum IndexingOps {
    static let registrations: [KernelRegistration] = [
        KernelRegistration(KernelRegistry.defaultDomain, "Gather", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(2...2)
            return CompiledNode(kernel: GatherKernel(axis: try ctx.attributes.int("axis", default: 0)), outputs: [ValueInfo(ctx.type(0), nil)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Slice", 1...23) { ctx throws(KeelError) in
            if ctx.opset < 10 {
                try ctx.requireInputs(1...1)
                guard let starts = try ctx.attributes.ints("starts"), let ends = try ctx.attributes.ints("ends") else {
                    throw .invalidModel("\(ctx.label) needs 'starts' and 'ends' attributes")
                }
                let kernel = SliceKernel(fixed: (starts, ends, try ctx.attributes.ints("axes"), nil))
                return CompiledNode(kernel: kernel, outputs: [ValueInfo(ctx.type(0), nil)])
            }
            try ctx.requireInputs(3...5)
            var fixed: (starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?)?
            if let s = try ctx.constantInts(1, what: "starts"), let e = try ctx.constantInts(2, what: "ends"),
               !ctx.hasInput(3) || ctx.constant(3) != nil, !ctx.hasInput(4) || ctx.constant(4) != nil {
                fixed = (s, e, try ctx.constantInts(3, what: "axes"), try ctx.constantInts(4, what: "steps"))
            }
            return CompiledNode(kernel: SliceKernel(fixed: fixed), outputs: [ValueInfo(ctx.type(0), nil)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Concat", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...Int.max)
            guard let axis = try ctx.attributes.int("axis") else {
                if ctx.opset < 4 { return CompiledNode(kernel: ConcatKernel(axis: 1), outputs: [ValueInfo(ctx.type(0), nil)]) }
                throw .invalidModel("\(ctx.label) needs the 'axis' attribute")
            }
            var shape: [Int]?
            let shapes = ctx.inputs.compactMap { $0?.shape }
            if shapes.count == ctx.inputs.count, let first = shapes.first, axis >= -first.count, axis < first.count {
                let a = axis < 0 ? axis + first.count : axis
                if shapes.allSatisfy({ $0.count == first.count }) {
                    var s = first
                    s[a] = shapes.contains { $0[a] < 0 } ? -1 : shapes.reduce(0) { $0 + $1[a] }
                    shape = s
                }
            }
            return CompiledNode(kernel: ConcatKernel(axis: axis), outputs: [ValueInfo(ctx.type(0), shape)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Expand", 8...23) { ctx throws(KeelError) in
            try ctx.requireInputs(2...2)
            return CompiledNode(kernel: ExpandKernel(), outputs: [ValueInfo(ctx.type(0), nil)])
        },
    ]
}
