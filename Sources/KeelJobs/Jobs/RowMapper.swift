import KeelCore
import KeelServing

/// Turns input rows into a version's input tensors, a batch at a time: raw records through the
/// feature schema (CSV cells typed by the schema: numbers parsed, blanks missing), or columns
/// of encoded features as the single FP32 input. Also reads each row's entity id and
/// passthrough values for the output.
struct RowMapper {
    let spec: JobSpec
    let schema: FeatureSchema?
    let header: [String]
    let index: [String: Int]
    /// CSV columns feeding the schema's fields: (field, column, numeric).
    let fieldColumns: [(name: String, column: Int, numeric: Bool)]
    /// JSON fields kept from each record (the schema's and the id).
    let keep: Set<String>
    /// Encoded input: the feature columns, the input's name.
    let featureColumns: [Int]
    let inputName: String
    let idColumn: Int?

    /// The schema's text path for CSV rows (vector layout, no prediction log).
    let textColumns: FeatureSchema.TextColumns?

    private(set) var records: [[String: JSONValue]] = []
    private var cells: [[String]] = []
    private var floats: [Float] = []
    private var count = 0

    init(served: ServedVersion, spec: JobSpec) throws(KeelError) {
        self.spec = spec
        let header = spec.header ?? []
        self.header = header
        var index: [String: Int] = [:]
        for (i, name) in header.enumerated() { index[name] = i }
        self.index = index
        idColumn = spec.idColumn.flatMap { index[$0] }
        switch spec.inputKind {
        case .records:
            guard let schema = served.config.featureSchema else {
                throw KeelError.invalidInput("model '\(served.modelName)' version \(served.version) has no feature schema, so it cannot score raw records; submit with encoded input")
            }
            self.schema = schema
            let idx = index
            fieldColumns = schema.fields.compactMap { f in
                idx[f.name].map { (f.name, $0, f.kind == .number || f.kind == .integer) }
            }
            keep = Set(schema.fields.map(\.name))
            featureColumns = []
            inputName = schema.inputName
            textColumns = spec.input.format == .csv && schema.takesText && !spec.log ? schema.textColumns(header: header) : nil
        case .encoded:
            schema = nil
            fieldColumns = []
            keep = []
            textColumns = nil
            guard let input = served.metadata.inputs.first, served.metadata.inputs.count == 1, input.dataType == .fp32 else {
                throw KeelError.invalidInput("encoded input needs a model with a single FP32 input; model '\(served.modelName)' has \(served.metadata.inputs.count) inputs")
            }
            let skipped = Set(spec.passthrough + (spec.idColumn.map { [$0] } ?? []))
            let columns = header.indices.filter { !skipped.contains(header[$0]) }
            featureColumns = columns
            if let width = input.shape.last, width >= 0, width != columns.count {
                throw KeelError.invalidInput(
                    "the input has \(columns.count) feature columns besides the id and passthrough ones; the model expects \(Tensor.describe(input.shape))")
            }
            inputName = input.name
        }
    }

    /// Maps a batch: the input tensors of the rows that can be scored (nil when none can),
    /// their positions in `rows`, and the others' line numbers with the reason, in line order.
    mutating func map(_ rows: [InputRow]) throws(KeelError) -> (inputs: [String: Tensor]?, kept: [Int], failures: [(Int64, String)]) {
        var failures: [(Int64, String)] = []
        if let textColumns, let schema {
            cells.removeAll(keepingCapacity: true)
            var positions: [Int] = []
            positions.reserveCapacity(rows.count)
            for (i, row) in rows.enumerated() {
                switch row.values {
                case .csv(let c):
                    cells.append(c)
                    positions.append(i)
                case .invalid(let reason):
                    failures.append((row.line, reason))
                case .json:
                    failures.append((row.line, "a JSON row in a CSV file"))
                }
            }
            let (inputs, kept, refused) = try schema.encode(text: cells, columns: textColumns)
            for (k, reason) in refused { failures.append((rows[positions[k]].line, reason)) }
            failures.sort { $0.0 < $1.0 }
            return (kept.isEmpty ? nil : inputs, kept.map { positions[$0] }, failures)
        }
        var good: [Int] = []
        good.reserveCapacity(rows.count)
        begin(capacity: rows.count)
        for (i, row) in rows.enumerated() {
            if let problem = add(row) {
                failures.append((row.line, problem))
            } else {
                good.append(i)
            }
        }
        var inputs: [String: Tensor]
        do throws(KeelError) {
            inputs = try encode()
        } catch {
            // Some record the schema refuses: find which, one by one (only on this slow path).
            let (kept, refused) = isolate()
            for (k, reason) in refused { failures.append((rows[good[k]].line, reason)) }
            good = kept.map { good[$0] }
            inputs = try encode()
        }
        failures.sort { $0.0 < $1.0 }
        return (good.isEmpty ? nil : inputs, good, failures)
    }

