import KeelCore

/// MatMul with numpy semantics. A constant 2-D float right-hand side (the usual weight
/// matrix) is packed once at load; anything else is multiplied generally.
struct MatMulKernel: ONNXKernel {
    let packed: PackedMatrix?

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let a = try KernelInput.require(inputs, 0, "MatMul")
        if let packed, case .fp32(let av) = a.data, a.shape.count >= 1 {
            let k = packed.k
            guard a.shape.last == k else {
                throw .invalidInput("MatMul: input of shape \(Tensor.describe(a.shape)) needs \(k) columns to multiply the [\(k),\(packed.n)] weights")
            }
            let m = k == 0 ? a.shape.dropLast().reduce(1, *) : av.count / k
            let shape = a.shape.count == 1 ? [packed.n] : Array(a.shape.dropLast()) + [packed.n]
            _ = try ShapeMath.count(shape, what: "MatMul output")
            var out = [Float](repeating: 0, count: m * packed.n)
            av.withUnsafeBufferPointer { ap in
                out.withUnsafeMutableBufferPointer { op in
                    SGEMM.multiply(ap.baseAddress!, m: m, lda: k, packed, into: op.baseAddress!, accumulate: false)
                }
            }
            return [Tensor(unchecked: shape, data: .fp32(out))]
        }
        let b = try KernelInput.require(inputs, 1, "MatMul")
        return [try Self.general(a, b)]
    }

    /// Batched, broadcast MatMul of any two float tensors (1-D operands promoted as numpy does).
    static func general(_ a: Tensor, _ b: Tensor) throws(KeelError) -> Tensor {
        guard a.dataType == b.dataType else {
            throw .invalidInput("MatMul needs inputs of one type, got \(a.dataType.rawValue) and \(b.dataType.rawValue)")
        }
        guard !a.shape.isEmpty, !b.shape.isEmpty else { throw .invalidInput("MatMul does not accept scalars") }
        let aShape = a.shape.count == 1 ? [1] + a.shape : a.shape
        let bShape = b.shape.count == 1 ? b.shape + [1] : b.shape
        let m = aShape[aShape.count - 2], k = aShape[aShape.count - 1]
        let k2 = bShape[bShape.count - 2], n = bShape[bShape.count - 1]
        guard k == k2 else {
            throw .invalidInput("MatMul: shapes \(Tensor.describe(a.shape)) and \(Tensor.describe(b.shape)) do not align (\(k) vs \(k2))")
        }
        let aBatch = Array(aShape.dropLast(2)), bBatch = Array(bShape.dropLast(2))
        let batch = try Broadcast.shape(aBatch, bBatch, op: "MatMul")
        let batchCount = batch.reduce(1, *)
        let ai = Broadcast.sourceIndices(aBatch, to: batch)
        let bi = Broadcast.sourceIndices(bBatch, to: batch)
        var shape = batch + [m, n]
        _ = try ShapeMath.count(shape, what: "MatMul output")
        if a.shape.count == 1 { shape.remove(at: shape.count - 2) }
        if b.shape.count == 1 { shape.removeLast() }
        switch (a.data, b.data) {
        case (.fp32(let av), .fp32(let bv)):
            var out = [Float](repeating: 0, count: batchCount * m * n)
            for t in 0..<batchCount {
                let packed = bv.withUnsafeBufferPointer {
                    PackedMatrix(UnsafeBufferPointer(rebasing: $0[(bi[t] * k * n)..<((bi[t] + 1) * k * n)]), k: k, n: n, transposed: false)
                }
                av.withUnsafeBufferPointer { ap in
                    out.withUnsafeMutableBufferPointer { op in
                        SGEMM.multiply(ap.baseAddress! + ai[t] * m * k, m: m, lda: k, packed, into: op.baseAddress! + t * m * n, accumulate: false)
                    }
                }
            }
            return Tensor(unchecked: shape, data: .fp32(out))
        case (.fp64(let av), .fp64(let bv)):
            var out = [Double](repeating: 0, count: batchCount * m * n)
            for t in 0..<batchCount {
                DGEMM.multiply(av, bv, m: m, k: k, n: n, aOffset: ai[t] * m * k, bOffset: bi[t] * k * n, into: &out, outOffset: t * m * n)
            }
            return Tensor(unchecked: shape, data: .fp64(out))
        default:
            throw .invalidInput("MatMul does not accept \(a.dataType.rawValue) inputs")
        }
    }
}

