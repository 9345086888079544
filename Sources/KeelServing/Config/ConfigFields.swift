import KeelCore

/// Typed, named reads from one YAML mapping of a config: every value is checked for its type
/// and range, and the error names the file, the key and what was expected.
struct ConfigFields {
    let source: String
    /// Where the mapping sits, for messages (`risk band 2`, `feature 'age'`); empty at the top.
    let context: String
    let values: [String: YAMLValue]

    /// `known`: the keys allowed here (others are refused by name); nil skips that check.
    init(_ value: YAMLValue, source: String, context: String = "", known: Set<String>?) throws(KeelError) {
        self.source = source
        self.context = context
        switch value {
        case .mapping(let m): values = m
        case .null where context.isEmpty: values = [:]
        default:
            throw KeelError.invalidModel("\(source): \(context.isEmpty ? "the top level" : context) must be a mapping, got \(value.kindDescription)")
        }
        if let known, let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail("unknown key '\(unknown.prefix(64))' (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    func fail(_ message: String) -> KeelError {
        .invalidModel("\(source): \(context.isEmpty ? "" : context + ": ")\(message)")
    }

    func has(_ key: String) -> Bool { values[key] != nil }

    /// An integer in `range`; a string, a fraction or a float such as `1e99` is refused.
    func int(_ key: String, in range: ClosedRange<Int>) throws(KeelError) -> Int? {
        guard let v = values[key] else { return nil }
        guard case .int(let i) = v, range.contains(i) else {
            throw fail("'\(key)' must be an integer from \(range.lowerBound) to \(range.upperBound), got \(describe(v))")
        }
        return i
    }

    /// A finite number (integer or float) in `range`.
    func number(_ key: String, in range: ClosedRange<Double>) throws(KeelError) -> Double? {
        guard let v = values[key] else { return nil }
        let d: Double
        switch v {
        case .int(let i): d = Double(i)
        case .double(let x): d = x
        default: throw fail("'\(key)' must be a number from \(range.lowerBound) to \(range.upperBound), got \(describe(v))")
        }
        guard d.isFinite, range.contains(d) else {
            throw fail("'\(key)' must be a finite number from \(range.lowerBound) to \(range.upperBound), got \(describe(v))")
        }
        return d
    }

    func bool(_ key: String) throws(KeelError) -> Bool? {
        guard let v = values[key] else { return nil }
        guard case .bool(let b) = v else { throw fail("'\(key)' must be true or false, got \(describe(v))") }
        return b
    }

    /// A non-empty string.
    func string(_ key: String) throws(KeelError) -> String? {
        guard let v = values[key] else { return nil }
        guard case .string(let s) = v, !s.isEmpty else { throw fail("'\(key)' must be a non-empty string, got \(describe(v))") }
        return s
    }

    /// A scalar read as text (a label or category): strings as they are, integers in decimal,
    /// booleans as true/false — the text a record's value is compared with.
    func text(of v: YAMLValue, _ what: String) throws(KeelError) -> String {
        let text: String
        switch v {
        case .string(let s): text = s
        case .int(let i): text = String(i)
        case .bool(let b): text = b ? "true" : "false"
        case .double(let d) where d.isFinite: text = FeatureSchema.categoryText(d)
        default: throw fail("\(what) must be a string, got \(describe(v))")
        }
        guard !text.isEmpty else { throw fail("\(what) must not be empty") }
        return text
    }

    /// A list of at most `maxCount` items.
    func list(_ key: String, maxCount: Int) throws(KeelError) -> [YAMLValue]? {
        guard let v = values[key] else { return nil }
        guard case .sequence(let items) = v else { throw fail("'\(key)' must be a list, got \(describe(v))") }
        guard items.count <= maxCount else { throw fail("'\(key)' has \(items.count) entries; at most \(maxCount) are allowed") }
        return items
    }

    /// Unique, non-empty texts (labels, categories).
    func uniqueTexts(_ key: String, maxCount: Int) throws(KeelError) -> [String]? {
        guard let items = try list(key, maxCount: maxCount) else { return nil }
        var seen = Set<String>()
        var out: [String] = []
        for (k, item) in items.enumerated() {
            let t = try text(of: item, "'\(key)' entry \(k)")
            guard seen.insert(t).inserted else { throw fail("'\(key)' lists '\(t.prefix(64))' twice") }
            out.append(t)
        }
        return out
    }

    func describe(_ v: YAMLValue) -> String {
        switch v {
        case .string(let s): return "the string '\(s.prefix(40))'"
        case .int(let i): return "\(i)"
        case .double(let d): return "\(d)"
        case .bool(let b): return "\(b)"
        default: return v.kindDescription
        }
    }
}
