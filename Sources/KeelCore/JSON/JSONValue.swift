

/// A parsed JSON or UBJSON document. Typed numeric arrays from UBJSON, and all-number arrays
/// of JSON parsed with `NumericArrays.packed`, stay packed; packed and unpacked forms of the
/// same array compare equal.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
    case floats([Float])
    case doubles([Double])
    case ints([Int64])

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A number, a boolean as 0/1, or a numeric string.
    public var doubleValue: Double? {
        switch self {
        case .number(let d): return d
        case .bool(let b): return b ? 1 : 0
        case .string(let s): return Double(s)
        default: return nil
        }
    }

    public var intValue: Int? {
        guard let d = doubleValue, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }

    /// Element count of any array form.
    public var arrayCount: Int? {
        switch self {
        case .array(let a): return a.count
        case .floats(let a): return a.count
        case .doubles(let a): return a.count
        case .ints(let a): return a.count
        default: return nil
        }
    }

    /// Elements as Doubles, from any array form; nil if an element is not numeric.
    public var doublesValue: [Double]? {
        switch self {
        case .floats(let a): return a.map(Double.init)
        case .doubles(let a): return a
        case .ints(let a): return a.map(Double.init)
        case .array(let a):
            var out = [Double]()
            out.reserveCapacity(a.count)
            for v in a {
                guard let d = v.doubleValue else { return nil }
                out.append(d)
            }
            return out
        default: return nil
        }
    }

    /// Elements as Floats (numbers rounded to nearest).
    public var floatsValue: [Float]? {
        if case .floats(let a) = self { return a }
        return doublesValue?.map { Float($0) }
    }

    /// Elements as Ints; nil if any element is not integral.
    public var intsValue: [Int]? {
        if case .ints(let a) = self { return a.map { Int($0) } }
        guard let ds = doublesValue else { return nil }
        var out = [Int]()
        out.reserveCapacity(ds.count)
        for d in ds {
            guard d.rounded() == d, abs(d) < 9.0e15 else { return nil }
            out.append(Int(d))
        }
        return out
    }

    public var arrayValue: [JSONValue]? {
        switch self {
        case .array(let a): return a
        case .floats(let a): return a.map { .number(Double($0)) }
        case .doubles(let a): return a.map { .number($0) }
        case .ints(let a): return a.map { .number(Double($0)) }
        default: return nil
        }
    }
}

extension JSONValue {
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x == y
        case let (.floats(x), .floats(y)): return x == y
        case let (.doubles(x), .doubles(y)): return x == y
        case let (.ints(x), .ints(y)): return x == y
        default:
            // Packing is a storage detail: compare two array forms element by element.
            guard let n = a.arrayCount, n == b.arrayCount, let x = a.arrayValue, let y = b.arrayValue else { return false }
            return x == y
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
}
