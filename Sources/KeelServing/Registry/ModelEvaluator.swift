import Foundation
import KeelCore
import KeelEngine
import KeelRegistry
import KeelStore

/// Evaluates a registered version on a holdout CSV and stores the metrics with the version:
/// accuracy, precision, recall, f1, roc_auc, log_loss (classifiers) or mae, rmse, r2
/// (regressors), plus measured p50/p95 single-row latency and the artifact size.
public struct ModelEvaluator: Sendable {
    public let registry: Registry
    public let loader: ModelLoader
    /// Rows timed one by one for the latency percentiles.
    public var latencySamples = 200

    public init(registry: Registry, loader: ModelLoader = ModelLoader()) {
        self.registry = registry
        self.loader = loader
    }

    public func evaluate(model: String, version number: Int, csv: String, label: String, by actor: Principal) async throws(KeelError) -> [String: Double] {
        let version = try await registry.version(model, number)
        let bytes = try registry.artifact(of: version)
        let loaded = try loader.load(ModelArtifact(bytes: bytes, filename: version.filename))
        let config = try version.configYAML.map { (text: String) throws(KeelError) in try ModelConfig.parse(yaml: text, source: "\(model) v\(number) schema") } ?? ModelConfig()
        let table = try CSVTable.parse(csv)
        guard let labelColumn = table.column(label) else {
            throw KeelError.invalidInput("holdout has no label column '\(label)' (columns: \(table.header.joined(separator: ", ")))")
        }
        guard !table.rows.isEmpty else { throw KeelError.invalidInput("holdout has no rows") }
        let encode = try encoder(table: table, labelColumn: labelColumn, config: config, model: loaded)

        // Predictions in chunks, the way a batch job would run them.
        var outputs: [[String: Tensor]] = []
        let chunk = 512
        var start = 0
        while start < table.rows.count {
            let end = min(start + chunk, table.rows.count)
            outputs.append(try loaded.infer(try encode(start..<end)))
            start = end
        }
        var latencies: [Double] = []
        for i in 0..<min(latencySamples, table.rows.count) {
            let inputs = try encode(i..<(i + 1))
            let t0 = ContinuousClock.now
            _ = try loaded.infer(inputs)
            let (s, atto) = (ContinuousClock.now - t0).components
            latencies.append((Double(s) + Double(atto) / 1e18) * 1000)
        }

        var metrics = try quality(outputs: outputs, labels: table.rows.map { $0[labelColumn] }, config: config, model: loaded)
        metrics["p50_latency_ms"] = QualityMetrics.percentile(latencies, 0.5)
        metrics["p95_latency_ms"] = QualityMetrics.percentile(latencies, 0.95)
        metrics["size_mb"] = Double(bytes.count) / 1_000_000
        metrics["holdout_rows"] = Double(table.rows.count)
        try await registry.recordMetrics(model, number, metrics: metrics, by: actor)
        return metrics
    }

    /// Rows → input tensors: through the version's feature schema when it has one, else every
    /// non-label column in file order as one FP32 matrix.
    func encoder(table: CSVTable, labelColumn: Int, config: ModelConfig, model: any LoadedModel) throws(KeelError) -> (Range<Int>) throws(KeelError) -> [String: Tensor] {
        if let schema = config.featureSchema {
            let numeric = Set(schema.fields.filter { $0.kind == .number || $0.kind == .integer }.map(\.name))
            let wanted = Set(schema.fields.map(\.name))
            let columns = table.header.enumerated().filter { wanted.contains($0.element) }
            return { (range: Range<Int>) throws(KeelError) -> [String: Tensor] in
                let records: [[String: JSONValue]] = table.rows[range].map { row in
                    var record: [String: JSONValue] = [:]
                    for (i, name) in columns {
                        let cell = row[i]
                        if numeric.contains(name) {
                            record[name] = cell.isEmpty ? .null : Double(cell).map { .number($0) } ?? .string(cell)
                        } else if !cell.isEmpty {
                            record[name] = .string(cell)
                        }
                    }
                    return record
                }
                return try schema.encode(records)
            }
        }
        guard let input = model.metadata.inputs.first, model.metadata.inputs.count == 1 else {
            throw KeelError.invalidInput("the model has \(model.metadata.inputs.count) inputs; evaluating without a feature schema needs exactly one")
        }
        let featureColumns = table.header.indices.filter { $0 != labelColumn }
        if let width = input.shape.last, width >= 0, width != featureColumns.count {
            throw KeelError.invalidInput("holdout has \(featureColumns.count) feature columns besides '\(table.header[labelColumn])', the model expects \(Tensor.describe(input.shape)); register the version with a feature schema")
        }
        var values = [Float](repeating: 0, count: table.rows.count * featureColumns.count)
        for (r, row) in table.rows.enumerated() {
            for (c, column) in featureColumns.enumerated() {
                let cell = row[column]
                guard let v = cell.isEmpty ? Float.nan : Float(cell) else {
                    throw KeelError.invalidInput("holdout row \(r + 2), column '\(table.header[column])': '\(cell)' is not a number (no feature schema to encode it)")
                }
                values[r * featureColumns.count + c] = v
            }
        }
        let width = featureColumns.count
        return { range in
            [input.name: Tensor(unchecked: [range.count, width], data: .fp32(Array(values[(range.lowerBound * width)..<(range.upperBound * width)])))]
        }
    }

