/// Row-wise (first dimension) operations on tensors: gathering, concatenating, splitting —
/// what batching needs.
public enum TensorRows {
    /// Elements per row (product of all dimensions after the first).
    public static func rowWidth(_ tensor: Tensor) -> Int {
        tensor.shape.dropFirst().reduce(1, *)
    }

    /// A new tensor holding the given rows of `tensor`, in order.
    public static func gather(_ tensor: Tensor, rows: [Int]) throws(KeelError) -> Tensor {
        guard let count = tensor.shape.first else {
            throw .invalidInput("cannot take rows of a scalar tensor")
        }
        if let bad = rows.first(where: { !(0..<count).contains($0) }) {
            throw .invalidInput("row \(bad) is out of range for shape \(Tensor.describe(tensor.shape))")
        }
        let width = rowWidth(tensor)
        func pick<T>(_ a: [T]) -> [T] {
            var out = [T]()
            out.reserveCapacity(rows.count * width)
            for r in rows { out.append(contentsOf: a[(r * width)..<((r + 1) * width)]) }
            return out
        }
        let shape = [rows.count] + tensor.shape.dropFirst()
        let data: TensorData
        switch tensor.data {
        case .bool(let a): data = .bool(pick(a))
        case .int8(let a): data = .int8(pick(a))
        case .int16(let a): data = .int16(pick(a))
        case .int32(let a): data = .int32(pick(a))
        case .int64(let a): data = .int64(pick(a))
        case .uint8(let a): data = .uint8(pick(a))
        case .uint16(let a): data = .uint16(pick(a))
        case .uint32(let a): data = .uint32(pick(a))
        case .uint64(let a): data = .uint64(pick(a))
        case .fp16(let a): data = .fp16(pick(a))
        case .fp32(let a): data = .fp32(pick(a))
        case .fp64(let a): data = .fp64(pick(a))
        case .bytes(let a): data = .bytes(pick(a))
        }
        return Tensor(unchecked: shape, data: data)
    }
}
