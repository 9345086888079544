/// String literals: escapes, surrogate pairs and UTF-8 validation, each error at its byte.
extension JSONParser {
    mutating func parseString() throws(KeelError) -> String {
        pos += 1
        let start = pos
        // Fast path: printable ASCII up to the closing quote needs no copy and no checks.
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return String(decoding: bytes[start..<(pos - 1)], as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { break }
            pos += 1
        }
        var out = [UInt8]()
        out.append(contentsOf: bytes[start..<pos])
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return String(decoding: out, as: UTF8.self)  // every byte of `out` was validated
            }
            if c == UInt8(ascii: "\\") {
                try escape(into: &out)
            } else if c < 0x20 {
                throw error("control character \(Self.describe(c)) in string (escape it)")
            } else if c < 0x80 {
                out.append(c)
                pos += 1
            } else {
                let n = try utf8SequenceLength()
                out.append(contentsOf: bytes[pos..<(pos + n)])
                pos += n
            }
        }
        throw error("unterminated string", at: start - 1)
    }

    /// Length of the valid UTF-8 sequence at `pos` (RFC 3629: no overlong forms, no
    /// surrogates, nothing above U+10FFFF), or an error at the offending byte.
    private func utf8SequenceLength() throws(KeelError) -> Int {
        let lead = bytes[pos]
        let n: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; high = 0x9F  // U+D800…U+DFFF are not characters
        case 0xF0: n = 4; low = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; high = 0x8F
        default: throw error("invalid UTF-8 \(Self.describe(lead)) in string")
        }
        for k in 1..<n {
            guard pos + k < bytes.count else { throw error("truncated UTF-8 sequence in string") }
            let b = bytes[pos + k]
            guard b >= low, b <= high else {
                throw error("invalid UTF-8 continuation \(Self.describe(b)) in string", at: pos + k)
            }
            low = 0x80
            high = 0xBF
        }
        return n
    }

    private mutating func escape(into out: inout [UInt8]) throws(KeelError) {
        let start = pos
        pos += 1
        guard pos < bytes.count else { throw error("unterminated string", at: start) }
        let e = bytes[pos]
        pos += 1
        switch e {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xDC00..<0xE000).contains(scalar) {
                throw error("lone low surrogate \\u\(Self.hex(scalar)) in string", at: start)
            }
            if (0xD800..<0xDC00).contains(scalar) {
                guard bytes.count - pos >= 2, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                    throw error("high surrogate \\u\(Self.hex(scalar)) is not followed by a low surrogate", at: start)
                }
                pos += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw error("high surrogate \\u\(Self.hex(scalar)) is followed by \\u\(Self.hex(low)), not a low surrogate", at: start)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            appendUTF8(scalar, to: &out)
        default:
            throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: start)
        }
    }

    private mutating func hex4() throws(KeelError) -> UInt32 {
        guard bytes.count - pos >= 4 else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw error("invalid hex digit \(Self.describe(c)) in \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    /// Appends a scalar value (never a surrogate: checked by the caller) as UTF-8.
    private func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | v >> 6))
            out.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | v >> 12))
            out.append(UInt8(0x80 | (v >> 6) & 0x3F))
            out.append(UInt8(0x80 | v & 0x3F))
        default:
            out.append(UInt8(0xF0 | v >> 18))
            out.append(UInt8(0x80 | (v >> 12) & 0x3F))
            out.append(UInt8(0x80 | (v >> 6) & 0x3F))
            out.append(UInt8(0x80 | v & 0x3F))
        }
    }

    private static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}
