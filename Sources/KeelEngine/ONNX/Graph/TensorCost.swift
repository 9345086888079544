import KeelCore

/// What a tensor's elements occupy in memory, for charging the load budget.
enum TensorCost {
    static func bytes(_ tensor: Tensor) -> Int {
        switch tensor.data {
        case .bytes(let strings):
            // Each element is an array header plus its bytes.
            return strings.reduce(strings.count * 32) { $0 &+ $1.count }
        default:
            return tensor.count &* (tensor.dataType.byteWidth ?? 8)
        }
    }
}
