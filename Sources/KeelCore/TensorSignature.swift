/// Name, datatype and shape of a model input or output; -1 marks a variable dimension.
public struct TensorSignature: Sendable, Equatable, Codable, Hashable {
    public var name: String
    public var dataType: DataType
    public var shape: [Int]

    public init(name: String, dataType: DataType, shape: [Int]) {
        self.name = name
        self.dataType = dataType
        self.shape = shape
    }

    /// Whether a concrete shape fits this signature's shape (same rank, fixed dims equal).
    public func accepts(shape actual: [Int]) -> Bool {
        guard actual.count == shape.count else { return false }
        return zip(shape, actual).allSatisfy { $0 < 0 || $0 == $1 }
    }

    /// Checks a tensor against this signature, naming the mismatch in the error.
    public func validate(_ tensor: Tensor) throws(KeelError) {
        guard tensor.dataType == dataType else {
            throw .invalidInput(
                "input '\(name)' has datatype \(tensor.dataType.rawValue), model expects \(dataType.rawValue)")
        }
        guard accepts(shape: tensor.shape) else {
            throw .invalidInput(
                "input '\(name)' has shape \(Tensor.describe(tensor.shape)), model expects \(Tensor.describe(shape))")
        }
    }
}
