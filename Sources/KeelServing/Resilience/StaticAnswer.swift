import KeelCore

/// A static default answer (`fallback: {outputs: …}`) built once, when the version loads, as
/// one row per output of the version's signature; a request's answer repeats that row once
/// per request row. A value that does not fit the signature fails loading, naming the output.
struct StaticAnswer: Sendable {
    struct Output: Sendable {
        var name: String
        /// The shape of one row (the signature's shape without its batch dimension).
        var rowShape: [Int]
        var row: TensorData
    }

    /// Most elements one output's row may hold.
    static let maxRowElements = 65_536

    let outputs: [Output]

    /// `values`: output name → one row's value, a scalar or nested lists matching the
    /// signature's shape after its first (batch) dimension.
    init(_ values: [String: YAMLValue], signatures: [TensorSignature], what: String) throws(KeelError) {
        func fail(_ message: String) -> KeelError { .invalidModel("\(what): fallback: \(message)") }
        let names = signatures.map { "'\($0.name)'" }.joined(separator: ", ")
        if let unknown = values.keys.sorted().first(where: { name in !signatures.contains { $0.name == name } }) {
            throw fail("the model has no output '\(unknown.prefix(64))' (its outputs: \(names))")
        }
        var outputs: [Output] = []
        for s in signatures {
            guard let value = values[s.name] else {
                throw fail("'outputs' has no value for output '\(s.name)' (\(s.dataType.rawValue) \(Tensor.describe(s.shape))); a static answer gives every output (\(names))")
            }
            guard !s.shape.isEmpty else { throw fail("output '\(s.name)' has no batch dimension, so a per-row value cannot be repeated over rows") }
            var leaves: [YAMLValue] = []
            let shape = try Self.shape(of: value, leaves: &leaves, output: s.name, fail: fail)
            let expected = Array(s.shape.dropFirst())
            guard shape.count == expected.count, zip(expected, shape).allSatisfy({ $0 < 0 || $0 == $1 }) else {
                let wanted = expected.isEmpty ? "a single value" : "a row of shape \(Tensor.describe(expected))"
                throw fail("output '\(s.name)' is \(s.dataType.rawValue) \(Tensor.describe(s.shape)), so its value must be \(wanted); got shape \(Tensor.describe(shape))")
            }
            outputs.append(Output(name: s.name, rowShape: shape, row: try Self.data(leaves, s.dataType, output: s.name, fail: fail)))
        }
        self.outputs = outputs
    }

    /// The answer for `rows` rows: each output's row repeated.
    func tensors(rows: Int) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for o in outputs {
            let data: TensorData
            switch o.row {
            case .bool(let v): data = .bool(Self.repeated(v, rows))
            case .int8(let v): data = .int8(Self.repeated(v, rows))
            case .int16(let v): data = .int16(Self.repeated(v, rows))
            case .int32(let v): data = .int32(Self.repeated(v, rows))
            case .int64(let v): data = .int64(Self.repeated(v, rows))
            case .uint8(let v): data = .uint8(Self.repeated(v, rows))
            case .uint16(let v): data = .uint16(Self.repeated(v, rows))
            case .uint32(let v): data = .uint32(Self.repeated(v, rows))
            case .uint64(let v): data = .uint64(Self.repeated(v, rows))
            case .fp16(let v): data = .fp16(Self.repeated(v, rows))
            case .fp32(let v): data = .fp32(Self.repeated(v, rows))
            case .fp64(let v): data = .fp64(Self.repeated(v, rows))
            case .bytes(let v): data = .bytes(Self.repeated(v, rows))
            }
            out[o.name] = Tensor(unchecked: [rows] + o.rowShape, data: data)
        }
        return out
    }

    private static func repeated<T>(_ row: [T], _ rows: Int) -> [T] {
        var out: [T] = []
        out.reserveCapacity(row.count * rows)
        for _ in 0..<rows { out.append(contentsOf: row) }
        return out
    }

    /// The shape of a scalar or of nested, rectangular lists, collecting the leaves in row-major order.
    private static func shape(of value: YAMLValue, leaves: inout [YAMLValue], output: String, fail: (String) -> KeelError) throws(KeelError) -> [Int] {
        guard case .sequence(let items) = value else {
            leaves.append(value)
            return []
        }
        guard !items.isEmpty else { throw fail("output '\(output)' has an empty list") }
        var inner: [Int]?
        for item in items {
            let s = try shape(of: item, leaves: &leaves, output: output, fail: fail)
            if let inner, inner != s { throw fail("output '\(output)' has ragged lists (rows of shapes \(Tensor.describe(inner)) and \(Tensor.describe(s)))") }
            inner = s
            guard leaves.count <= maxRowElements else { throw fail("output '\(output)' has more than \(maxRowElements) elements in its row") }
        }
        return [items.count] + (inner ?? [])
    }

    /// The leaves as the output's datatype: integers exactly and in range, floats finite or not,
    /// booleans as true/false, BYTES as strings.
    private static func data(_ leaves: [YAMLValue], _ type: DataType, output: String, fail: (String) -> KeelError) throws(KeelError) -> TensorData {
        func bad(_ k: Int, _ expected: String) -> KeelError {
            fail("output '\(output)' is \(type.rawValue): element \(k) must be \(expected), got \(leaves[k].kindDescription)")
        }
        func number(_ k: Int) throws(KeelError) -> Double {
            switch leaves[k] {
            case .int(let i): return Double(i)
            case .double(let d): return d
            default: throw bad(k, "a number")
            }
        }
        func integers<T: FixedWidthInteger>(_: T.Type) throws(KeelError) -> [T] {
            var out: [T] = []
            for k in leaves.indices {
                guard case .int(let i) = leaves[k], let v = T(exactly: i) else { throw bad(k, "an integer from \(T.min) to \(T.max)") }
                out.append(v)
            }
            return out
        }
        switch type {
        case .bool:
            var out: [Bool] = []
            for k in leaves.indices {
                guard case .bool(let b) = leaves[k] else { throw bad(k, "true or false") }
                out.append(b)
            }
            return .bool(out)
        case .int8: return .int8(try integers(Int8.self))
        case .int16: return .int16(try integers(Int16.self))
        case .int32: return .int32(try integers(Int32.self))
        case .int64: return .int64(try integers(Int64.self))
        case .uint8: return .uint8(try integers(UInt8.self))
        case .uint16: return .uint16(try integers(UInt16.self))
        case .uint32: return .uint32(try integers(UInt32.self))
        case .uint64: return .uint64(try integers(UInt64.self))
        case .fp16:
            var out: [UInt16] = []
            for k in leaves.indices { out.append(HalfFloat.bits(from: Float(try number(k)))) }
            return .fp16(out)
        case .fp32:
            var out: [Float] = []
            for k in leaves.indices { out.append(Float(try number(k))) }
            return .fp32(out)
        case .fp64:
            var out: [Double] = []
            for k in leaves.indices { out.append(try number(k)) }
            return .fp64(out)
        case .bytes:
            var out: [[UInt8]] = []
            for k in leaves.indices {
                guard case .string(let s) = leaves[k] else { throw bad(k, "a string") }
                out.append(Array(s.utf8))
            }
            return .bytes(out)
        }
    }
}
