import KeelCore

/// What must match for two requests to share an engine call: input names, datatypes and
/// every dimension but the first (the rows).
struct BatchKey: Equatable {
    let rows: Int
    let signature: [String: (DataType, [Int])]

    init?(_ inputs: [String: Tensor]) {
        var rows: Int?
        var signature: [String: (DataType, [Int])] = [:]
        for (name, t) in inputs {
            guard let first = t.shape.first else { return nil }
            if let r = rows, r != first { return nil }
            rows = first
            signature[name] = (t.dataType, Array(t.shape.dropFirst()))
        }
        guard let rows else { return nil }
        self.rows = rows
        self.signature = signature
    }

    func compatible(with other: BatchKey?) -> Bool {
        guard let other, other.signature.count == signature.count else { return false }
        for (name, (type, rest)) in signature {
            guard let (t, r) = other.signature[name], t == type, r == rest else { return false }
        }
        return true
    }

    static func == (a: BatchKey, b: BatchKey) -> Bool { a.rows == b.rows && a.compatible(with: b) }

    /// Stacks the requests' tensors along the first dimension.
    static func concatenate(_ requests: [[String: Tensor]]) throws(KeelError) -> [String: Tensor] {
        guard let first = requests.first else { return [:] }
        var out: [String: Tensor] = [:]
        for name in first.keys {
            let parts = requests.compactMap { $0[name] }
            guard parts.count == requests.count else { throw .invalidInput("inputs differ") }
            out[name] = try TensorRows.concatenate(parts)
        }
        return out
    }

    /// Splits every output into consecutive row ranges.
    static func split(_ outputs: [String: Tensor], rows: [Int]) throws(KeelError) -> [[String: Tensor]] {
        var parts = [[String: Tensor]](repeating: [:], count: rows.count)
        for (name, tensor) in outputs {
            let pieces = try TensorRows.split(tensor, rows: rows)
            for k in 0..<rows.count { parts[k][name] = pieces[k] }
        }
        return parts
    }

    /// The given rows of every input.
    static func slice(_ inputs: [String: Tensor], rows: Range<Int>) throws(KeelError) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, tensor) in inputs { out[name] = try TensorRows.gather(tensor, rows: Array(rows)) }
        return out
    }

    /// Whether every output has one row per input row (so outputs of chunks can be stacked).
    static func isRowAligned(_ outputs: [String: Tensor], rows: Int) -> Bool {
        !outputs.isEmpty && outputs.values.allSatisfy { $0.shape.first == rows }
    }
}
