import KeelCore

/// Reshape: `0` copies a dimension (unless allowzero), `-1` is inferred.
struct ReshapeKernel: ONNXKernel {
    let target: [Int]?
    let allowZero: Bool

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Reshape")
        var spec = target
        if spec == nil {
            let s = try KernelInput.require(inputs, 1, "Reshape")
            guard let v = s.data.ints else { throw .invalidInput("Reshape shape must be INT64") }
            spec = v
        }
        let shape = try Self.resolve(spec ?? [], input: x.shape, count: x.count, allowZero: allowZero)
        return [try ShapeMath.tensor(shape, x.data, what: "Reshape output")]
    }

    static func resolve(_ spec: [Int], input: [Int], count: Int, allowZero: Bool) throws(KeelError) -> [Int] {
        var shape = spec
        var inferred: Int?
        var known = 1
        for (i, d) in spec.enumerated() {
            if d == 0 && !allowZero {
                guard i < input.count else { throw .invalidInput("Reshape: dimension \(i) is 0 (copy) but the input has rank \(input.count)") }
                shape[i] = input[i]
            } else if d == -1 {
                guard inferred == nil else { throw .invalidInput("Reshape: more than one -1 in \(Tensor.describe(spec))") }
                inferred = i
                continue
            } else if d < 0 {
                throw .invalidInput("Reshape: invalid dimension \(d) in \(Tensor.describe(spec))")
            }
            let (p, overflow) = known.multipliedReportingOverflow(by: shape[i])
            guard !overflow else { throw .invalidInput("Reshape: shape \(Tensor.describe(spec)) overflows") }
            known = p
        }
        if let i = inferred {
            guard known > 0, count % known == 0 else {
                throw .invalidInput("Reshape: cannot reshape \(Tensor.describe(input)) (\(count) elements) to \(Tensor.describe(spec))")
            }
            shape[i] = count / known
        } else if known != count {
            throw .invalidInput("Reshape: cannot reshape \(Tensor.describe(input)) (\(count) elements) to \(Tensor.describe(spec))")
        }
        return shape
    }
}

/// Flatten to 2-D at an axis.
struct FlattenKernel: ONNXKernel {
    let axis: Int
    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Flatten")
        let rank = x.shape.count
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a <= rank else { throw .invalidInput("Flatten: axis \(axis) is out of range for rank \(rank)") }
        let outer = x.shape[..<a].reduce(1, *)
        return [Tensor(unchecked: [outer, x.shape[a...].reduce(1, *)], data: x.data)]
    }
}

/// Squeeze (drop size-1 axes) and Unsqueeze (insert them); axes from attribute or input.
struct SqueezeKernel: ONNXKernel {
    let unsqueeze: Bool
    let axes: [Int]?

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let name = unsqueeze ? "Unsqueeze" : "Squeeze"
        let x = try KernelInput.require(inputs, 0, name)
        var list = axes
        if list == nil, inputs.count > 1, let t = inputs[1] {
            guard let v = t.data.ints else { throw .invalidInput("\(name) axes must be INT64") }
            list = v
        }
        if unsqueeze {
            let rank = x.shape.count + (list?.count ?? 0)
            var set = Set<Int>()
            for a in list ?? [] {
                let n = a < 0 ? a + rank : a
                guard n >= 0, n < rank, set.insert(n).inserted else { throw .invalidInput("Unsqueeze: invalid axis \(a) for output rank \(rank)") }
            }
            var shape: [Int] = []
            var it = x.shape.makeIterator()
            for d in 0..<rank { shape.append(set.contains(d) ? 1 : (it.next() ?? 1)) }
            return [Tensor(unchecked: shape, data: x.data)]
        }
        let rank = x.shape.count
        var drop = Set<Int>()
        if let list, !list.isEmpty {
            for a in list {
                let n = a < 0 ? a + rank : a
                guard n >= 0, n < rank, x.shape[n] == 1 else {
                    throw .invalidInput("Squeeze: axis \(a) of shape \(Tensor.describe(x.shape)) is not of size 1")
                }
                drop.insert(n)
            }
        } else {
            drop = Set(x.shape.indices.filter { x.shape[$0] == 1 })
        }
        let shape = x.shape.indices.filter { !drop.contains($0) }.map { x.shape[$0] }
        return [Tensor(unchecked: shape, data: x.data)]
    }
}

