import KeelCore

/// TreeEnsembleClassifier, TreeEnsembleRegressor (ai.onnx.ml 1–3) and TreeEnsemble
/// (ai.onnx.ml 5), evaluated by the shared tree evaluator and finished the way ONNX Runtime's
/// aggregators finish them (base values, binary-classifier special cases, post transform).
struct TreeEnsembleKernel: ONNXKernel, ClassLabelled {
    enum Kind: Sendable {
        case classifier(ClassLabels, binaryCase: Bool, allPositive: Bool)
        case regressor
        /// Opset-5 TreeEnsemble: the output has the input's float type.
        case ensemble
    }

    let kind: Kind
    let ensemble: TreeEnsemble
    let treeCount: Int
    let base: [Float]
    /// Targets (classes) of the model; the ensemble has twice as many when `trackScores`.
    let targets: Int
    /// Targets every row receives; others are decided per row from the contribution counts.
    let alwaysScored: [Bool]
    let trackScores: Bool
    let aggregation: TreeAggregation
    let post: PostTransform
    let name: String

    var classLabels: [String] {
        if case .classifier(let labels, _, _) = kind { return labels.names }
        return []
    }

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, name)
        let features = ensemble.featureCount
        guard x.shape.count == 1 || x.shape.count == 2 else {
            throw .invalidInput("\(name) takes a 1-D or 2-D input, got shape \(Tensor.describe(x.shape))")
        }
        let rows = x.shape.count == 1 ? 1 : x.shape[0]
        let columns = x.shape.count == 1 ? x.shape[0] : x.shape[1]
        guard columns >= features else {
            throw .invalidInput("\(name): the model reads feature \(features - 1) but the input has \(columns) columns")
        }
        // Inputs of other types compare as Float, as ONNX Runtime compares them with float thresholds.
        var values: [Float]
        switch x.data {
        case .fp32(let v): values = v
        case .fp64(let v): values = v.map { Float($0) }
        case .int64(let v): values = v.map { Float($0) }
        case .int32(let v): values = v.map { Float($0) }
        default: throw .invalidInput("\(name) expects FP32, FP64, INT64 or INT32 input, got \(x.dataType.rawValue)")
        }
        if columns != features {
            values = (0..<(rows * features)).map { values[($0 / features) * columns + $0 % features] }
        }
        let width = ensemble.targetCount
        _ = try ShapeMath.count([rows, width], what: "\(name) output")
        var margins = [Double](repeating: 0, count: rows * width)
        values.withUnsafeBufferPointer { input in
            margins.withUnsafeMutableBufferPointer { ensemble.margins(input, rows: rows, into: $0) }
        }
        // Split off the per-row contribution counts, if tracked.
        var scored = [Bool](repeating: true, count: rows * targets)
        var sums = margins
        if trackScores {
            sums = [Double](repeating: 0, count: rows * targets)
            for r in 0..<rows {
                for k in 0..<targets {
                    sums[r * targets + k] = margins[r * width + k]
                    scored[r * targets + k] = alwaysScored[k] || margins[r * width + targets + k] != 0
                }
            }
        } else {
            for r in 0..<rows { for k in 0..<targets { scored[r * targets + k] = alwaysScored[k] } }
        }
        switch kind {
        case .classifier(let labels, let binaryCase, let allPositive):
            return classify(sums, scored, rows: rows, labels: labels, binaryCase: binaryCase, allPositive: allPositive)
        case .regressor:
            return [Tensor(unchecked: [rows, targets], data: .fp32(regress(sums, scored, rows: rows)))]
        case .ensemble:
            let out = regress(sums, scored, rows: rows)
            if x.dataType == .fp64 { return [Tensor(unchecked: [rows, targets], data: .fp64(out.map(Double.init)))] }
            return [Tensor(unchecked: [rows, targets], data: .fp32(out))]
        }
    }

    /// Regressor finishing: one target adds the single base value and only PROBIT applies;
    /// several targets add per-target base values to the targets a row received (the others
    /// are 0, as in ONNX Runtime) and then the post transform.
    private func regress(_ sums: [Double], _ scored: [Bool], rows: Int) -> [Float] {
        var out = sums.map { Float($0) }
        if targets == 1 {
            let origin: Float = base.count == 1 ? base[0] : 0
            for r in 0..<rows {
                out[r] += origin
                if post == .probit { out[r] = PostTransform.probit(out[r]) }
            }
            return out
        }
        let useBase = base.count == targets
        out.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows {
                for k in 0..<targets {
                    let i = r * targets + k
                    p[i] = scored[i] ? (useBase ? p[i] + base[k] : p[i]) : 0
                }
                post.apply(row: UnsafeMutableBufferPointer(rebasing: p[(r * targets)..<((r + 1) * targets)]))
            }
        }
        return out
    }

    private func classify(
        _ sums: [Double], _ scored: [Bool], rows: Int, labels: ClassLabels, binaryCase: Bool, allPositive: Bool
    ) -> [Tensor] {
        let classes = targets
        var z = [Float](repeating: 0, count: rows * classes)
        var labelIndex = [Int](repeating: 0, count: rows)
        var literal = [Bool](repeating: false, count: rows)
        var scores = [Float](repeating: 0, count: classes)
        for r in 0..<rows {
            for k in 0..<classes { scores[k] = Float(sums[r * classes + k]) }
            if classes > 2 {
                for k in 0..<min(base.count, classes) { scores[k] += base[k] }
                var best = -1
                for k in 0..<classes where (scored[r * classes + k] || k < base.count) && (best == -1 || scores[k] > scores[best]) { best = k }
                labelIndex[r] = max(best, 0)
                scores.withUnsafeMutableBufferPointer { post.apply(row: $0) }
                for k in 0..<classes { z[r * classes + k] = scores[k] }
                continue
            }
            // Two classes: ONNX Runtime's binary rules.
            var s0 = scores[0], s1 = classes > 1 ? scores[1] : 0
            let h0 = scored[r * classes], h1 = classes > 1 && scored[r * classes + 1]
            var size = 2
            var additional = -1
            if base.count == 2 {
                if h1 {
                    s1 = base[1] + s0
                    s0 = -s1
                } else {
                    s1 += base[1]
                    s0 += base[0]
                }
            } else if base.count == 1 {
                s0 += base[0]
                if !h1 { size = 1 }
            } else if base.isEmpty {
                additional = 3
                if !h1 { size = 1 }
            }
            let positive: Float = (size == 2 && h1) ? s1 : (h0 ? s0 : 0)
            if binaryCase {
                if allPositive {
                    (labelIndex[r], additional) = positive > 0.5 ? (1, 0) : (0, 1)
                } else {
                    (labelIndex[r], additional) = positive > 0 ? (1, 2) : (0, 3)
                }
            } else {
                labelIndex[r] = positive > 0 ? 1 : 0
                literal[r] = true
            }
            if size == 2 {
                var pair = [s0, s1]
                pair.withUnsafeMutableBufferPointer { post.apply(row: $0) }
                z[r * classes] = pair[0]
                if classes > 1 { z[r * classes + 1] = pair[1] }
            } else if post == .probit {
                z[r * classes] = PostTransform.probit(s0)
            } else {
                switch additional {
                case 0, 1:
                    z[r * classes] = 1 - s0
                    if classes > 1 { z[r * classes + 1] = s0 }
                case 2, 3:
                    let (a, b) = post == .logistic ? (PostTransform.logistic(-s0), PostTransform.logistic(s0)) : (-s0, s0)
                    z[r * classes] = a
                    if classes > 1 { z[r * classes + 1] = b }
                default:
                    z[r * classes] = s0
                }
            }
        }
        let labelTensor: Tensor
        switch labels {
        case .ints(let v):
            // Outside the binary case ONNX Runtime answers the literal 1 or 0.
            let out = (0..<rows).map { literal[$0] ? Int64(labelIndex[$0]) : v[labelIndex[$0]] }
            labelTensor = Tensor(unchecked: [rows], data: .int64(out))
        case .strings:
            labelTensor = labels.tensor(indices: labelIndex, shape: [rows])
        }
        return [labelTensor, Tensor(unchecked: [rows, classes], data: .fp32(z))]
    }
}

