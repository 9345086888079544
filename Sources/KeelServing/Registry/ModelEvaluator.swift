import Foundation
import KeelCore
import KeelEngine
import KeelMonitoring
import KeelRegistry
import KeelStore

/// Evaluates a registered version on a holdout CSV and stores the metrics with the version:
/// accuracy, precision, recall, f1, roc_auc, pr_auc, log_loss, brier (classifiers) or mae,
/// rmse, r2 (regressors), measured p50/p95 single-row latency and the artifact size — with the
/// same metric implementation as live quality. The holdout also becomes the version's reference
/// profile for drift (as does a reference file uploaded on its own, `profileReference`).
public struct ModelEvaluator: Sendable {
    public let registry: Registry
    public let loader: ModelLoader
    /// Rows timed one by one for the latency percentiles.
    public var latencySamples = 200

    public init(registry: Registry, loader: ModelLoader = ModelLoader()) {
        self.registry = registry
        self.loader = loader
    }

    /// A version loaded with its configuration, ready to score a table.
    struct Scoring {
        var version: ModelVersionRecord
        var bytes: [UInt8]
        var model: any LoadedModel
        var config: ModelConfig
        var profile: OutputProfile
    }

    func load(_ model: String, _ number: Int) async throws(KeelError) -> Scoring {
        let version = try await registry.version(model, number)
        let bytes = try registry.artifact(of: version)
        let loaded = try loader.load(ModelArtifact(bytes: bytes, filename: version.filename))
        let config = try version.configYAML.map { (text: String) throws(KeelError) in try ModelConfig.parse(yaml: text, source: "\(model) v\(number) schema") } ?? ModelConfig()
        let profile = OutputProfile.of(metadata: loaded.metadata, config: config, classLabels: config.labels ?? loaded.metadata.classLabels)
        return Scoring(version: version, bytes: bytes, model: loaded, config: config, profile: profile)
    }

    public func evaluate(model: String, version number: Int, csv: String, label: String, by actor: Principal) async throws(KeelError) -> [String: Double] {
        let s = try await load(model, number)
        let table = try CSVTable.parse(csv)
        guard let labelColumn = table.column(label) else {
            throw KeelError.invalidInput("holdout has no label column '\(label)' (columns: \(table.header.prefix(50).joined(separator: ", ")))")
        }
        guard !table.rows.isEmpty else { throw KeelError.invalidInput("holdout has no rows") }
        let encode = try Self.encoder(table: table, skipping: labelColumn, config: s.config, model: s.model)
        let outputs = try Self.score(s.model, rows: table.rows.count, encode)
        var latencies: [Double] = []
        for i in 0..<min(latencySamples, table.rows.count) {
            let inputs = try encode(i..<(i + 1))
            let t0 = ContinuousClock.now
            _ = try s.model.infer(inputs)
            let (sec, atto) = (ContinuousClock.now - t0).components
            latencies.append((Double(sec) + Double(atto) / 1e18) * 1000)
        }
        var metrics = try Self.quality(outputs: outputs, labels: table.rows.map { $0[labelColumn] }, profile: s.profile)
        metrics["p50_latency_ms"] = Percentile.nearestRank(latencies, 0.5)
        metrics["p95_latency_ms"] = Percentile.nearestRank(latencies, 0.95)
        metrics["size_mb"] = Double(s.bytes.count) / 1_000_000
        metrics["holdout_rows"] = Double(table.rows.count)
        let profile = try reference(table, skipping: labelColumn, scoring: s, outputs: outputs, encode: encode)
        let record = try Self.record(profile, model: model, version: number, source: "evaluation", by: actor)
        try await registry.recordMetrics(model, number, metrics: metrics, by: actor)
        try await registry.store.write { tx throws(KeelError) in _ = try await tx.appendReferenceProfile(record) }
        return metrics
    }

    /// Stores a reference profile of a data file (no labels needed) for drift.
    public func profileReference(model: String, version number: Int, csv: String, by actor: Principal) async throws(KeelError) -> ReferenceProfileRecord {
        let s = try await load(model, number)
        let table = try CSVTable.parse(csv)
        guard !table.rows.isEmpty else { throw KeelError.invalidInput("the reference file has no rows") }
        if let schema = s.config.featureSchema {
            let present = Set(table.header)
            if let missing = schema.fields.first(where: { !present.contains($0.name) && $0.defaultValue == nil }) {
                throw KeelError.invalidInput("the reference file has no column '\(missing.name)' of the feature schema")
            }
        }
        let encode = try Self.encoder(table: table, skipping: nil, config: s.config, model: s.model)
        let outputs = try Self.score(s.model, rows: table.rows.count, encode)
        let profile = try reference(table, skipping: nil, scoring: s, outputs: outputs, encode: encode)
        var record = try Self.record(profile, model: model, version: number, source: "upload", by: actor)
        record.id = try await registry.store.write { tx throws(KeelError) in try await tx.appendReferenceProfile(record) }
        return record
    }

