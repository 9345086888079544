import KeelCore

/// Scaler: Y = (X - offset) · scale per column (FP32 out).
struct ScalerKernel: ONNXKernel {
    let offset: [Float]
    let scale: [Float]

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Scaler")
        let (v, _, columns) = try MLInput.floatRows(x, op: "Scaler")
        for (name, list) in [("offset", offset), ("scale", scale)] where list.count != 1 && list.count != columns {
            throw .invalidInput("Scaler: input has \(columns) columns, the model's \(name) has \(list.count) values")
        }
        var out = [Float](repeating: 0, count: v.count)
        let so = offset.count == 1 ? 0 : 1, ss = scale.count == 1 ? 0 : 1
        v.withUnsafeBufferPointer { p in
            for i in 0..<p.count {
                let c = columns == 0 ? 0 : i % columns
                out[i] = (p[i] - offset[c * so]) * scale[c * ss]
            }
        }
        return [Tensor(unchecked: x.shape, data: .fp32(out))]
    }
}

/// Normalizer: rows scaled by their MAX, L1 or L2 norm (ONNX Runtime leaves all-zero rows).
struct NormalizerKernel: ONNXKernel {
    enum Norm: String, Sendable { case max = "MAX", l1 = "L1", l2 = "L2" }
    let norm: Norm

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Normalizer")
        let (v, rows, columns) = try MLInput.floatRows(x, op: "Normalizer")
        var out = v
        for r in 0..<rows {
            let row = (r * columns)..<((r + 1) * columns)
            switch norm {
            case .max:
                var top = -Float.greatestFiniteMagnitude
                for i in row { top = Swift.max(top, v[i]) }
                if top != 0 { for i in row { out[i] = v[i] / top } }
            case .l1:
                var sum: Float = 0
                for i in row { sum += abs(v[i]) }
                if sum != 0 { for i in row { out[i] = v[i] / sum } }
            case .l2:
                var sum: Float = 0
                for i in row { sum += v[i] * v[i] }
                if sum != 0 {
                    for i in row {
                        let s = (v[i] * v[i] / sum).squareRoot()
                        out[i] = v[i] < 0 ? -s : s
                    }
                }
            }
        }
        return [Tensor(unchecked: x.shape, data: .fp32(out))]
    }
}

/// Binarizer: 1 where x > threshold, else 0 (same type as the input).
struct BinarizerKernel: ONNXKernel {
    let threshold: Float

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Binarizer")
        switch x.data {
        case .fp32(let v): return [Tensor(unchecked: x.shape, data: .fp32(v.map { $0 > threshold ? 1 : ($0.isNaN ? $0 : 0) }))]
        case .fp64(let v): return [Tensor(unchecked: x.shape, data: .fp64(v.map { $0 > Double(threshold) ? 1 : ($0.isNaN ? $0 : 0) }))]
        case .int64(let v): return [Tensor(unchecked: x.shape, data: .int64(v.map { Float($0) > threshold ? 1 : 0 }))]
        case .int32(let v): return [Tensor(unchecked: x.shape, data: .int32(v.map { Float($0) > threshold ? 1 : 0 }))]
        default: throw .invalidInput("Binarizer expects a numeric input, got \(x.dataType.rawValue)")
        }
    }
}

/// Imputer: replaces the "missing" marker (NaN by default for floats) per column.
struct ImputerKernel: ONNXKernel {
    let floats: [Float]
    let replacedFloat: Float
    let ints: [Int64]
    let replacedInt: Int64

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "Imputer")
        let columns = x.shape.last ?? 1
        switch x.data {
        case .fp32(let v):
            guard floats.count == 1 || floats.count == columns else {
                throw .invalidInput("Imputer: input has \(columns) columns, the model imputes \(floats.count)")
            }
            let nanMarker = replacedFloat.isNaN
            var out = v
            for i in 0..<v.count where (nanMarker && v[i].isNaN) || v[i] == replacedFloat {
                out[i] = floats[floats.count == 1 ? 0 : i % columns]
            }
            return [Tensor(unchecked: x.shape, data: .fp32(out))]
        case .int64(let v):
            guard ints.count == 1 || ints.count == columns else {
                throw .invalidInput("Imputer: input has \(columns) columns, the model imputes \(ints.count)")
            }
            var out = v
            for i in 0..<v.count where v[i] == replacedInt { out[i] = ints[ints.count == 1 ? 0 : i % columns] }
            return [Tensor(unchecked: x.shape, data: .int64(out))]
        default:
            throw .invalidInput("Imputer expects FP32 or INT64 input, got \(x.dataType.rawValue)")
        }
    }
}

