/// How named features of a raw record become the tensors a model expects.
///
/// `vector` layout: every field contributes one or more columns to a single FP32 input
/// (numbers as is, indicators as 0/1, one-hot fields as one column per category) — the shape
/// tree models are trained on. `perField` layout: each field is its own `[N, 1]` input named
/// after the field (numbers FP32, integers INT64, strings BYTES) — the shape of exported
/// scikit-learn pipelines with a ColumnTransformer.
public struct FeatureSchema: Sendable, Equatable {
    /// What kind of value a field holds and how it is encoded.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case number
        case integer
        case string
        /// 1.0 when the value equals `positive`, else 0.0.
        case indicator
        /// One column per category, 1.0 in the value's column.
        case oneHot = "one_hot"
    }

    /// Tensor layout produced from records.
    public enum Layout: String, Sendable, Equatable {
        case vector
        case perField = "per_field"
    }

    /// One named field of a record.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var kind: Kind
        /// Allowed values for string, indicator and one-hot fields (nil: any).
        public var categories: [String]?
        /// The value that encodes as 1.0 for an indicator field.
        public var positive: String?
        /// Used when the field is absent; a field with no default is required.
        public var defaultValue: JSONValue?
        /// Whether values outside `categories` are accepted (one-hot: all zeros).
        public var allowUnknown: Bool

        public init(
            name: String, kind: Kind, categories: [String]? = nil, positive: String? = nil,
            defaultValue: JSONValue? = nil, allowUnknown: Bool = false
        ) {
            self.name = name
            self.kind = kind
            self.categories = categories
            self.positive = positive
            self.defaultValue = defaultValue
            self.allowUnknown = allowUnknown
        }

        /// Columns this field takes in the vector layout.
        public var width: Int { kind == .oneHot ? (categories?.count ?? 0) : 1 }
    }

    public var fields: [Field]
    public var layout: Layout
    /// Name of the single input in the vector layout.
    public var inputName: String
    /// Record fields that are carried through (e.g. an id) rather than encoded.
    public var passthrough: Set<String>

    /// Most fields a schema may list.
    public static let maxFields = 4096
    /// Most categories one field may list (one-hot: its column count).
    public static let maxCategories = 4096
    /// Most columns the vector layout may produce.
    public static let maxWidth = 65_536

    public init(fields: [Field], layout: Layout = .vector, inputName: String = "input", passthrough: Set<String> = []) throws(KeelError) {
        self.fields = fields
        self.layout = layout
        self.inputName = inputName
        self.passthrough = passthrough
        guard fields.count <= Self.maxFields else {
            throw .invalidModel("feature schema lists \(fields.count) fields; at most \(Self.maxFields) are allowed")
        }
        guard !inputName.isEmpty else { throw .invalidModel("feature schema input name must not be empty") }
        var seen = Set<String>()
        var width = 0
        for field in fields {
            guard !field.name.isEmpty else { throw .invalidModel("feature schema has a field with an empty name") }
            guard seen.insert(field.name).inserted else {
                throw .invalidModel("feature schema lists field '\(field.name)' twice")
            }
            if let categories = field.categories {
                guard !categories.isEmpty else {
                    throw .invalidModel("field '\(field.name)' has an empty categories list (omit it to accept any value)")
                }
                guard categories.count <= Self.maxCategories else {
                    throw .invalidModel("field '\(field.name)' lists \(categories.count) categories; at most \(Self.maxCategories) are allowed")
                }
                var distinct = Set<String>()
                for c in categories {
                    guard !c.isEmpty else { throw .invalidModel("field '\(field.name)' has an empty category") }
                    guard distinct.insert(c).inserted else {
                        throw .invalidModel("field '\(field.name)' lists category '\(c)' twice")
                    }
                }
            }
            if field.kind == .oneHot, (field.categories ?? []).isEmpty {
                throw .invalidModel("one-hot field '\(field.name)' needs a non-empty categories list")
            }
            if field.kind == .indicator, field.positive == nil {
                throw .invalidModel("indicator field '\(field.name)' needs a 'positive' value")
            }
            if layout == .vector, field.kind == .string {
                throw .invalidModel("string field '\(field.name)' needs the per_field layout (the vector layout is all numbers)")
            }
            width += field.width
        }
        guard width <= Self.maxWidth else {
            throw .invalidModel("feature schema encodes to \(width) columns; at most \(Self.maxWidth) are allowed")
        }
    }

    /// Columns of the vector layout.
    public var width: Int { fields.reduce(0) { $0 + $1.width } }

    /// Names of the vector layout's columns (one-hot columns as `field=category`).
    public var columnNames: [String] {
        fields.flatMap { f in
            f.kind == .oneHot ? (f.categories ?? []).map { "\(f.name)=\($0)" } : [f.name]
        }
    }

    /// Encodes records into the model's input tensors. The problems of the records are
    /// collected and reported at once, each naming the record and field — at most
    /// `RecordProblems.limit` of them, the first 20 in the message.
    public func encode(_ records: [[String: JSONValue]]) throws(KeelError) -> [String: Tensor] {
        var problems = RecordProblems()
        let known = Set(fields.map(\.name)).union(passthrough)
        for (i, record) in records.enumerated() where !problems.isFull {
            for key in record.keys.filter({ !known.contains($0) }).sorted() {
                problems.add("instance \(i): unknown field \(RecordProblems.quote(key))")
            }
        }
        let tensors: [String: Tensor]
        switch layout {
        case .vector: tensors = try encodeVector(records, &problems)
        case .perField: tensors = try encodePerField(records, &problems)
        }
        if !problems.isEmpty { throw problems.error }
        return tensors
    }

    /// The record's value for a field: present, defaulted, or nil after noting a problem.
    private func value(_ field: Field, in record: [String: JSONValue], _ i: Int, _ problems: inout RecordProblems) -> JSONValue? {
        if let v = record[field.name] { return v }
        if let d = field.defaultValue { return d }
        problems.add("instance \(i): missing field '\(field.name)'")
        return nil
    }

    func number(_ field: Field, _ v: JSONValue, _ i: Int, _ problems: inout RecordProblems) -> Double? {
        switch v {
        case .number(let d): return d  // NaN and ±Infinity included: trees route missing values
        case .bool(let b): return b ? 1 : 0
        case .null: return .nan  // explicit null = missing value
        default:
            problems.add("instance \(i): field '\(field.name)' must be a number, got \(Self.describe(v))")
            return nil
        }
    }

    func category(_ field: Field, _ v: JSONValue, _ i: Int, _ problems: inout RecordProblems) -> String? {
        let text: String
        switch v {
        case .string(let s): text = s
        case .bool(let b): text = b ? "true" : "false"
        case .number(let d): text = Self.categoryText(d)
        default:
            problems.add("instance \(i): field '\(field.name)' must be a string, got \(Self.describe(v))")
            return nil
        }
        if let categories = field.categories, !field.allowUnknown, !categories.contains(text) {
            problems.add("instance \(i): field '\(field.name)' has unknown category \(RecordProblems.quote(text)) (expected one of \(Self.list(categories)))")
            return nil
        }
        return text
    }

    /// A number used as a category: integral values without a fraction ("3", not "3.0").
    public static func categoryText(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }

    /// Up to ten categories quoted, for messages.
    private static func list(_ categories: [String]) -> String {
        let shown = categories.prefix(10).map { RecordProblems.quote($0) }.joined(separator: ", ")
        return categories.count > 10 ? shown + ", … (\(categories.count) in all)" : shown
    }

    /// Rows × columns, refused when it overflows or exceeds the per-tensor limit.
    func elementCount(rows: Int, columns: Int) throws(KeelError) -> Int {
        let (n, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, n <= Tensor.maxElements else {
            throw KeelError(.payloadTooLarge, "\(rows) records of \(columns) columns exceed the limit of \(Tensor.maxElements) elements per tensor")
        }
        return n
    }

    private func encodeVector(_ records: [[String: JSONValue]], _ problems: inout RecordProblems) throws(KeelError) -> [String: Tensor] {
        let width = self.width
        var out = [Float](repeating: 0, count: try elementCount(rows: records.count, columns: width))
        for (i, record) in records.enumerated() where !problems.isFull {
            var column = i * width
            for field in fields {
                defer { column += field.width }
                guard let v = value(field, in: record, i, &problems) else { continue }
                switch field.kind {
                case .number, .integer:
                    if let d = number(field, v, i, &problems) { out[column] = Float(d) }
                case .indicator:
                    if case .bool(let b) = v, field.categories == nil {
                        out[column] = b ? 1 : 0
                    } else if let c = category(field, v, i, &problems) {
                        out[column] = c == field.positive ? 1 : 0
                    }
                case .oneHot:
                    if let c = category(field, v, i, &problems), let k = field.categories?.firstIndex(of: c) {
                        out[column + k] = 1
                    }
                case .string:
                    break  // refused by init for this layout
                }
            }
        }
        return [inputName: try Tensor(shape: [records.count, width], data: .fp32(out))]
    }

    private func encodePerField(_ records: [[String: JSONValue]], _ problems: inout RecordProblems) throws(KeelError) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        let n = try elementCount(rows: records.count, columns: 1)
        for field in fields {
            switch field.kind {
            case .number, .indicator:
                var values = [Float](repeating: 0, count: n)
                for (i, record) in records.enumerated() where !problems.isFull {
                    guard let v = value(field, in: record, i, &problems) else { continue }
                    if field.kind == .indicator {
                        if let c = category(field, v, i, &problems) { values[i] = c == field.positive ? 1 : 0 }
                    } else if let d = number(field, v, i, &problems) {
                        values[i] = Float(d)
                    }
                }
                out[field.name] = try Tensor(shape: [n, 1], data: .fp32(values))
            case .integer:
                var values = [Int64](repeating: 0, count: n)
                for (i, record) in records.enumerated() where !problems.isFull {
                    guard let v = value(field, in: record, i, &problems) else { continue }
                    if case .number(let d) = v, let k = Int64(exactly: d) {
                        values[i] = k
                    } else {
                        problems.add("instance \(i): field '\(field.name)' must be an integer, got \(Self.describe(v))")
                    }
                }
                out[field.name] = try Tensor(shape: [n, 1], data: .int64(values))
            case .string, .oneHot:
                var values = [[UInt8]](repeating: [], count: n)
                for (i, record) in records.enumerated() where !problems.isFull {
                    guard let v = value(field, in: record, i, &problems) else { continue }
                    if let c = category(field, v, i, &problems) { values[i] = Array(c.utf8) }
                }
                out[field.name] = try Tensor(shape: [n, 1], data: .bytes(values))
            }
        }
        return out
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .number(let d): return "\(d)"
        case .string(let s): return "\"\(s.prefix(40))\""
        case .object: return "an object"
        default: return "an array"
        }
    }
}