enum TreeEnsembleOps {
    static let registrations: [KernelRegistration] = [
        KernelRegistration(KernelRegistry.mlDomain, "TreeEnsembleClassifier", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let a = ctx.attributes
            let labels = try ClassLabels(attributes: a, intsName: "classlabels_int64s", label: ctx.label)
            let spec = try ONNXTreeSpec.v3(a, prefix: "class", targetCount: labels.count, label: ctx.label, budget: ctx.budget)
            let classIds = try a.ints("class_ids") ?? []
            let weights = try a.reals("class_weights") ?? []
            let binaryCase = labels.count == 2 && Set(classIds).count == 1
            let allPositive = !weights.contains { $0 < 0 }
            // ONNX Runtime's classifier always sums the trees, whatever aggregate_function says.
            return try compile(ctx, spec: spec, kind: .classifier(labels, binaryCase: binaryCase, allPositive: allPositive), aggregate: "SUM")
        },
        KernelRegistration(KernelRegistry.mlDomain, "TreeEnsembleRegressor", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            guard let targets = try ctx.attributes.int("n_targets"), targets > 0 else {
                throw .invalidModel("\(ctx.label) needs n_targets > 0")
            }
            let spec = try ONNXTreeSpec.v3(ctx.attributes, prefix: "target", targetCount: targets, label: ctx.label, budget: ctx.budget)
            return try compile(ctx, spec: spec, kind: .regressor, aggregate: try ctx.attributes.string("aggregate_function", default: "SUM"))
        },
        KernelRegistration(KernelRegistry.mlDomain, "TreeEnsemble", 5...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let spec = try ONNXTreeSpec.v5(ctx.attributes, label: ctx.label, budget: ctx.budget)
            // Integer codes decoded as ONNX Runtime decodes them (its enum order).
            let aggregates = [0: "AVERAGE", 1: "SUM", 2: "MIN", 3: "MAX"]
            let transforms = [0: "NONE", 1: "LOGISTIC", 2: "SOFTMAX", 3: "SOFTMAX_ZERO", 4: "PROBIT"]
            guard let aggregate = aggregates[try ctx.attributes.int("aggregate_function", default: 1)],
                  let transform = transforms[try ctx.attributes.int("post_transform", default: 0)] else {
                throw .invalidModel("\(ctx.label): aggregate_function or post_transform is out of range")
            }
            return try compile(ctx, spec: spec, kind: .ensemble, aggregate: aggregate, transform: transform)
        },
    ]

