import Dispatch
import Synchronization
import KeelCore

/// Columns of records as the drift tests take them: each raw field of a feature schema (its
/// kind from the field type: numbers and integers numerical, the rest categorical), each
/// encoded model input (numerical, as the model sees it in FP32), and the prediction score.
public struct DriftColumns: Sendable, Equatable {
    public var raw: [(name: String, sample: ColumnSample)]
    public var encoded: [(name: String, sample: ColumnSample)]
    public var prediction: ColumnSample?

    public static func == (a: DriftColumns, b: DriftColumns) -> Bool {
        a.raw.map(\.name) == b.raw.map(\.name) && a.raw.map(\.sample) == b.raw.map(\.sample)
            && a.encoded.map(\.name) == b.encoded.map(\.name) && a.encoded.map(\.sample) == b.encoded.map(\.sample)
            && a.prediction == b.prediction
    }

    public init(raw: [(name: String, sample: ColumnSample)], encoded: [(name: String, sample: ColumnSample)], prediction: ColumnSample?) {
        self.raw = raw
        self.encoded = encoded
        self.prediction = prediction
    }

    /// The columns of `records` under `schema`. Records that do not encode (a value the schema
    /// refuses) still count for the raw fields; the encoded columns use the records that do.
    public static func from(records: [[String: JSONValue]], schema: FeatureSchema, predictions: [Double]? = nil) -> DriftColumns {
        var raw: [(String, ColumnSample)] = []
        for field in schema.fields {
            switch field.kind {
            case .number, .integer:
                var values: [Double] = []
                values.reserveCapacity(records.count)
                for r in records {
                    if case .number(let d)? = r[field.name], d.isFinite { values.append(d) }
                }
                raw.append((field.name, .numerical(values)))
            case .string, .indicator, .oneHot:
                var values: [String] = []
                values.reserveCapacity(records.count)
                for r in records {
                    if let v = r[field.name], let s = category(v) { values.append(s) }
                }
                raw.append((field.name, .categorical(values)))
            }
        }
        var encoded: [(String, ColumnSample)] = []
        if schema.layout == .vector {
            let width = schema.width
            var columns = [[Double]](repeating: [], count: width)
            // Encode in chunks so one bad record only drops its own chunk's rows row by row.
            let chunk = 1024
            var start = 0
            while start < records.count {
                let end = min(start + chunk, records.count)
                let slice = Array(records[start..<end])
                if let tensor = try? schema.encode(slice)[schema.inputName], let f = tensor.floats {
                    append(f, rows: slice.count, width: width, into: &columns)
                } else {
                    for r in slice {
                        if let t = try? schema.encode([r])[schema.inputName], let f = t.floats { append(f, rows: 1, width: width, into: &columns) }
                    }
                }
                start = end
            }
            for (k, name) in schema.columnNames.enumerated() { encoded.append((name, .numerical(columns[k]))) }
        }
        return DriftColumns(raw: raw, encoded: encoded, prediction: predictions.map { ColumnSample.numbers($0) })
    }

    private static func append(_ f: [Float], rows: Int, width: Int, into columns: inout [[Double]]) {
        for r in 0..<rows {
            for c in 0..<width {
                let v = Double(f[r * width + c])
                if v.isFinite { columns[c].append(v) }
            }
        }
    }

    /// A record value as a category label; nil for missing values.
    static func category(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .number(let d):
            guard d.isFinite else { return nil }
            if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
            return String(d)
        default: return nil
        }
    }
}

/// Compares current columns with reference columns, column by column.
public struct DriftAnalyzer: Sendable {
    public var overrides: [String: DriftOverride]
    public var minimumRows: Int
    public var datasetShare: Double

    public init(overrides: [String: DriftOverride] = [:], minimumRows: Int = DriftTest.defaultMinimumRows, datasetShare: Double = DriftReport.defaultDatasetShare) {
        self.overrides = overrides
        self.minimumRows = minimumRows
        self.datasetShare = datasetShare
    }

    /// Columns are compared in parallel (each is independent; a million-row window sorts and
    /// scans every column).
    public func report(reference: DriftColumns, current: DriftColumns) -> DriftReport {
        struct Job: Sendable {
            var name: String
            var reference: ColumnSample
            var current: ColumnSample
        }
        func jobs(_ ref: [(name: String, sample: ColumnSample)], _ cur: [(name: String, sample: ColumnSample)]) -> [Job] {
            let byName = Dictionary(cur.map { ($0.name, $0.sample) }, uniquingKeysWith: { a, _ in a })
            return ref.map { Job(name: $0.name, reference: $0.sample, current: byName[$0.name] ?? Self.empty(like: $0.sample)) }
        }
        let raw = jobs(reference.raw, current.raw), encoded = jobs(reference.encoded, current.encoded)
        var all = raw + encoded
        if let r = reference.prediction { all.append(Job(name: "prediction", reference: r, current: current.prediction ?? .numerical([]))) }
        let results = Mutex([ColumnDrift?](repeating: nil, count: all.count))
        let work = all
        let (overrides, minimumRows) = (self.overrides, self.minimumRows)
        DispatchQueue.concurrentPerform(iterations: work.count) { i in
            let job = work[i]
            let drift = DriftTest.column(
                name: job.name, reference: job.reference, current: job.current,
                override: overrides[job.name] ?? DriftOverride(), minimumRows: minimumRows)
            results.withLock { $0[i] = drift }
        }
        let done = results.withLock { $0 }.compactMap { $0 }
        return DriftReport(
            columns: Array(done[0..<raw.count]), encodedColumns: Array(done[raw.count..<(raw.count + encoded.count)]),
            prediction: reference.prediction == nil ? nil : done.last, datasetShare: datasetShare)
    }

    static func empty(like sample: ColumnSample) -> ColumnSample {
        if case .numerical = sample { return .numerical([]) }
        return .categorical([])
    }
}
