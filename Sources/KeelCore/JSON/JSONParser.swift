/// A strict JSON parser over raw bytes (RFC 8259), used for model files and request bodies
/// where numbers must be read exactly and documents can be large.
///
/// Strict everywhere except one practical extension: the bare tokens `NaN`, `Infinity` and
/// `-Infinity` (what Python's `json` module writes for non-finite floats) are numbers. Every
/// error names the byte offset. What is accepted and refused is listed in docs/json.md.
public struct JSONParser {
    /// How arrays whose elements are all numbers are stored in the result.
    public enum NumericArrays: Sendable {
        /// One `.number` per element inside `.array` (what request decoding pattern-matches).
        case values
        /// A packed `.doubles` (8 bytes per element instead of a `JSONValue` each); arrays
        /// with any non-number element, and empty arrays, stay `.array`.
        case packed
    }

    /// Deepest nesting of arrays and objects accepted.
    public static let maxDepth = 512

    let bytes: [UInt8]
    let errorCode: KeelError.Code
    let packNumbers: Bool
    var pos = 0
    var depth = 0

    /// Parses a whole document; malformed input throws a `KeelError` with `errorCode`.
    ///
    /// `numericArrays` defaults to `.packed` for model files (`errorCode` `.invalidModel`) and
    /// to `.values` otherwise; the accessors (`arrayValue`, `doublesValue`, …) read both forms.
    public static func parse(
        _ bytes: [UInt8], errorCode: KeelError.Code = .invalidModel, numericArrays: NumericArrays? = nil
    ) throws(KeelError) -> JSONValue {
        let storage = numericArrays ?? (errorCode == .invalidModel ? .packed : .values)
        var p = JSONParser(bytes: bytes, errorCode: errorCode, packNumbers: storage == .packed)
        p.skipSpace()
        let value = try p.parseValue()
        p.skipSpace()
        guard p.pos == bytes.count else { throw p.error("unexpected data after the JSON document") }
        return value
    }

    private init(bytes: [UInt8], errorCode: KeelError.Code, packNumbers: Bool) {
        self.bytes = bytes
        self.errorCode = errorCode
        self.packNumbers = packNumbers
    }

    func error(_ what: String, at offset: Int? = nil) -> KeelError {
        KeelError(errorCode, "malformed JSON at byte \(offset ?? pos): \(what)")
    }

    mutating func skipSpace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(KeelError) -> JSONValue {
        guard pos < bytes.count else { throw error("unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case let b where Self.startsNumber(b): return .number(try parseNumber())
        case let b: throw error("unexpected \(Self.describe(b))")
        }
    }

    mutating func literal(_ word: StaticString) throws(KeelError) {
        let n = word.utf8CodeUnitCount
        let start = pos
        let matches = word.withUTF8Buffer { expected in
            guard bytes.count - start >= n else { return false }
            for i in 0..<n where bytes[start + i] != expected[i] { return false }
            return true
        }
        guard matches else { throw error("invalid literal, expected '\(word)'") }
        pos += n
    }

    private mutating func enter() throws(KeelError) {
        depth += 1
        if depth > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth)") }
    }

    private mutating func parseObject() throws(KeelError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        pos += 1
        var out = [String: JSONValue]()
        skipSpace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(out) }
        while true {
            skipSpace()
            let keyStart = pos
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            skipSpace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw error("expected ':'") }
            pos += 1
            skipSpace()
            // A repeated key could make two readers of one body see different values.
            guard out.updateValue(try parseValue(), forKey: key) == nil else {
                throw error("duplicate key '\(key.prefix(64))'", at: keyStart)
            }
            skipSpace()
            guard pos < bytes.count else { throw error("unexpected end of input in object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(out) }
            throw error("expected ',' or '}'")
        }
    }

    private mutating func parseArray() throws(KeelError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        pos += 1
        skipSpace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array([]) }
        var out = [JSONValue]()
        if packNumbers, pos < bytes.count, Self.startsNumber(bytes[pos]) {
            var numbers = [Double]()
            while true {
                numbers.append(try parseNumber())
                guard try arraySeparator() else { return .doubles(numbers) }
                if pos < bytes.count, Self.startsNumber(bytes[pos]) { continue }
                // A non-number follows: the array is mixed after all.
                out.reserveCapacity(numbers.count + 1)
                for d in numbers { out.append(.number(d)) }
                break
            }
        }
        while true {
            out.append(try parseValue())
            guard try arraySeparator() else { return .array(out) }
        }
    }

    /// After an element: true when a ',' (and the space after it) was consumed, false when the
    /// closing ']' was.
    private mutating func arraySeparator() throws(KeelError) -> Bool {
        skipSpace()
        guard pos < bytes.count else { throw error("unexpected end of input in array") }
        if bytes[pos] == UInt8(ascii: ",") {
            pos += 1
            skipSpace()
            return true
        }
        if bytes[pos] == UInt8(ascii: "]") { pos += 1; return false }
        throw error("expected ',' or ']'")
    }

    static func startsNumber(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, UInt8(ascii: "-"), UInt8(ascii: "N"), UInt8(ascii: "I"): return true
        default: return false
        }
    }

    /// `'x'` for printable ASCII, `byte 0xNN` otherwise.
    static func describe(_ b: UInt8) -> String {
        if b >= 0x21, b < 0x7F { return "character '\(Character(Unicode.Scalar(b)))'" }
        let hex = String(b, radix: 16, uppercase: true)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }
}
