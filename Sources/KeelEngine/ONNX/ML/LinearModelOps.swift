import KeelCore

/// Inputs of ONNX-ML numeric ops as FP32 rows: float as is, other numeric types converted
/// (as ONNX Runtime converts them before its float GEMM).
enum MLInput {
    static func floatRows(_ x: Tensor, op: String) throws(KeelError) -> (values: [Float], rows: Int, columns: Int) {
        guard x.shape.count == 1 || x.shape.count == 2 else {
            throw .invalidInput("\(op) takes a 1-D or 2-D input, got shape \(Tensor.describe(x.shape))")
        }
        let rows = x.shape.count == 1 ? 1 : x.shape[0]
        let columns = x.shape.count == 1 ? x.shape[0] : x.shape[1]
        switch x.data {
        case .fp32(let v): return (v, rows, columns)
        case .fp64(let v): return (v.map { Float($0) }, rows, columns)
        case .int64(let v): return (v.map { Float($0) }, rows, columns)
        case .int32(let v): return (v.map { Float($0) }, rows, columns)
        default: throw .invalidInput("\(op) expects FP32, FP64, INT64 or INT32 input, got \(x.dataType.rawValue)")
        }
    }
}

/// Scores = X·Wᵀ + b with the coefficients packed once at load.
struct LinearScores: Sendable {
    let weights: PackedMatrix
    let intercepts: [Float]

    init(coefficients: [Float], intercepts: [Float], targets: Int, label: String) throws(KeelError) {
        guard targets > 0, coefficients.count % targets == 0, !coefficients.isEmpty else {
            throw .invalidModel("\(label): \(coefficients.count) coefficients do not split into \(targets) rows")
        }
        guard intercepts.isEmpty || intercepts.count == targets else {
            throw .invalidModel("\(label): \(intercepts.count) intercepts for \(targets) targets")
        }
        weights = PackedMatrix(coefficients, k: coefficients.count / targets, n: targets, transposed: true)
        self.intercepts = intercepts.isEmpty ? Array(repeating: 0, count: targets) : intercepts
    }

    var features: Int { weights.k }
    var targets: Int { weights.n }

    func scores(_ x: Tensor, op: String) throws(KeelError) -> (values: [Float], rows: Int) {
        let (values, rows, columns) = try MLInput.floatRows(x, op: op)
        guard columns == features else {
            throw .invalidInput("\(op): input has \(columns) features, the model has \(features) coefficients per target")
        }
        let n = targets
        _ = try ShapeMath.count([rows, n], what: "\(op) output")
        var out = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows { for j in 0..<n { out[r * n + j] = intercepts[j] } }
        values.withUnsafeBufferPointer { a in
            out.withUnsafeMutableBufferPointer { o in
                if let base = a.baseAddress, rows > 0 {
                    SGEMM.multiply(base, m: rows, lda: columns, weights, into: o.baseAddress!, accumulate: true)
                }
            }
        }
        return (out, rows)
    }
}

/// LinearClassifier, finished as ONNX Runtime does (binary single-score models answer
/// [1 - s, s] without a transform; other scores get the post transform).
struct LinearClassifierKernel: ONNXKernel, ClassLabelled {
    let linear: LinearScores
    let labels: ClassLabels
    let post: PostTransform