    /// Predictions in chunks, the way a batch job would run them.
    static func score(_ model: any LoadedModel, rows: Int, _ encode: (Range<Int>) throws(KeelError) -> [String: Tensor]) throws(KeelError) -> [[String: Tensor]] {
        var outputs: [[String: Tensor]] = []
        let chunk = 512
        var start = 0
        while start < rows {
            let end = min(start + chunk, rows)
            outputs.append(try model.infer(try encode(start..<end)))
            start = end
        }
        return outputs
    }

    static func record(_ p: ReferenceProfile, model: String, version: Int, source: String, by actor: Principal) throws(KeelError) -> ReferenceProfileRecord {
        var w = JSONWriter()
        w.value(p.summary)
        return ReferenceProfileRecord(
            model: model, version: String(version), source: source, rowCount: p.rows, sampled: p.sampled, seed: p.seed,
            summary: String(decoding: w.bytes, as: UTF8.self), sample: ReferenceSampleCodec.encode(p.columns), createdBy: actor.actor)
    }

    /// The table's profile: its schema fields (or encoded columns), encoded inputs and scores.
    func reference(
        _ table: CSVTable, skipping label: Int?, scoring s: Scoring, outputs: [[String: Tensor]],
        encode: (Range<Int>) throws(KeelError) -> [String: Tensor]
    ) throws(KeelError) -> ReferenceProfile {
        let scores = Self.scores(outputs, profile: s.profile)
        if let schema = s.config.featureSchema {
            return ReferenceProfile.build(records: Self.records(table, schema: schema), schema: schema, predictions: scores)
        }
        let inputs = try encode(0..<table.rows.count)
        guard let name = s.profile.vectorInput, let t = inputs[name], let f = t.floats, t.shape.count == 2 else {
            return ReferenceProfile.build(records: [], schema: nil, predictions: scores)
        }
        let names = table.header.indices.filter { $0 != label }.map { table.header[$0] }
        return ReferenceProfile.build(records: [], schema: nil, encoded: (f, t.shape[1], names), predictions: scores)
    }

    /// Raw records from the table's schema columns (numbers as numbers, blanks as missing).
    public static func records(_ table: CSVTable, schema: FeatureSchema) -> [[String: JSONValue]] {
        let numeric = Set(schema.fields.filter { $0.kind == .number || $0.kind == .integer }.map(\.name))
        let wanted = Set(schema.fields.map(\.name))
        let columns = table.header.enumerated().filter { wanted.contains($0.element) }
        return table.rows.map { row in
            var record: [String: JSONValue] = [:]
            for (i, name) in columns where i < row.count {
                let cell = row[i]
                if numeric.contains(name) {
                    record[name] = cell.isEmpty ? .null : Double(cell).map { .number($0) } ?? .string(cell)
                } else if !cell.isEmpty {
                    record[name] = .string(cell)
                }
            }
            return record
        }
    }

    /// The monitored score per row: the positive-class (binary) or top-class probability, or the prediction.
    public static func scores(_ outputs: [[String: Tensor]], profile: OutputProfile) -> [Double]? {
        var out: [Double] = []
        for o in outputs {
            if let name = profile.probabilities, let t = o[name], let f = t.floats, t.shape.count == 2, t.shape[1] >= 1 {
                let c = t.shape[1]
                for r in 0..<t.shape[0] {
                    let row = f[(r * c)..<((r + 1) * c)]
                    out.append(Double(c == 2 ? row[row.startIndex + min(max(profile.positiveClass, 0), 1)] : (row.max() ?? .nan)))
                }
            } else if let name = profile.prediction, let t = o[name], let f = t.floats, let n = t.shape.first, n > 0 {
                let width = max(1, f.count / n)
                for r in 0..<n { out.append(Double(f[r * width])) }
            } else {
                return nil
            }
        }
        return out
    }