    mutating func begin(capacity: Int) {
        records.removeAll(keepingCapacity: true)
        floats.removeAll(keepingCapacity: true)
        count = 0
        if schema != nil { records.reserveCapacity(capacity) } else { floats.reserveCapacity(capacity * featureColumns.count) }
    }

    /// Adds a row to the batch, or returns why it cannot be used.
    mutating func add(_ row: InputRow) -> String? {
        switch row.values {
        case .invalid(let reason):
            return reason
        case .json(let object):
            guard schema != nil else { return "encoded input must be CSV" }
            records.append(object.count == keep.count ? object : object.filter { keep.contains($0.key) })
        case .csv(let cells):
            if schema != nil {
                var record: [String: JSONValue] = [:]
                record.reserveCapacity(fieldColumns.count)
                for (name, column, numeric) in fieldColumns where column < cells.count {
                    let cell = cells[column]
                    if numeric {
                        record[name] = cell.isEmpty ? .null : Double(cell).map { .number($0) } ?? .string(cell)
                    } else if !cell.isEmpty {
                        record[name] = .string(cell)
                    }
                }
                records.append(record)
            } else {
                let start = floats.count
                for column in featureColumns {
                    let cell = column < cells.count ? cells[column] : ""
                    guard let v = cell.isEmpty ? Float.nan : Float(cell) else {
                        floats.removeSubrange(start...)
                        return "column '\(header[column])': '\(cell.prefix(40))' is not a number"
                    }
                    floats.append(v)
                }
            }
        }
        count += 1
        return nil
    }

    /// The batch's input tensors.
    func encode() throws(KeelError) -> [String: Tensor] {
        if let schema { return try schema.encode(records) }
        return [inputName: try Tensor(shape: [count, featureColumns.count], data: .fp32(floats))]
    }

    /// After `encode` refused the batch: drops each record the schema refuses on its own and
    /// returns the positions kept and the refused ones with the schema's reason.
    mutating func isolate() -> (kept: [Int], refused: [(Int, String)]) {
        guard let schema else { return (Array(0..<count), []) }
        var kept: [Int] = []
        var refused: [(Int, String)] = []
        var good: [[String: JSONValue]] = []
        for (i, record) in records.enumerated() {
            do throws(KeelError) {
                _ = try schema.encode([record])
                kept.append(i)
                good.append(record)
            } catch {
                refused.append((i, Self.reason(error.message)))
            }
        }
        records = good
        count = good.count
        return (kept, refused)
    }

    /// "instance 0: missing field 'age'" → "missing field 'age'" (several problems joined by "; ").
    static func reason(_ message: String) -> String {
        message.replacingOccurrences(of: "instance 0: ", with: "")
    }

    /// A row's entity id as text: its id column, else its line number.
    func entity(_ row: InputRow, chunk: ChunkRange) -> String {
        guard let name = spec.idColumn else { return String(row.line) }
        return text(row, name)
    }

    func entityValue(_ row: InputRow, chunk: ChunkRange) -> JSONValue {
        guard let name = spec.idColumn else { return .number(Double(row.line)) }
        return value(row, name)
    }

    /// A column's value as text (CSV cell as is; JSON strings unquoted, other values as JSON).
    func text(_ row: InputRow, _ name: String) -> String {
        switch row.values {
        case .csv(let cells):
            guard let i = index[name], i < cells.count else { return "" }
            return cells[i]
        case .json(let object):
            guard let v = object[name] else { return "" }
            switch v {
            case .null: return ""
            case .string(let s): return s
            case .number(let d): return FeatureSchema.categoryText(d)
            case .bool(let b): return b ? "true" : "false"
            default:
                var w = JSONWriter()
                w.value(v)
                return String(decoding: w.bytes, as: UTF8.self)
            }
        case .invalid:
            return ""
        }
    }

    func value(_ row: InputRow, _ name: String) -> JSONValue {
        switch row.values {
        case .csv(let cells):
            guard let i = index[name], i < cells.count else { return .null }
            return .string(cells[i])
        case .json(let object):
            return object[name] ?? .null
        case .invalid:
            return .null
        }
    }
}