/// Transpose by a permutation (default: reverse the axes).
struct TransposeKernel: ONNXKernel {
    let perm: [Int]?

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Transpose")
        let rank = x.shape.count
        let p = perm ?? Array((0..<rank).reversed())
        guard p.count == rank, Set(p) == Set(0..<rank) else {
            throw .invalidInput("Transpose: perm \(p) does not fit rank \(rank)")
        }
        let outShape = p.map { x.shape[$0] }
        if rank == 2, p == [1, 0] {
            let rows = x.shape[0], cols = x.shape[1]
            var idx = [Int](repeating: 0, count: x.count)
            for c in 0..<cols { for r in 0..<rows { idx[c * rows + r] = r * cols + c } }
            return [Tensor(unchecked: outShape, data: x.data.gathered(idx))]
        }
        var inStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * x.shape[d + 1] }
        let permuted = p.map { inStrides[$0] }
        var idx = [Int](repeating: 0, count: x.count)
        var index = [Int](repeating: 0, count: rank)
        var offset = 0
        for o in 0..<x.count {
            idx[o] = offset
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                offset += permuted[d]
                if index[d] < outShape[d] { break }
                offset -= permuted[d] * outShape[d]
                index[d] = 0
                d -= 1
            }
        }
        return [Tensor(unchecked: outShape, data: x.data.gathered(idx))]
    }
}

/// Shape (with opset-15 start/end), Size, Identity and inference-mode Dropout.
struct ShapeOfKernel: ONNXKernel {
    enum Op: Sendable { case shape(start: Int, end: Int?), size, identity, dropout(withMask: Bool) }
    let op: Op

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Shape")
        switch op {
        case .shape(let start, let end):
            let rank = x.shape.count
            func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
            let s = clamp(start), e = clamp(end ?? rank)
            let dims = s < e ? Array(x.shape[s..<e]) : []
            return [Tensor(unchecked: [dims.count], data: .int64(dims.map { Int64($0) }))]
        case .size:
            return [Tensor(unchecked: [], data: .int64([Int64(x.count)]))]
        case .identity:
            return [x]
        case .dropout(let withMask):
            return withMask ? [x, Tensor(unchecked: x.shape, data: .bool(Array(repeating: true, count: x.count)))] : [x]
        }
    }
}

enum ShapeOps {
    static let registrations: [KernelRegistration] = [
        KernelRegistration(KernelRegistry.defaultDomain, "Reshape", 5...23) { ctx throws(KeelError) in
            try ctx.requireInputs(2...2)
            let target = try ctx.constantInts(1, what: "shape")
            let allowZero = try ctx.attributes.int("allowzero", default: 0) != 0
            var shape: [Int]?
            if let target, let input = ctx.input(0)?.shape, !target.contains(-1), !target.contains(0) || allowZero {
                shape = target
                _ = input
            }
            return CompiledNode(kernel: ReshapeKernel(target: target, allowZero: allowZero), outputs: [ValueInfo(ctx.type(0), shape)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Flatten", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            return CompiledNode(kernel: FlattenKernel(axis: try ctx.attributes.int("axis", default: 1)), outputs: [ValueInfo(ctx.type(0), nil)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Squeeze", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...2)
            let axes = ctx.opset < 13 ? try ctx.attributes.ints("axes") : try ctx.constantInts(1, what: "axes")
            return CompiledNode(kernel: SqueezeKernel(unsqueeze: false, axes: axes), outputs: [ValueInfo(ctx.type(0), nil)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Unsqueeze", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...2)
            let axes = ctx.opset < 13 ? try ctx.attributes.ints("axes") : try ctx.constantInts(1, what: "axes")
            if ctx.opset < 13, axes == nil { throw .invalidModel("\(ctx.label) needs the 'axes' attribute") }
            return CompiledNode(kernel: SqueezeKernel(unsqueeze: true, axes: axes), outputs: [ValueInfo(ctx.type(0), nil)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Transpose", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let perm = try ctx.attributes.ints("perm")
            var shape: [Int]?
            if let s = ctx.input(0)?.shape {
                let p = perm ?? Array((0..<s.count).reversed())
                if p.count == s.count, p.allSatisfy({ $0 >= 0 && $0 < s.count }) { shape = p.map { s[$0] } }
            }
            return CompiledNode(kernel: TransposeKernel(perm: perm), outputs: [ValueInfo(ctx.type(0), shape)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Shape", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let start = try ctx.attributes.int("start", default: 0)
            let end = try ctx.attributes.int("end")
            var node = CompiledNode(kernel: ShapeOfKernel(op: .shape(start: start, end: end)), outputs: [ValueInfo(.int64, nil)])
            // A fully static input shape makes Shape itself a constant.
            if let s = ctx.input(0)?.shape, !s.contains(-1), start == 0, end == nil {
                node.kernel = ConstantKernel(value: Tensor(unchecked: [s.count], data: .int64(s.map { Int64($0) })))
            }
            return node
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Size", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            return CompiledNode(kernel: ShapeOfKernel(op: .size), outputs: [ValueInfo(.int64, [])])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Identity", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            return CompiledNode(kernel: ShapeOfKernel(op: .identity), outputs: [ctx.input(0) ?? .unknown])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Dropout", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(1...3)
            let mask = ctx.outputCount > 1
            return CompiledNode(kernel: ShapeOfKernel(op: .dropout(withMask: mask)), outputs: [ctx.input(0) ?? .unknown, ValueInfo(.bool, ctx.input(0)?.shape)])
        },
    ]
}
