import KeelCore

/// A Universal Binary JSON (draft 12) parser, as written by XGBoost's `save_model("*.ubj")`.
/// Strongly typed arrays (`[$d#…`) decode into packed `.floats`, `.doubles` or `.ints`.
public struct UBJSONParser {
    private let bytes: [UInt8]
    private var pos = 0
    private var depth = 0
    private static let maxDepth = 512

    public static func parse(_ bytes: [UInt8]) throws(KeelError) -> JSONValue {
        var p = UBJSONParser(bytes: bytes)
        let value = try p.parseValue()
        guard p.pos == bytes.count else { throw p.error("unexpected data after the document") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

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

    private mutating func length() throws(KeelError) -> Int {
        let n = try integer(marker: try byte())
        guard n >= 0, n <= Int64(bytes.count - pos) * 8 + 64 else { throw error("invalid length \(n)") }
        return Int(n)
    }

    private mutating func string() throws(KeelError) -> String {
        let n = try length()
        guard pos + n <= bytes.count else { throw error("string runs past the end (file truncated?)") }
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
            count = try length()
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
            out.reserveCapacity(min(count, 1 << 20))
            for _ in 0..<count { out.append(try parseValue()) }
            return .array(out)
        }
        while true {
            guard pos < bytes.count else { throw error("unterminated array (file truncated?)") }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(out) }
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
        default:
            var out = [JSONValue]()
            for _ in 0..<count { out.append(try parseValue(marker: type)) }
            return .array(out)
        }
        guard count <= (bytes.count - pos) / width else { throw error("typed array of \(count) runs past the end (file truncated?)") }
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
        var remaining = count
        while true {
            if let r = remaining {
                if r == 0 { return .object(out) }
                remaining = r - 1
            } else {
                guard pos < bytes.count else { throw error("unterminated object (file truncated?)") }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(out) }
            }
            let key = try string()
            if let type {
                out[key] = try parseValue(marker: type)
            } else {
                out[key] = try parseValue()
            }
        }
    }
}
