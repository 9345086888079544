/// Appends JSON text to a byte buffer; used for responses where speed matters.
public struct JSONWriter {
    /// How NaN and the infinities are written.
    public enum NonFinite: Sendable {
        /// `NaN`, `Infinity`, `-Infinity`: what Python's `json`, tritonclient and Keel's own
        /// parser read back (the default; see docs/json.md).
        case tokens
        /// `null`, for consumers that only take RFC 8259 JSON (a browser's `JSON.parse`).
        case null
    }

    public private(set) var bytes: [UInt8] = []
    public var nonFinite: NonFinite

    public init(capacity: Int = 256, nonFinite: NonFinite = .tokens) {
        self.nonFinite = nonFinite
        bytes.reserveCapacity(capacity)
    }

    /// Empties the buffer, keeping its storage for the next document.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
    }

    public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends text as is (the caller guarantees it needs no escaping).
    public mutating func appendRaw(_ s: String) {
        bytes.append(contentsOf: s.utf8)
    }

    public mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(0x5C); bytes.append(b)
            case UInt8(ascii: "\\"): bytes.append(0x5C); bytes.append(b)
            case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(b >> 4)])
                bytes.append(hex[Int(b & 15)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes a number in its shortest round-trip form; NaN and infinities per `nonFinite`.
    public mutating func number(_ d: Double) {
        guard d.isFinite else { writeNonFinite(isNaN: d.isNaN, negative: d < 0); return }
        if d == d.rounded(), abs(d) < 1e15 {
            bytes.append(contentsOf: String(Int64(d)).utf8)
        } else {
            bytes.append(contentsOf: d.description.utf8)
        }
    }

    /// Writes a Float in its own shortest round-trip form (so 0.1 stays "0.1").
    public mutating func number(_ f: Float) {
        guard f.isFinite else { writeNonFinite(isNaN: f.isNaN, negative: f < 0); return }
        if f == f.rounded(), abs(f) < 1e7 {
            bytes.append(contentsOf: String(Int64(f)).utf8)
        } else {
            bytes.append(contentsOf: f.description.utf8)
        }
    }

    private mutating func writeNonFinite(isNaN: Bool, negative: Bool) {
        switch nonFinite {
        case .null: raw("null")
        case .tokens: if isNaN { raw("NaN") } else if negative { raw("-Infinity") } else { raw("Infinity") }
        }
    }

    public mutating func integer<T: BinaryInteger>(_ i: T) {
        bytes.append(contentsOf: String(i).utf8)
    }

    public mutating func bool(_ b: Bool) {
        if b { raw("true") } else { raw("false") }
    }

    /// Writes any parsed JSON value back out.
    /// An object with its keys in the dictionary's order (no sorting): for output that needs no
    /// canonical form, such as log rows.
    public mutating func unsortedObject(_ o: [String: JSONValue]) {
        raw("{")
        var first = true
        for (key, value) in o {
            if !first { raw(",") }
            first = false
            string(key)
            raw(":")
            self.value(value)
        }
        raw("}")
    }

    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: raw("null")
        case .bool(let b): bool(b)
        case .number(let d): number(d)
        case .string(let s): string(s)
        case .array(let a):
            raw("[")
            for (i, e) in a.enumerated() {
                if i > 0 { raw(",") }
                value(e)
            }
            raw("]")
        case .object(let o):
            raw("{")
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { raw(",") }
                string(key)
                raw(":")
                value(o[key] ?? .null)
            }
            raw("}")
        case .floats(let a): list(a.count) { $0.number(a[$1]) }
        case .doubles(let a): list(a.count) { $0.number(a[$1]) }
        case .ints(let a): list(a.count) { $0.integer(a[$1]) }
        }
    }

    /// Writes `[e0,e1,…]` calling `element` for each index.
    public mutating func list(_ count: Int, _ element: (inout JSONWriter, Int) -> Void) {
        raw("[")
        for i in 0..<count {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            element(&self, i)
        }
        raw("]")
    }
}