    var classLabels: [String] { labels.names }

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "LinearClassifier")
        var (scores, rows) = try linear.scores(x, op: "LinearClassifier")
        let targets = linear.targets
        var labelIndex = [Int](repeating: 0, count: rows)
        if targets == 1 {
            for r in 0..<rows { labelIndex[r] = scores[r] > 0 ? 1 : 0 }
        } else {
            for r in 0..<rows {
                var best = 0
                for j in 1..<targets where scores[r * targets + j] > scores[r * targets + best] { best = j }
                labelIndex[r] = best
            }
        }
        let label: Tensor
        if targets == 1, labels.count != 2 {
            // No two labels to pick from: ONNX Runtime answers 1/0 (or "1"/"0").
            switch labels {
            case .ints: label = Tensor(unchecked: [rows], data: .int64(labelIndex.map { Int64($0) }))
            case .strings: label = Tensor(unchecked: [rows], data: .bytes(labelIndex.map { Array(String($0).utf8) }))
            }
        } else {
            label = labels.tensor(indices: labelIndex, shape: [rows])
        }
        if targets == 1 {
            if labels.count == 2 {
                var z = [Float](repeating: 0, count: rows * 2)
                for r in 0..<rows {
                    let s = post == .probit ? PostTransform.probit(scores[r]) : scores[r]
                    if post == .probit {
                        z[2 * r] = s
                    } else {
                        z[2 * r] = 1 - s
                        z[2 * r + 1] = s
                    }
                }
                return [label, Tensor(unchecked: [rows, 2], data: .fp32(z))]
            }
            if post == .probit { scores = scores.map(PostTransform.probit) }
            return [label, Tensor(unchecked: [rows, 1], data: .fp32(scores))]
        }
        scores.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows { post.apply(row: UnsafeMutableBufferPointer(rebasing: p[(r * targets)..<((r + 1) * targets)])) }
        }
        return [label, Tensor(unchecked: [rows, targets], data: .fp32(scores))]
    }
}

/// LinearRegressor: one target gets only PROBIT, several get the post transform per row.
struct LinearRegressorKernel: ONNXKernel {
    let linear: LinearScores
    let post: PostTransform

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "LinearRegressor")
        var (scores, rows) = try linear.scores(x, op: "LinearRegressor")
        let targets = linear.targets
        if targets == 1 {
            if post == .probit { scores = scores.map(PostTransform.probit) }
        } else if post != .none {
            scores.withUnsafeMutableBufferPointer { p in
                for r in 0..<rows { post.apply(row: UnsafeMutableBufferPointer(rebasing: p[(r * targets)..<((r + 1) * targets)])) }
            }
        }
        return [Tensor(unchecked: [rows, targets], data: .fp32(scores))]
    }
}

enum LinearMLOps {
    static let registrations: [KernelRegistration] = [
        KernelRegistration(KernelRegistry.mlDomain, "LinearClassifier", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let a = ctx.attributes
            guard let coefficients = try a.floats("coefficients") else { throw .invalidModel("\(ctx.label) has no coefficients") }
            let intercepts = try a.floats("intercepts") ?? []
            let labels = try ClassLabels(attributes: a, intsName: "classlabels_ints", label: ctx.label)
            let targets = intercepts.isEmpty ? labels.count : intercepts.count
            let linear = try LinearScores(coefficients: coefficients, intercepts: intercepts, targets: targets, label: ctx.label)
            let post = try PostTransform(attribute: a.string("post_transform", default: "NONE"), label: ctx.label)
            let columns = targets == 1 && labels.count == 2 ? 2 : targets
            return CompiledNode(
                kernel: LinearClassifierKernel(linear: linear, labels: labels, post: post),
                outputs: [ValueInfo(labels.dataType, [-1]), ValueInfo(.fp32, [-1, columns])])
        },
        KernelRegistration(KernelRegistry.mlDomain, "LinearRegressor", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let a = ctx.attributes
            guard let coefficients = try a.floats("coefficients") else { throw .invalidModel("\(ctx.label) has no coefficients") }
            let targets = try a.int("targets", default: 1)
            let linear = try LinearScores(coefficients: coefficients, intercepts: try a.floats("intercepts") ?? [], targets: targets, label: ctx.label)
            let post = try PostTransform(attribute: a.string("post_transform", default: "NONE"), label: ctx.label)
            return CompiledNode(kernel: LinearRegressorKernel(linear: linear, post: post), outputs: [ValueInfo(.fp32, [-1, targets])])
        },
    ]
}
