import KeelCore

/// Equal, Less, Greater, LessOrEqual, GreaterOrEqual with broadcasting (BOOL result), and the
/// logical And, Or, Xor.
struct ComparisonKernel: ONNXKernel {
    enum Op: String, Sendable, CaseIterable {
        case equal = "Equal", less = "Less", greater = "Greater", lessOrEqual = "LessOrEqual"
        case greaterOrEqual = "GreaterOrEqual", and = "And", or = "Or", xor = "Xor"
        var isLogical: Bool { self == .and || self == .or || self == .xor }
    }
    let op: Op

    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor] {
        let a = try KernelInput.require(inputs, 0, op.rawValue)
        let b = try KernelInput.require(inputs, 1, op.rawValue)
        guard a.dataType == b.dataType else {
            throw .invalidInput("\(op.rawValue) needs inputs of one type, got \(a.dataType.rawValue) and \(b.dataType.rawValue)")
        }
        switch (a.data, b.data) {
        case (.fp32(let x), .fp32(let y)): return [try compare(x, a.shape, y, b.shape)]
        case (.fp64(let x), .fp64(let y)): return [try compare(x, a.shape, y, b.shape)]
        case (.int64(let x), .int64(let y)): return [try compare(x, a.shape, y, b.shape)]
        case (.int32(let x), .int32(let y)): return [try compare(x, a.shape, y, b.shape)]
        case (.bool(let x), .bool(let y)):
            let r: (values: [Bool], shape: [Int])
            switch op {
            case .and: r = try Broadcast.apply(x, a.shape, y, b.shape, op: op.rawValue) { $0 && $1 }
            case .or: r = try Broadcast.apply(x, a.shape, y, b.shape, op: op.rawValue) { $0 || $1 }
            case .xor, .greater: r = try Broadcast.apply(x, a.shape, y, b.shape, op: op.rawValue) { $0 != $1 }
            case .equal: r = try Broadcast.apply(x, a.shape, y, b.shape, op: op.rawValue) { $0 == $1 }
            case .less: r = try Broadcast.apply(x, a.shape, y, b.shape, op: op.rawValue) { !$0 && $1 }
            case .lessOrEqual: r = try Broadcast.apply(x, a.shape, y, b.shape, op: op.rawValue) { !$0 || $1 }
            case .greaterOrEqual: r = try Broadcast.apply(x, a.shape, y, b.shape, op: op.rawValue) { $0 || !$1 }
            }
            return [Tensor(unchecked: r.shape, data: .bool(r.values))]
        case (.bytes(let x), .bytes(let y)) where op == .equal:
            let r = try Broadcast.apply(x, a.shape, y, b.shape, op: op.rawValue) { $0 == $1 }
            return [Tensor(unchecked: r.shape, data: .bool(r.values))]
        default:
            throw .invalidInput("\(op.rawValue) does not accept \(a.dataType.rawValue) inputs")
        }
    }

    private func compare<T: Comparable>(_ x: [T], _ xs: [Int], _ y: [T], _ ys: [Int]) throws(KeelError) -> Tensor {
        let r: (values: [Bool], shape: [Int])
        switch op {
        case .equal: r = try Broadcast.apply(x, xs, y, ys, op: op.rawValue) { $0 == $1 }
        case .less: r = try Broadcast.apply(x, xs, y, ys, op: op.rawValue) { $0 < $1 }
        case .greater: r = try Broadcast.apply(x, xs, y, ys, op: op.rawValue) { $0 > $1 }
        case .lessOrEqual: r = try Broadcast.apply(x, xs, y, ys, op: op.rawValue) { $0 <= $1 }
        case .greaterOrEqual: r = try Broadcast.apply(x, xs, y, ys, op: op.rawValue) { $0 >= $1 }
        case .and, .or, .xor: throw .invalidInput("\(op.rawValue) needs BOOL inputs")
        }
        return Tensor(unchecked: r.shape, data: .bool(r.values))
    }
}

enum ComparisonOps {
    static let registrations: [KernelRegistration] = ComparisonKernel.Op.allCases.map { op in
        KernelRegistration(KernelRegistry.defaultDomain, op.rawValue, 1...23) { ctx throws(KeelError) in
            try ctx.requireInputs(2...2)
            if op.isLogical { try ctx.requireType(0, in: [.bool]) }
            return CompiledNode(kernel: ComparisonKernel(op: op), outputs: [broadcastInfo(ctx, type: .bool)])
        }
    }
}
