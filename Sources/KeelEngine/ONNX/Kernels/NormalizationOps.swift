import KeelCore

/// BatchNormalization in inference mode, folded at load to y = x·scale' + bias' per channel
/// (channel = dimension 1).
struct BatchNormKernel: ONNXKernel {
    let scale: [Float]
    let shift: [Float]

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let x = try KernelInput.require(inputs, 0, "BatchNormalization")
        let v = try KernelInput.floats(x, "BatchNormalization")
        let channels = scale.count
        guard x.shape.count >= 2, x.shape[1] == channels else {
            throw .invalidInput("BatchNormalization: input of shape \(Tensor.describe(x.shape)) needs \(channels) channels in dimension 1")
        }
        let inner = x.shape[2...].reduce(1, *)
        var out = v
        for i in 0..<v.count {
            let c = (i / inner) % channels
            out[i] = v[i] * scale[c] + shift[c]
        }
        return [Tensor(unchecked: x.shape, data: .fp32(out))]
    }
}

enum NormalizationOps {
    static let registrations: [KernelRegistration] = [
        KernelRegistration(KernelRegistry.defaultDomain, "BatchNormalization", 6...23) { ctx throws(KeelError) in
            try ctx.requireInputs(5...5)
            if try ctx.attributes.int("training_mode", default: 0) != 0 {
                throw .unsupported("\(ctx.label): training_mode=1 is not supported; export the model in eval mode")
            }
            let epsilon = Double(try ctx.attributes.float("epsilon", default: 1e-5))
            var params: [[Double]] = []
            for i in 1...4 {
                guard let t = ctx.constant(i), let d = t.data.doubles else {
                    throw .unsupported("\(ctx.label): scale, bias, mean and variance must be constant initializers")
                }
                params.append(d)
            }
            let n = params[0].count
            guard params.allSatisfy({ $0.count == n }) else { throw .invalidModel("\(ctx.label): parameter lengths differ") }
            // Computed in Float like ONNX Runtime: (x - mean) / sqrt(var + eps) * scale + bias.
            var scale = [Float](repeating: 0, count: n), shift = [Float](repeating: 0, count: n)
            for c in 0..<n {
                let s = Float(params[0][c]) / (Float(params[3][c]) + Float(epsilon)).squareRoot()
                scale[c] = s
                shift[c] = Float(params[1][c]) - Float(params[2][c]) * s
            }
            return CompiledNode(kernel: BatchNormKernel(scale: scale, shift: shift), outputs: [ctx.input(0) ?? .unknown])
        },
    ]
}