/// ArrayFeatureExtractor: picks columns of the last dimension by index.
struct ArrayFeatureExtractorKernel: ONNXKernel {
    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "ArrayFeatureExtractor")
        let y = try KernelInput.require(inputs, 1, "ArrayFeatureExtractor")
        guard let indices = y.data.ints, y.dataType == .int64 || y.dataType == .int32 else {
            throw .invalidInput("ArrayFeatureExtractor indices must be INT64, got \(y.dataType.rawValue)")
        }
        guard let columns = x.shape.last, !indices.isEmpty else {
            throw .invalidInput("ArrayFeatureExtractor needs a non-scalar input and at least one index")
        }
        for i in indices where i < 0 || i >= columns {
            throw .invalidInput("ArrayFeatureExtractor: index \(i) is out of range for \(columns) columns")
        }
        let rows = columns == 0 ? 0 : x.count / columns
        let shape = x.shape.count == 1 ? [1, indices.count] : Array(x.shape.dropLast()) + [indices.count]
        _ = try ShapeMath.count(shape, what: "ArrayFeatureExtractor output")
        var picks: [Int] = []
        picks.reserveCapacity(rows * indices.count)
        for r in 0..<rows { for i in indices { picks.append(r * columns + i) } }
        return [Tensor(unchecked: shape, data: x.data.gathered(picks))]
    }
}

/// FeatureVectorizer: concatenates inputs' columns (each padded or cut to its declared width).
struct FeatureVectorizerKernel: ONNXKernel {
    let dimensions: [Int]

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let parts = inputs.compactMap { $0 }
        guard parts.count == dimensions.count else {
            throw .invalidInput("FeatureVectorizer: \(parts.count) inputs for \(dimensions.count) declared dimensions")
        }
        let rows = parts.first.map { $0.shape.count <= 1 ? 1 : $0.shape[0] } ?? 0
        let width = dimensions.reduce(0, +)
        _ = try ShapeMath.count([rows, width], what: "FeatureVectorizer output")
        var out = [Float](repeating: 0, count: rows * width)
        var offset = 0
        for (k, part) in parts.enumerated() {
            let (v, partRows, columns) = try MLInput.floatRows(part, op: "FeatureVectorizer")
            guard partRows == rows else { throw .invalidInput("FeatureVectorizer inputs have different row counts") }
            let take = min(columns, dimensions[k])
            for r in 0..<rows { for c in 0..<take { out[r * width + offset + c] = v[r * columns + c] } }
            offset += dimensions[k]
        }
        return [Tensor(unchecked: [rows, width], data: .fp32(out))]
    }
}

enum PreprocessingOps {
    static let registrations: [KernelRegistration] = [
        KernelRegistration(KernelRegistry.mlDomain, "Scaler", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let offset = try ctx.attributes.floats("offset") ?? [0]
            let scale = try ctx.attributes.floats("scale") ?? [1]
            guard !offset.isEmpty, !scale.isEmpty else { throw .invalidModel("\(ctx.label): empty offset or scale") }
            return CompiledNode(kernel: ScalerKernel(offset: offset, scale: scale), outputs: [ValueInfo(.fp32, ctx.input(0)?.shape)])
        },
        KernelRegistration(KernelRegistry.mlDomain, "Normalizer", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let name = try ctx.attributes.string("norm", default: "MAX")
            guard let norm = NormalizerKernel.Norm(rawValue: name) else {
                throw .invalidModel("\(ctx.label): unknown norm '\(name)'; expected MAX, L1 or L2")
            }
            return CompiledNode(kernel: NormalizerKernel(norm: norm), outputs: [ValueInfo(.fp32, ctx.input(0)?.shape)])
        },
        KernelRegistration(KernelRegistry.mlDomain, "Binarizer", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            return CompiledNode(kernel: BinarizerKernel(threshold: try ctx.attributes.float("threshold", default: 0)), outputs: [ctx.input(0) ?? .unknown])
        },
        KernelRegistration(KernelRegistry.mlDomain, "Imputer", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...1)
            let a = ctx.attributes
            let floats = try a.floats("imputed_value_floats") ?? []
            let ints = try a.int64s("imputed_value_int64s") ?? []
            guard !floats.isEmpty || !ints.isEmpty else { throw .invalidModel("\(ctx.label) has no imputed values") }
            let kernel = ImputerKernel(
                floats: floats, replacedFloat: try a.float("replaced_value_float", default: 0),
                ints: ints, replacedInt: Int64(try a.int("replaced_value_int64", default: 0)))
            return CompiledNode(kernel: kernel, outputs: [ctx.input(0) ?? .unknown])
        },
        KernelRegistration(KernelRegistry.mlDomain, "ArrayFeatureExtractor", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(2...2)
            return CompiledNode(kernel: ArrayFeatureExtractorKernel(), outputs: [ValueInfo(ctx.type(0), nil)])
        },
        KernelRegistration(KernelRegistry.mlDomain, "FeatureVectorizer", 1...5) { ctx throws(KeelError) in
            try ctx.requireInputs(1...Int.max)
            guard let dims = try ctx.attributes.ints("inputdimensions"), dims.count == ctx.inputs.count,
                  dims.allSatisfy({ (0...ShapeMath.maxElements).contains($0) }) else {
                throw .invalidModel("\(ctx.label): inputdimensions must list one width (0 to \(ShapeMath.maxElements)) per input")
            }
            guard dims.reduce(0, +) <= ShapeMath.maxElements else {
                throw .invalidModel("\(ctx.label): inputdimensions add up to more than \(ShapeMath.maxElements) columns")
            }
            return CompiledNode(kernel: FeatureVectorizerKernel(dimensions: dims), outputs: [ValueInfo(.fp32, [-1, dims.reduce(0, +)])])
        },
    ]
}
