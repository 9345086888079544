/// Number literals: the RFC 8259 grammar exactly, plus `NaN`, `Infinity` and `-Infinity`.
extension JSONParser {
    /// Parses one number at `pos`. Digits that overflow a Double (`1e400`) are refused: a
    /// client that means infinity writes `Infinity`.
    mutating func parseNumber() throws(KeelError) -> Double {
        let start = pos
        var negative = false
        if bytes[pos] == UInt8(ascii: "-") {
            negative = true
            pos += 1
        }
        guard pos < bytes.count else { throw error("expected a digit after '-'") }
        switch bytes[pos] {
        case UInt8(ascii: "I"):
            try literal("Infinity")
            return negative ? -.infinity : .infinity
        case UInt8(ascii: "N") where !negative:
            try literal("NaN")
            return .nan
        default:
            break
        }
        // Integer part: '0' alone, or a non-zero digit and more digits.
        var mantissa: UInt64 = 0
        var digits = 0  // significant digits accumulated in `mantissa`
        var dropped = false  // digits beyond what `mantissa` holds
        var exponent = 0  // decimal exponent applied to `mantissa`
        let first = bytes[pos]
        guard first >= 0x30, first <= 0x39 else {
            throw error("expected a digit, found \(Self.describe(first))")
        }
        if first == 0x30 {
            pos += 1
            if pos < bytes.count, bytes[pos] >= 0x30, bytes[pos] <= 0x39 {
                throw error("leading zero in number", at: start)
            }
        } else {
            while pos < bytes.count, bytes[pos] >= 0x30, bytes[pos] <= 0x39 {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[pos] - 0x30)
                    digits += 1
                } else {
                    dropped = true
                    exponent += 1
                }
                pos += 1
            }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            let fractionStart = pos
            while pos < bytes.count, bytes[pos] >= 0x30, bytes[pos] <= 0x39 {
                if digits < 19 {
                    if mantissa != 0 || bytes[pos] != 0x30 { digits += 1 }
                    mantissa = mantissa &* 10 &+ UInt64(bytes[pos] - 0x30)
                    exponent -= 1
                } else {
                    dropped = true
                }
                pos += 1
            }
            guard pos > fractionStart else { throw error("expected a digit after '.'") }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            var expNegative = false
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") {
                expNegative = bytes[pos] == UInt8(ascii: "-")
                pos += 1
            }
            let expStart = pos
            var e = 0
            while pos < bytes.count, bytes[pos] >= 0x30, bytes[pos] <= 0x39 {
                if e < 100_000 { e = e * 10 + Int(bytes[pos] - 0x30) }  // saturates: far past any Double
                pos += 1
            }
            guard pos > expStart else { throw error("expected a digit in the exponent") }
            exponent += expNegative ? -e : e
        }
        // Exact fast path: mantissa and power of ten are both exact Doubles, so one IEEE
        // multiplication or division rounds correctly (Clinger).
        if !dropped, mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            var d = Double(mantissa)
            d = exponent < 0 ? d / Self.powersOfTen[-exponent] : d * Self.powersOfTen[exponent]
            return negative ? -d : d
        }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        guard let d = Double(text) else { throw error("invalid number '\(text.prefix(40))'", at: start) }
        guard d.isFinite else {
            throw error("number '\(text.prefix(40))' is out of range for a 64-bit float (write Infinity or -Infinity)", at: start)
        }
        return d
    }

    static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
}
