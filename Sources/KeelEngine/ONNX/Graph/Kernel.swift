import KeelCore

/// One operator instance compiled at load: attributes parsed and checked, constants
/// precomputed. `run` only computes; it is called concurrently, so kernels are immutable.
protocol ONNXKernel: Sendable {
    /// Runs on the node's inputs (nil for an absent optional input) and returns its outputs
    /// in order. Shapes that only the data reveals are checked here and reported as
    /// `invalidInput`.
    func run(_ inputs: [Tensor?]) throws(KeelError) -> [Tensor]
}

/// A kernel and what load-time inference knows about its outputs.
struct CompiledNode {
    var kernel: any ONNXKernel
    var outputs: [ValueInfo]
    /// False for kernels whose result must not be computed at load even if every input is
    /// constant (none today; kept so a random or stateful op can opt out).
    var foldable: Bool = true
}

/// Builds a kernel from a node at load.
typealias KernelFactory = @Sendable (NodeContext) throws(KeelError) -> CompiledNode

/// Everything a kernel factory may look at: the node, its attributes, its opset and what is
/// statically known about its inputs (types, shapes, constant values).
struct NodeContext {
    let name: String
    let opType: String
    let domain: String
    let opset: Int
    let attributes: NodeAttributes
    /// Static info per input; nil for an absent optional input.
    let inputs: [ValueInfo?]
    /// Constant value per input when it is an initializer or folded at load.
    let constants: [Tensor?]
    let outputCount: Int
    /// The model's load budget, charged by factories that build large structures (tree ensembles).
    let budget: LoadBudget

    /// `node 'n' (Op)` for messages.
    var label: String { "node '\(name)' (\(opType))" }

    func input(_ i: Int) -> ValueInfo? { i < inputs.count ? inputs[i] : nil }
    func constant(_ i: Int) -> Tensor? { i < constants.count ? constants[i] : nil }
    func hasInput(_ i: Int) -> Bool { i < inputs.count && inputs[i] != nil }

    /// Checks the number of inputs the node gives.
    func requireInputs(_ range: ClosedRange<Int>) throws(KeelError) {
        let given = inputs.count
        guard range.contains(given) else {
            let expected = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
            throw .invalidModel("\(label) has \(given) inputs, \(opType) takes \(expected)")
        }
        for i in 0..<min(given, range.lowerBound) where inputs[i] == nil {
            throw .invalidModel("\(label) is missing its required input \(i)")
        }
    }

    /// A constant integer-list input (shape, axes, indices…) that the op needs at load.
    func constantInts(_ i: Int, what: String) throws(KeelError) -> [Int]? {
        guard hasInput(i) else { return nil }
        guard let t = constant(i) else { return nil }
        guard let v = t.data.ints else {
            throw .invalidModel("\(label): \(what) must be an integer tensor, got \(t.dataType.rawValue)")
        }
        return v
    }

    /// Element type of input `i`, if known.
    func type(_ i: Int) -> DataType? { input(i)?.dataType }

    /// Requires input `i`'s type (when known statically) to be one of `allowed`.
    func requireType(_ i: Int, in allowed: [DataType]) throws(KeelError) {
        guard let t = type(i) else { return }
        guard allowed.contains(t) else {
            throw .invalidModel("\(label): input \(i) has type \(t.rawValue); \(opType) accepts \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
    }
}

/// Convenience for kernels: typed views with errors naming the op.
enum KernelInput {
    static func require(_ inputs: [Tensor?], _ i: Int, _ op: String) throws(KeelError) -> Tensor {
        guard i < inputs.count, let t = inputs[i] else {
            throw .invalidInput("\(op): missing input \(i)")
        }
        return t
    }

    static func floats(_ t: Tensor, _ op: String) throws(KeelError) -> [Float] {
        guard case .fp32(let v) = t.data else {
            throw .invalidInput("\(op) expects FP32 input, got \(t.dataType.rawValue)")
        }
        return v
    }
}

extension DataType {
    static let floatTypes: [DataType] = [.fp32, .fp64]
    static let numericTypes: [DataType] = [.fp32, .fp64, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64]
    static let allTypes: [DataType] = DataType.allCases
}
