import KeelCore

/// A Universal Binary JSON (draft 12) parser, as written by XGBoost's `save_model("*.ubj")`.
/// Strongly typed arrays (`[$d#…`) decode into packed `.floats`, `.doubles` or `.ints`.
///
/// Every declared count is checked against the bytes left (by the smallest encoding of one
/// element) before anything is reserved, and every value built is charged to the load budget,
/// so a few bytes declaring billions of elements are refused.
public struct UBJSONParser {
    private let bytes: [UInt8]
    private let budget: LoadBudget
    private var pos = 0
    private var depth = 0
    private static let maxDepth = 512
    /// What one element of an untyped array costs in memory.
    private static let valueBytes = MemoryLayout<JSONValue>.stride
    /// What one object entry costs: key, value and the dictionary's share of slack.
    private static let entryBytes = 2 * (MemoryLayout<String>.stride + MemoryLayout<JSONValue>.stride)

    /// Parses a whole document, charging what it builds to `budget`.
    public static func parse(_ bytes: [UInt8], budget: LoadBudget) throws(KeelError) -> JSONValue {
        var p = UBJSONParser(bytes: bytes, budget: budget)
        let value = try p.parseValue()
        guard p.pos == bytes.count else { throw p.error("unexpected data after the document") }
        return value
    }

    private init(bytes: [UInt8], budget: LoadBudget) {
        self.bytes = bytes
        self.budget = budget
    }

    private var remaining: Int { bytes.count - pos }

    private func error(_ what: String) -> KeelError {
        .invalidModel("malformed UBJSON at byte \(pos): \(what)")
    }

    private mutating func byte() throws(KeelError) -> UInt8 {
        guard pos < bytes.count else { throw error("unexpected end of input (file truncated?)") }
        defer { pos += 1 }
        return bytes[pos]
    }

    private mutating func bigEndian(_ n: Int) throws(KeelError) -> UInt64 {
        guard pos + n <= bytes.count else { throw error("unexpected end of input (file truncated?)") }
        var v: UInt64 = 0
        for i in 0..<n { v = v << 8 | UInt64(bytes[pos + i]) }
        pos += n
        return v
    }

    private mutating func parseValue() throws(KeelError) -> JSONValue {
        var marker = try byte()
        while marker == UInt8(ascii: "N") { marker = try byte() }
        return try parseValue(marker: marker)
    }

