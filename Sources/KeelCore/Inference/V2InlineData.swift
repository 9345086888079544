/// The inline `data` of one v2 JSON input — flat or nested, packed (`.doubles`) or not — read
/// into typed storage. Leaves are counted before anything is allocated, so a shape that
/// declares more elements than the body holds costs nothing.
enum V2InlineData {
    static func decode(_ data: JSONValue, type: DataType, shape: [Int], count: Int, name: String) throws(KeelError) -> TensorData {
        // Nested data follows the shape, so it is never deeper than the rank (flat is depth 1).
        let maxDepth = max(shape.count, 1)
        let leaves = try countLeaves(data, depth: 0, maxDepth: maxDepth, name: name, shape: shape)
        guard leaves == count else {
            throw .invalidInput("input '\(name)' has \(leaves) data elements, but shape \(Tensor.describe(shape)) needs \(count)")
        }
        func fail(_ i: Int, _ v: JSONValue) -> KeelError {
            .invalidInput("input '\(name)' element \(i) is \(describe(v)), datatype \(type.rawValue) expects \(expectation(type))")
        }
        func floating(_ i: Int, _ v: JSONValue) throws(KeelError) -> Double {
            switch v {
            case .number(let d): return d
            case .null: return .nan  // null marks a missing value, like NaN
            case .string(let s):
                switch s.lowercased() {
                case "nan": return .nan
                case "inf", "infinity", "+inf": return .infinity
                case "-inf", "-infinity": return -.infinity
                default: throw fail(i, v)
                }
            default: throw fail(i, v)
            }
        }
        func integer<T: FixedWidthInteger>(_ i: Int, _ d: Double, _: T.Type) throws(KeelError) -> T {
            guard let t = T(exactly: d) else { throw fail(i, .number(d)) }  // NaN, ±inf, fractions, out of range
            return t
        }
        func integer<T: FixedWidthInteger>(_ i: Int, _ v: JSONValue, _: T.Type) throws(KeelError) -> T {
            guard case .number(let d) = v else { throw fail(i, v) }
            return try integer(i, d, T.self)
        }
        func read<T>(_ element: (Int, JSONValue) throws(KeelError) -> T, _ number: (Int, Double) throws(KeelError) -> T) throws(KeelError) -> [T] {
            var out = [T]()
            out.reserveCapacity(count)  // == leaves actually present in the body
            try visit(data, into: &out, element, number)
            return out
        }
        switch type {
        case .bool:
            func bit(_ i: Int, _ d: Double) throws(KeelError) -> Bool {
                guard d == 0 || d == 1 else { throw fail(i, .number(d)) }
                return d == 1
            }
            return .bool(try read({ (i, v) throws(KeelError) in
                switch v {
                case .bool(let b): return b
                case .number(let d): return try bit(i, d)
                default: throw fail(i, v)
                }
            }, bit))
        case .int8: return .int8(try read({ (i, v) throws(KeelError) in try integer(i, v, Int8.self) }, { (i, d) throws(KeelError) in try integer(i, d, Int8.self) }))
        case .int16: return .int16(try read({ (i, v) throws(KeelError) in try integer(i, v, Int16.self) }, { (i, d) throws(KeelError) in try integer(i, d, Int16.self) }))
        case .int32: return .int32(try read({ (i, v) throws(KeelError) in try integer(i, v, Int32.self) }, { (i, d) throws(KeelError) in try integer(i, d, Int32.self) }))
        case .int64: return .int64(try read({ (i, v) throws(KeelError) in try integer(i, v, Int64.self) }, { (i, d) throws(KeelError) in try integer(i, d, Int64.self) }))
        case .uint8: return .uint8(try read({ (i, v) throws(KeelError) in try integer(i, v, UInt8.self) }, { (i, d) throws(KeelError) in try integer(i, d, UInt8.self) }))
        case .uint16: return .uint16(try read({ (i, v) throws(KeelError) in try integer(i, v, UInt16.self) }, { (i, d) throws(KeelError) in try integer(i, d, UInt16.self) }))
        case .uint32: return .uint32(try read({ (i, v) throws(KeelError) in try integer(i, v, UInt32.self) }, { (i, d) throws(KeelError) in try integer(i, d, UInt32.self) }))
        case .uint64: return .uint64(try read({ (i, v) throws(KeelError) in try integer(i, v, UInt64.self) }, { (i, d) throws(KeelError) in try integer(i, d, UInt64.self) }))
        case .fp16:
            return .fp16(try read({ (i, v) throws(KeelError) in HalfFloat.bits(from: Float(try floating(i, v))) }, { _, d in HalfFloat.bits(from: Float(d)) }))
        case .fp32: return .fp32(try read({ (i, v) throws(KeelError) in Float(try floating(i, v)) }, { _, d in Float(d) }))
        case .fp64: return .fp64(try read(floating, { _, d in d }))
        case .bytes:
            return .bytes(try read({ (i, v) throws(KeelError) in
                guard case .string(let s) = v else { throw fail(i, v) }
                return Array(s.utf8)
            }, { (i, d) throws(KeelError) in throw fail(i, .number(d)) }))
        }
    }

    /// Number of scalar leaves, refusing objects and nesting deeper than `maxDepth` arrays.
    private static func countLeaves(_ v: JSONValue, depth: Int, maxDepth: Int, name: String, shape: [Int]) throws(KeelError) -> Int {
        switch v {
        case .array(let a):
            guard depth < maxDepth else {
                throw .invalidInput("input '\(name)' data is nested deeper than its shape \(Tensor.describe(shape)) allows")
            }
            var n = 0
            for e in a { n += try countLeaves(e, depth: depth + 1, maxDepth: maxDepth, name: name, shape: shape) }
            return n
        case .doubles, .floats, .ints:
            guard depth < maxDepth else {
                throw .invalidInput("input '\(name)' data is nested deeper than its shape \(Tensor.describe(shape)) allows")
            }
            return v.arrayCount ?? 0
        case .object:
            throw .invalidInput("input '\(name)' data contains an object; expected numbers, booleans or strings")
        default:
            return 1
        }
    }

    /// Appends the leaves in row-major order; packed runs go through `number` without a
    /// `JSONValue` per element.
    private static func visit<T>(
        _ v: JSONValue, into out: inout [T], _ element: (Int, JSONValue) throws(KeelError) -> T,
        _ number: (Int, Double) throws(KeelError) -> T
    ) throws(KeelError) {
        switch v {
        case .array(let a):
            for e in a { try visit(e, into: &out, element, number) }
        case .doubles(let a):
            for d in a { out.append(try number(out.count, d)) }
        case .floats(let a):
            for f in a { out.append(try number(out.count, Double(f))) }
        case .ints(let a):
            for k in a { out.append(try element(out.count, .number(Double(k)))) }
        default:
            out.append(try element(out.count, v))
        }
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return "the boolean \(b)"
        case .number(let d): return "the number \(d)"
        case .string(let s): return "the string \"\(s.prefix(40))\""
        default: return "a nested value"
        }
    }

    private static func expectation(_ type: DataType) -> String {
        switch type {
        case .bool: return "true/false"
        case .fp16, .fp32, .fp64: return "numbers (NaN, Infinity or null for missing)"
        case .bytes: return "strings"
        default: return "integers in range"
        }
    }
}
