import KeelCore

/// Writes a JSON value indented, with object keys sorted, so the same value always gives the
/// same bytes (the committed API document is diffed and compared byte for byte).
enum PrettyJSON {
    static func bytes(_ value: JSONValue) -> [UInt8] {
        var w = JSONWriter(capacity: 1 << 16)
        write(value, into: &w, indent: 0)
        w.raw("\n")
        return w.bytes
    }

    private static func newline(_ w: inout JSONWriter, _ indent: Int) {
        w.appendRaw("\n" + String(repeating: "  ", count: indent))
    }

    private static func write(_ value: JSONValue, into w: inout JSONWriter, indent: Int) {
        switch value {
        case .object(let o) where !o.isEmpty:
            w.raw("{")
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { w.raw(",") }
                newline(&w, indent + 1)
                w.string(key)
                w.raw(": ")
                write(o[key] ?? .null, into: &w, indent: indent + 1)
            }
            newline(&w, indent)
            w.raw("}")
        case .array(let a) where !a.isEmpty:
            w.raw("[")
            for (i, element) in a.enumerated() {
                if i > 0 { w.raw(",") }
                newline(&w, indent + 1)
                write(element, into: &w, indent: indent + 1)
            }
            newline(&w, indent)
            w.raw("]")
        default:
            w.value(value)
        }
    }
}
