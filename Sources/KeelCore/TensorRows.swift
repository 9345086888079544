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

extension TensorRows {
    /// Stacks tensors of the same datatype and trailing shape along the first dimension.
    public static func concatenate(_ parts: [Tensor]) throws(KeelError) -> Tensor {
        guard let first = parts.first, let _ = first.shape.first else {
            throw .invalidInput("nothing to concatenate")
        }
        let rest = Array(first.shape.dropFirst())
        var rows = 0
        for p in parts {
            guard p.dataType == first.dataType, Array(p.shape.dropFirst()) == rest, let r = p.shape.first else {
                throw .invalidInput("tensors of different types or shapes cannot be stacked")
            }
            rows += r
        }
        func join<T>(_ extract: (TensorData) -> [T]?) -> [T] {
            var out = [T]()
            out.reserveCapacity(rows * rest.reduce(1, *))
            for p in parts { out.append(contentsOf: extract(p.data) ?? []) }
            return out
        }
        let data: TensorData
        switch first.data {
        case .bool: data = .bool(join { if case .bool(let a) = $0 { a } else { nil } })
        case .int8: data = .int8(join { if case .int8(let a) = $0 { a } else { nil } })
        case .int16: data = .int16(join { if case .int16(let a) = $0 { a } else { nil } })
        case .int32: data = .int32(join { if case .int32(let a) = $0 { a } else { nil } })
        case .int64: data = .int64(join { if case .int64(let a) = $0 { a } else { nil } })
        case .uint8: data = .uint8(join { if case .uint8(let a) = $0 { a } else { nil } })
        case .uint16: data = .uint16(join { if case .uint16(let a) = $0 { a } else { nil } })
        case .uint32: data = .uint32(join { if case .uint32(let a) = $0 { a } else { nil } })
        case .uint64: data = .uint64(join { if case .uint64(let a) = $0 { a } else { nil } })
        case .fp16: data = .fp16(join { if case .fp16(let a) = $0 { a } else { nil } })
        case .fp32: data = .fp32(join { if case .fp32(let a) = $0 { a } else { nil } })
        case .fp64: data = .fp64(join { if case .fp64(let a) = $0 { a } else { nil } })
        case .bytes: data = .bytes(join { if case .bytes(let a) = $0 { a } else { nil } })
        }
        return try Tensor(shape: [rows] + rest, data: data)
    }

    /// Splits a tensor into consecutive row ranges of the given sizes (which must add up to
    /// its first dimension).
    public static func split(_ tensor: Tensor, rows: [Int]) throws(KeelError) -> [Tensor] {
        guard let total = tensor.shape.first, rows.reduce(0, +) == total else {
            throw .invalidInput("output of shape \(Tensor.describe(tensor.shape)) does not split into \(rows) rows")
        }
        var start = 0
        var out: [Tensor] = []
        out.reserveCapacity(rows.count)
        for n in rows {
            out.append(try gather(tensor, rows: Array(start..<(start + n))))
            start += n
        }
        return out
    }
}