/// Gemm: Y = alpha·A'·B' + beta·C. Constant B is packed and constant C pre-scaled at load.
struct GemmKernel: ONNXKernel {
    let transA: Bool
    let transB: Bool
    let alpha: Float
    let beta: Float
    let packed: PackedMatrix?
    /// beta·C when C is constant.
    let scaledC: Tensor?

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let a = try KernelInput.require(inputs, 0, "Gemm")
        guard a.shape.count == 2 else { throw .invalidInput("Gemm input A must be 2-D, got \(Tensor.describe(a.shape))") }
        guard case .fp32(var av) = a.data else {
            return [try doubleGemm(inputs)]
        }
        var m = a.shape[0], k = a.shape[1]
        if transA {
            av = Self.transpose(av, rows: m, cols: k)
            swap(&m, &k)
        }
        let b: PackedMatrix
        if let packed {
            b = packed
        } else {
            let bt = try KernelInput.require(inputs, 1, "Gemm")
            guard bt.shape.count == 2, case .fp32(let bv) = bt.data else {
                throw .invalidInput("Gemm input B must be a 2-D FP32 tensor")
            }
            b = PackedMatrix(bv, k: transB ? bt.shape[1] : bt.shape[0], n: transB ? bt.shape[0] : bt.shape[1], transposed: transB)
        }
        guard b.k == k else {
            throw .invalidInput("Gemm: A has \(k) columns but B has \(b.k) rows")
        }
        let n = b.n
        _ = try ShapeMath.count([m, n], what: "Gemm output")
        var out = [Float](repeating: 0, count: m * n)
        var c = scaledC
        if c == nil, inputs.count > 2, let given = inputs[2], beta != 0 {
            guard case .fp32(let cv) = given.data else { throw .invalidInput("Gemm input C must be FP32") }
            c = Tensor(unchecked: given.shape, data: .fp32(cv.map { $0 * beta }))
        }
        if let c, case .fp32(let cv) = c.data {
            guard Broadcast.shape(c.shape, [m, n]) == [m, n] else {
                throw .invalidInput("Gemm: C of shape \(Tensor.describe(c.shape)) does not broadcast to [\(m),\(n)]")
            }
            if cv.count == n {
                for i in 0..<m { for j in 0..<n { out[i * n + j] = cv[j] } }
            } else {
                let idx = Broadcast.sourceIndices(c.shape, to: [m, n])
                for i in 0..<(m * n) { out[i] = cv[idx[i]] }
            }
        }
        if alpha == 1 {
            av.withUnsafeBufferPointer { ap in
                out.withUnsafeMutableBufferPointer { op in
                    SGEMM.multiply(ap.baseAddress!, m: m, lda: k, b, into: op.baseAddress!, accumulate: true)
                }
            }
        } else {
            var product = [Float](repeating: 0, count: m * n)
            av.withUnsafeBufferPointer { ap in
                product.withUnsafeMutableBufferPointer { op in
                    SGEMM.multiply(ap.baseAddress!, m: m, lda: k, b, into: op.baseAddress!, accumulate: false)
                }
            }
            for i in 0..<(m * n) { out[i] += alpha * product[i] }
        }
        return [Tensor(unchecked: [m, n], data: .fp32(out))]
    }

    private func doubleGemm(_ inputs: [Tensor?]) throws(KeelError) -> Tensor {
        let a = try KernelInput.require(inputs, 0, "Gemm"), b = try KernelInput.require(inputs, 1, "Gemm")
        guard case .fp64(var av) = a.data, case .fp64(var bv) = b.data, b.shape.count == 2 else {
            throw .invalidInput("Gemm accepts FP32 or FP64 inputs, got \(a.dataType.rawValue)")
        }
        var m = a.shape[0], k = a.shape[1]
        if transA { av = Self.transpose(av, rows: m, cols: k); swap(&m, &k) }
        var k2 = b.shape[0], n = b.shape[1]
        if transB { bv = Self.transpose(bv, rows: k2, cols: n); swap(&k2, &n) }
        guard k == k2 else { throw .invalidInput("Gemm: A has \(k) columns but B has \(k2) rows") }
        _ = try ShapeMath.count([m, n], what: "Gemm output")
        var out = [Double](repeating: 0, count: m * n)
        DGEMM.multiply(av, bv, m: m, k: k, n: n, aOffset: 0, bOffset: 0, into: &out, outOffset: 0)
        for i in out.indices { out[i] *= Double(alpha) }
        if inputs.count > 2, let c = inputs[2], case .fp64(let cv) = c.data, beta != 0 {
            guard Broadcast.shape(c.shape, [m, n]) == [m, n] else {
                throw .invalidInput("Gemm: C of shape \(Tensor.describe(c.shape)) does not broadcast to [\(m),\(n)]")
            }
            let idx = Broadcast.sourceIndices(c.shape, to: [m, n])
            for i in out.indices { out[i] += Double(beta) * cv[idx[i]] }
        }
        return Tensor(unchecked: [m, n], data: .fp64(out))
    }

    static func transpose<T>(_ v: [T], rows: Int, cols: Int) -> [T] {
        guard let first = v.first else { return v }
        var out = [T](repeating: first, count: v.count)
        for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = v[r * cols + c] } }
        return out
    }
}