    private static func compile(
        _ ctx: NodeContext, spec: ONNXTreeSpec, kind: TreeEnsembleKernel.Kind, aggregate: String, transform: String? = nil
    ) throws(KeelError) -> CompiledNode {
        try ctx.requireType(0, in: [.fp32, .fp64, .int64, .int32])
        var transformName = transform ?? "NONE"
        if transform == nil { transformName = try ctx.attributes.string("post_transform", default: "NONE") }
        let post = try PostTransform(attribute: transformName, label: ctx.label)
        var base: [Double]
        if case .ensemble = kind { base = [] } else { base = try ctx.attributes.reals("base_values") ?? [] }
        let declared = ctx.input(0)?.shape.flatMap { $0.count == 2 ? $0[1] : ($0.count == 1 ? $0[0] : nil) } ?? -1
        guard spec.maxFeature < TreeLimits.maxFeatures, declared <= TreeLimits.maxFeatures else {
            throw .invalidModel("\(ctx.label) reads more than \(TreeLimits.maxFeatures) features")
        }
        guard spec.targetCount <= TreeLimits.maxOutputs else {
            throw .invalidModel("\(ctx.label) has \(spec.targetCount) targets; at most \(TreeLimits.maxOutputs)")
        }
        let features = max(declared, spec.maxFeature + 1, 1)
        if declared > 0, spec.maxFeature >= declared {
            throw .invalidModel("\(ctx.label) reads feature \(spec.maxFeature) but its input has \(declared) columns")
        }
        // Built with a placeholder to count trees first (AVERAGE divides by the tree count).
        var aggregation: TreeAggregation = .sum
        let firstWeightOnly = spec.targetCount == 1
        let (always, ever) = spec.scoreCoverage
        let trackScores = !firstWeightOnly && (0..<spec.targetCount).contains { ever[$0] && !always[$0] }
        var (ensemble, trees) = try spec.build(
            featureCount: features, aggregation: .sum, firstWeightOnly: firstWeightOnly, trackScores: trackScores,
            budget: ctx.budget)
        switch aggregate {
        case "SUM": aggregation = .sum
        case "AVERAGE": aggregation = .average(divisor: Double(max(trees, 1)))
        case "MIN": aggregation = .min
        case "MAX": aggregation = .max
        default: throw .invalidModel("\(ctx.label): unknown aggregate_function '\(aggregate)'")
        }
        if aggregation != .sum {
            (ensemble, trees) = try spec.build(
                featureCount: features, aggregation: aggregation, firstWeightOnly: firstWeightOnly, trackScores: trackScores,
                budget: ctx.budget)
        }
        if base.isEmpty == false, case .regressor = kind, spec.targetCount > 1, base.count != spec.targetCount, base.count != 1 {
            throw .invalidModel("\(ctx.label) has \(base.count) base values for \(spec.targetCount) targets")
        }
        let kernel = TreeEnsembleKernel(
            kind: kind, ensemble: ensemble, treeCount: trees, base: base.map { Float($0) }, targets: spec.targetCount,
            alwaysScored: firstWeightOnly ? [true] : always, trackScores: trackScores,
            aggregation: aggregation, post: post, name: ctx.opType)
        let rows = ctx.input(0)?.shape.flatMap { $0.count == 2 ? $0[0] : 1 } ?? -1
        switch kind {
        case .classifier(let labels, _, _):
            return CompiledNode(kernel: kernel, outputs: [ValueInfo(labels.dataType, [rows]), ValueInfo(.fp32, [rows, spec.targetCount])])
        case .regressor:
            return CompiledNode(kernel: kernel, outputs: [ValueInfo(.fp32, [rows, spec.targetCount])])
        case .ensemble:
            return CompiledNode(kernel: kernel, outputs: [ValueInfo(ctx.type(0) == .fp64 ? .fp64 : .fp32, [rows, spec.targetCount])])
        }
    }
}