    private mutating func parseValue(marker: UInt8) throws(KeelError) -> JSONValue {
        switch marker {
        case UInt8(ascii: "Z"): return .null
        case UInt8(ascii: "T"): return .bool(true)
        case UInt8(ascii: "F"): return .bool(false)
        case UInt8(ascii: "i"), UInt8(ascii: "U"), UInt8(ascii: "I"), UInt8(ascii: "l"), UInt8(ascii: "L"):
            return .number(Double(try integer(marker: marker)))
        case UInt8(ascii: "d"): return .number(Double(Float(bitPattern: UInt32(try bigEndian(4)))))
        case UInt8(ascii: "D"): return .number(Double(bitPattern: try bigEndian(8)))
        case UInt8(ascii: "C"): return .string(String(UnicodeScalar(try byte())))
        case UInt8(ascii: "S"): return .string(try string())
        case UInt8(ascii: "H"):
            let text = try string()
            guard let d = Double(text) else { throw error("invalid high-precision number '\(text)'") }
            return .number(d)
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "{"): return try parseObject()
        default: throw error("unknown type marker 0x\(String(marker, radix: 16))")
        }
    }

    private mutating func integer(marker: UInt8) throws(KeelError) -> Int64 {
        switch marker {
        case UInt8(ascii: "i"): return Int64(Int8(bitPattern: try byte()))
        case UInt8(ascii: "U"): return Int64(try byte())
        case UInt8(ascii: "I"): return Int64(Int16(bitPattern: UInt16(try bigEndian(2))))
        case UInt8(ascii: "l"): return Int64(Int32(bitPattern: UInt32(try bigEndian(4))))
        case UInt8(ascii: "L"): return Int64(bitPattern: try bigEndian(8))
        default: throw error("expected an integer marker, found 0x\(String(marker, radix: 16))")
        }
    }

    /// A count or length of things that take at least `minimumBytes` each in the rest of the file.
    private mutating func length(minimumBytes: Int, of what: String) throws(KeelError) -> Int {
        let n = try integer(marker: try byte())
        guard n >= 0 else { throw error("negative \(what) length \(n)") }
        guard n <= Int64(remaining / max(minimumBytes, 1)) else {
            throw error("\(what) of \(n) elements needs more than the \(remaining) bytes left (file truncated?)")
        }
        return Int(n)
    }

    private mutating func string() throws(KeelError) -> String {
        let n = try length(minimumBytes: 1, of: "string")
        try budget.charge(n + MemoryLayout<String>.stride, of: 1, for: "a UBJSON string at byte \(pos)")
        defer { pos += n }
        return String(decoding: bytes[pos..<(pos + n)], as: UTF8.self)
    }

    private mutating func enter() throws(KeelError) {
        depth += 1
        if depth > UBJSONParser.maxDepth { throw error("nesting deeper than \(UBJSONParser.maxDepth)") }
    }

    /// Reads the optional `$type` and `#count` container header.
    private mutating func containerHeader() throws(KeelError) -> (type: UInt8?, count: Int?) {
        var type: UInt8?
        var count: Int?
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "$") {
            pos += 1
            type = try byte()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "#") else { throw error("'$' without '#'") }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "#") {
            pos += 1
            let n = try integer(marker: try byte())
            guard n >= 0, n <= Int64(Int.max) else { throw error("invalid container count \(n)") }
            count = Int(n)
        }
        return (type, count)
    }

    private mutating func parseArray() throws(KeelError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        let (type, count) = try containerHeader()
        if let type, let count {
            return try typedArray(type: type, count: count)
        }
        var out = [JSONValue]()
        if let count {
            // Each element takes at least its marker byte.
            guard count <= remaining else { throw error("array of \(count) elements runs past the end (file truncated?)") }
            try budget.charge(count, of: Self.valueBytes, for: "a UBJSON array of \(count) elements")
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(try parseValue()) }
            return .array(out)
        }
        while true {
            guard pos < bytes.count else { throw error("unterminated array (file truncated?)") }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(out) }
            // Charged as it grows, with the array's doubling slack.
            if out.count == out.capacity {
                try budget.charge(max(out.capacity, 4), of: Self.valueBytes, for: "a UBJSON array at byte \(pos)")
            }
            out.append(try parseValue())
        }
    }

    private mutating func typedArray(type: UInt8, count: Int) throws(KeelError) -> JSONValue {
        let width: Int
        switch type {
        case UInt8(ascii: "d"), UInt8(ascii: "l"): width = 4
        case UInt8(ascii: "D"), UInt8(ascii: "L"): width = 8
        case UInt8(ascii: "I"): width = 2
        case UInt8(ascii: "i"), UInt8(ascii: "U"): width = 1
        case UInt8(ascii: "Z"), UInt8(ascii: "T"), UInt8(ascii: "F"):
            // Zero-width elements: the header alone declares them, so a few bytes could
            // declare billions. XGBoost never writes these; allow as many as bytes remain.
            guard count <= remaining else {
                throw error("typed array of \(count) zero-width elements is longer than the \(remaining) bytes left")
            }
            try budget.charge(count, of: Self.valueBytes, for: "a UBJSON typed array of \(count) elements")
            let value = try parseValue(marker: type)
            return .array([JSONValue](repeating: value, count: count))
        default:
            // Every other element type takes at least one byte per element.
            guard count <= remaining else { throw error("typed array of \(count) elements runs past the end (file truncated?)") }
            try budget.charge(count, of: Self.valueBytes, for: "a UBJSON typed array of \(count) elements")
            var out = [JSONValue]()
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(try parseValue(marker: type)) }
            return .array(out)
        }
        guard count <= remaining / width else { throw error("typed array of \(count) runs past the end (file truncated?)") }
        try budget.charge(count, of: type == UInt8(ascii: "d") ? 4 : 8, for: "a UBJSON typed array of \(count) numbers")
        switch type {
        case UInt8(ascii: "d"):
            var out = [Float](repeating: 0, count: count)
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(try bigEndian(4))) }
            return .floats(out)
        case UInt8(ascii: "D"):
            var out = [Double](repeating: 0, count: count)
            for i in 0..<count { out[i] = Double(bitPattern: try bigEndian(8)) }
            return .doubles(out)
        default:
            var out = [Int64](repeating: 0, count: count)
            for i in 0..<count { out[i] = try integer(marker: type) }
            return .ints(out)
        }
    }

    private mutating func parseObject() throws(KeelError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        let (type, count) = try containerHeader()
        var out = [String: JSONValue]()
        // A key takes at least two bytes (its length marker and length).
        if let count, count > remaining / 2 {
            throw error("object of \(count) entries runs past the end (file truncated?)")
        }
        var left = count
        while true {
            if let r = left {
                if r == 0 { return .object(out) }
                left = r - 1
            } else {
                guard pos < bytes.count else { throw error("unterminated object (file truncated?)") }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(out) }
            }
            try budget.charge(1, of: Self.entryBytes, for: "a UBJSON object entry at byte \(pos)")
            let key = try string()
            if let type {
                out[key] = try parseValue(marker: type)
            } else {
                out[key] = try parseValue()
            }
        }
    }
}