    /// Rows → input tensors: through the version's feature schema when it has one, else every
    /// column but the label in file order as one FP32 matrix.
    static func encoder(table: CSVTable, skipping labelColumn: Int?, config: ModelConfig, model: any LoadedModel) throws(KeelError) -> (Range<Int>) throws(KeelError) -> [String: Tensor] {
        if let schema = config.featureSchema {
            let records = Self.records(table, schema: schema)
            return { (range: Range<Int>) throws(KeelError) -> [String: Tensor] in try schema.encode(Array(records[range])) }
        }
        guard let input = model.metadata.inputs.first, model.metadata.inputs.count == 1 else {
            throw KeelError.invalidInput("the model has \(model.metadata.inputs.count) inputs; evaluating without a feature schema needs exactly one")
        }
        let featureColumns = table.header.indices.filter { $0 != labelColumn }
        if let width = input.shape.last, width >= 0, width != featureColumns.count {
            let besides = labelColumn.map { " besides '\(table.header[$0])'" } ?? ""
            throw KeelError.invalidInput("the file has \(featureColumns.count) feature columns\(besides), the model expects \(Tensor.describe(input.shape)); register the version with a feature schema")
        }
        let (total, overflow) = table.rows.count.multipliedReportingOverflow(by: featureColumns.count)
        guard !overflow, total <= 1 << 28 else { throw KeelError(.payloadTooLarge, "the file has too many values to evaluate at once") }
        var values = [Float](repeating: 0, count: table.rows.count * featureColumns.count)
        for (r, row) in table.rows.enumerated() {
            for (c, column) in featureColumns.enumerated() {
                let cell = column < row.count ? row[column] : ""
                guard let v = cell.isEmpty ? Float.nan : Float(cell) else {
                    throw KeelError.invalidInput("row \(r + 2), column '\(table.header[column])': '\(cell.prefix(40))' is not a number (no feature schema to encode it)")
                }
                values[r * featureColumns.count + c] = v
            }
        }
        let width = featureColumns.count
        return { range in
            [input.name: Tensor(unchecked: [range.count, width], data: .fp32(Array(values[(range.lowerBound * width)..<(range.upperBound * width)])))]
        }
    }

    /// Holdout quality through KeelMonitoring's one implementation (undefined metrics left out).
    static func quality(outputs: [[String: Tensor]], labels: [String], profile: OutputProfile) throws(KeelError) -> [String: Double] {
        func run(_ f: () throws(MonitoringError) -> QualityReport) throws(KeelError) -> [String: Double] {
            do { return try f().definedMetrics } catch { throw error.keelError }
        }
        switch profile.task {
        case .binary, .multiclass:
            guard let name = profile.probabilities else { throw KeelError.invalidModel("the model has no probability output to evaluate") }
            var rows: [[Double]] = []
            for out in outputs {
                guard let t = out[name], let f = t.floats, t.shape.count == 2, t.shape[1] >= 1 else {
                    throw KeelError.invalidModel("output '\(name)' is not a [rows, classes] probability matrix")
                }
                let c = t.shape[1]
                guard rows.first.map({ $0.count == c }) ?? true else {
                    throw KeelError.invalidModel("output '\(name)' changes its number of classes between batches")
                }
                for r in 0..<t.shape[0] { rows.append(f[(r * c)..<((r + 1) * c)].map(Double.init)) }
            }
            var y: [Int] = []
            for (i, text) in labels.enumerated() {
                guard let k = profile.classIndex(of: text) else {
                    throw KeelError.invalidInput("holdout row \(i + 2): label '\(text.prefix(40))' is neither a class index nor one of \(profile.classLabels.prefix(20))")
                }
                y.append(k)
            }
            if profile.task == .binary {
                let positive = min(max(profile.positiveClass, 0), 1)
                let scores = rows.map { $0[positive] }
                return try run { () throws(MonitoringError) in
                    try ClassificationQuality.binary(
                        labels: y.map { $0 == positive ? 1 : 0 }, scores: scores, predicted: scores.map { $0 > 0.5 ? 1 : 0 })
                }
            }
            let predicted = rows.map { row in row.indices.max { row[$0] < row[$1] } ?? 0 }
            return try run { () throws(MonitoringError) in try ClassificationQuality.multiclass(labels: y, probabilities: rows, predicted: predicted) }
        case .regression, .unknown:
            guard let name = profile.prediction else { throw KeelError.invalidModel("the model has no floating-point output to evaluate") }
            var predictions: [Double] = []
            for out in outputs {
                guard let t = out[name], let f = t.floats, let n = t.shape.first, n > 0 else { throw KeelError.invalidModel("missing output '\(name)'") }
                let width = max(1, f.count / n)
                for r in 0..<n { predictions.append(Double(f[r * width])) }
            }
            var targets: [Double] = []
            for (i, text) in labels.enumerated() {
                guard let d = Double(text), d.isFinite else { throw KeelError.invalidInput("holdout row \(i + 2): target '\(text.prefix(40))' is not a number") }
                targets.append(d)
            }
            guard predictions.count == targets.count else {
                throw KeelError.invalidModel("output '\(name)' has \(predictions.count) values for \(targets.count) rows")
            }
            return try run { () throws(MonitoringError) in try RegressionQuality.compute(targets: targets, predictions: predictions) }
        }
    }
}