    func quality(outputs: [[String: Tensor]], labels: [String], config: ModelConfig, model: any LoadedModel) throws(KeelError) -> [String: Double] {
        let signatures = model.metadata.outputs
        let probabilityName = signatures.first { $0.name == "probabilities" }?.name
            ?? signatures.first { $0.name.lowercased().contains("prob") && $0.dataType.isFloatingPoint }?.name
        if let name = probabilityName {
            var rows: [[Double]] = []
            for out in outputs {
                guard let t = out[name], let f = Self.doubles(t), t.shape.count == 2 else {
                    throw KeelError.invalidModel("output '\(name)' is not a [rows, classes] probability matrix")
                }
                let c = t.shape[1]
                guard c >= 1, rows.first.map({ $0.count == c }) ?? true else {
                    throw KeelError.invalidModel("output '\(name)' changes its number of classes between batches")
                }
                for r in 0..<t.shape[0] { rows.append(Array(f[(r * c)..<((r + 1) * c)])) }
            }
            let classes = rows.first?.count ?? 0
            let names = config.labels ?? model.metadata.classLabels
            var y: [Int] = []
            for (i, text) in labels.enumerated() {
                if let n = Int(text) ?? Double(text).flatMap({ Int(exactly: $0) }), n >= 0, n < max(classes, 2) {
                    y.append(n)
                } else if let k = names.firstIndex(of: text) {
                    y.append(k)
                } else {
                    throw KeelError.invalidInput("holdout row \(i + 2): label '\(text.prefix(40))' is neither a class index nor one of \(names.prefix(20))")
                }
            }
            if classes == 2 {
                let positive = config.positiveClass ?? 1
                guard (0..<classes).contains(positive) else {
                    throw KeelError.invalidModel("positive_class \(positive) is out of range for \(classes) classes")
                }
                return try QualityMetrics.binary(probabilities: rows.map { $0[positive] }, labels: y.map { $0 == positive ? 1 : 0 })
            }
            return try QualityMetrics.multiclass(probabilities: rows, labels: y)
        }
        guard let name = signatures.first(where: { $0.dataType.isFloatingPoint })?.name else {
            throw KeelError.invalidModel("the model has no floating-point output to evaluate")
        }
        var predictions: [Double] = []
        for out in outputs {
            guard let t = out[name], let f = Self.doubles(t) else { throw KeelError.invalidModel("missing output '\(name)'") }
            predictions += f
        }
        var targets: [Double] = []
        for (i, text) in labels.enumerated() {
            guard let d = Double(text) else { throw KeelError.invalidInput("holdout row \(i + 2): target '\(text)' is not a number") }
            targets.append(d)
        }
        guard predictions.count == targets.count else {
            throw KeelError.invalidModel("output '\(name)' has \(predictions.count) values for \(targets.count) rows")
        }
        return QualityMetrics.regression(predictions: predictions, targets: targets)
    }

    static func doubles(_ t: Tensor) -> [Double]? {
        switch t.data {
        case .fp32(let v): return v.map(Double.init)
        case .fp64(let v): return v
        default: return nil
        }
    }
}

extension DataType {
    var isFloatingPoint: Bool { self == .fp32 || self == .fp64 || self == .fp16 }
}