enum LinearAlgebraOps {
    static let registrations: [KernelRegistration] = [
        KernelRegistration(KernelRegistry.defaultDomain, "MatMul", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(2...2)
            try ctx.requireType(0, in: DataType.floatTypes)
            var packed: PackedMatrix?
            if let b = ctx.constant(1), b.shape.count == 2, case .fp32(let bv) = b.data, ctx.type(0) == .fp32 {
                packed = PackedMatrix(bv, k: b.shape[0], n: b.shape[1], transposed: false)
            }
            var shape: [Int]?
            if let a = ctx.input(0)?.shape, let b = ctx.input(1)?.shape, a.count == 2, b.count == 2 {
                shape = [a[0], b[1]]
            }
            return CompiledNode(kernel: MatMulKernel(packed: packed), outputs: [ValueInfo(ctx.type(0), shape)])
        },
        KernelRegistration(KernelRegistry.defaultDomain, "Gemm", 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(2...3)
            try ctx.requireType(0, in: DataType.floatTypes)
            if ctx.opset < 7, ctx.attributes.has("broadcast"), try ctx.attributes.int("broadcast", default: 0) == 0 {
                throw .unsupported("\(ctx.label): Gemm without broadcast (opset < 7) is not supported")
            }
            let transA = try ctx.attributes.int("transA", default: 0) != 0
            let transB = try ctx.attributes.int("transB", default: 0) != 0
            let alpha = try ctx.attributes.float("alpha", default: 1)
            let beta = try ctx.attributes.float("beta", default: 1)
            var packed: PackedMatrix?
            var n: Int?
            if let b = ctx.constant(1) {
                guard b.shape.count == 2 else { throw .invalidModel("\(ctx.label): B must be 2-D, got \(Tensor.describe(b.shape))") }
                n = transB ? b.shape[0] : b.shape[1]
                if case .fp32(let bv) = b.data {
                    packed = PackedMatrix(bv, k: transB ? b.shape[1] : b.shape[0], n: transB ? b.shape[0] : b.shape[1], transposed: transB)
                }
            }
            var scaledC: Tensor?
            if let c = ctx.constant(2), case .fp32(let cv) = c.data, beta != 0 {
                scaledC = Tensor(unchecked: c.shape, data: .fp32(cv.map { $0 * beta }))
            }
            let m = ctx.input(0)?.shape.flatMap { $0.count == 2 ? (transA ? $0[1] : $0[0]) : nil } ?? -1
            let kernel = GemmKernel(transA: transA, transB: transB, alpha: alpha, beta: beta, packed: packed, scaledC: scaledC)
            return CompiledNode(kernel: kernel, outputs: [ValueInfo(ctx.type(0), n.map { [m, $0] })])
        },
    ]
}
