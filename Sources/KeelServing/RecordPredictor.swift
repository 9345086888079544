import KeelCore

/// The records API: raw records in, labelled predictions out. Records go through the
/// version's feature schema into tensors, through the batcher, and the outputs are turned
/// into `{id, label, probability, risk_band, scores}` (classifiers) or `{id, prediction}`.
public enum RecordPredictor {
    /// Records one request may carry unless the server configures another limit.
    public static let defaultMaxInstances = 10_000

    /// Parses `{"instances": [{…}, …]}` into records. More than `maxInstances` records is a
    /// 413 naming the limit; NaN/Infinity tokens are numbers (docs/json.md).
    public static func decodeInstances(_ body: [UInt8], maxInstances: Int = defaultMaxInstances) throws(KeelError) -> [[String: JSONValue]] {
        let doc = try JSONParser.parse(body, errorCode: .invalidInput, numericArrays: .values)
        guard doc.objectValue != nil, let instances = doc["instances"]?.arrayValue else {
            throw .invalidInput("request body must be {\"instances\": [{feature: value, …}, …]}")
        }
        guard !instances.isEmpty else { throw .invalidInput("'instances' is empty") }
        guard instances.count <= maxInstances else {
            throw KeelError(.payloadTooLarge, "'instances' holds \(instances.count) records; one request may carry at most \(maxInstances) (split it, or use a batch job)")
        }
        var records: [[String: JSONValue]] = []
        records.reserveCapacity(instances.count)
        for (i, v) in instances.enumerated() {
            guard let o = v.objectValue else { throw .invalidInput("instance \(i) must be an object of named features") }
            records.append(o)
        }
        return records
    }

    /// Predicts for records and encodes the response body.
    public static func predict(_ served: ServedVersion, records: [[String: JSONValue]]) async throws(KeelError) -> [UInt8] {
        guard let schema = served.config.featureSchema else {
            throw .invalidInput("model '\(served.modelName)' has no feature schema in its config.yaml, so it cannot take records; use the v2 infer endpoint")
        }
        let inputs = try schema.encode(records)
        let outputs = try await served.infer(inputs)
        return try encode(served, records: records, outputs: outputs)
    }

    /// Writes prediction objects of one version's answer, row by row. A fallback model's
    /// answer is read with that model's outputs, labels and bands, and marked `"fallback": true`.
    struct RowEncoder {
        /// The version whose outputs these are (a fallback model's, when one answered).
        let served: ServedVersion
        let idField: String?
        let fallback: Bool
        let probabilities: (values: [Float], classes: Int, labels: [String], positive: Int)?
        let values: (values: [Float], width: Int)?

        init(_ requested: ServedVersion, rows n: Int, outputs: [String: Tensor], fallback: Answer.Fallback? = nil) throws(KeelError) {
            let served = fallback?.model ?? requested
            self.served = served
            idField = requested.config.idField
            self.fallback = fallback != nil
            let signatures = served.metadata.outputs
            // The probability matrix: FP32 [N, C]; the label vector: INT64/BYTES [N].
            if let t = signatures.lazy.compactMap({ outputs[$0.name] })
                .first(where: { $0.dataType == .fp32 && $0.shape.count == 2 && $0.shape[0] == n && $0.shape[1] >= 2 }), let p = t.floats {
                let classes = t.shape[1]
                var labels = served.classLabels
                if labels.count != classes { labels = (0..<classes).map(String.init) }
                probabilities = (p, classes, labels, max(0, min(served.config.positiveClass ?? (classes - 1), classes - 1)))
                values = nil
            } else if let t = signatures.lazy.compactMap({ outputs[$0.name] }).first(where: { $0.dataType == .fp32 && $0.shape.first == n }),
                      let v = t.floats {
                probabilities = nil
                values = (v, max(1, t.count / max(n, 1)))
            } else {
                throw KeelError(.internal, "model '\(served.modelName)' produced no FP32 output the records API can report")
            }
        }

        /// The predicted class of a row: the most probable, or (binary) the positive one over 0.5.
        static func best(_ p: [Float], _ classes: Int, row r: Int) -> Int {
            if classes == 2 { return p[r * 2 + 1] > 0.5 ? 1 : 0 }
            var best = 0
            for k in 1..<classes where p[r * classes + k] > p[r * classes + best] { best = k }
            return best
        }

        /// One prediction object; `version` adds the row's own `model_version` (rollouts).
        func write(_ w: inout JSONWriter, row r: Int, record: [String: JSONValue], version: String?) {
            w.raw("{")
            if let idField, let id = record[idField] {
                w.string(idField)
                w.raw(":")
                w.value(id)
                w.raw(",")
            }
            if let version {
                w.raw("\"model_version\":")
                w.string(version)
                w.raw(",")
            }
            if fallback { w.raw("\"fallback\":true,") }
            if let (p, classes, labels, positive) = probabilities {
                let best = Self.best(p, classes, row: r)
                let probability = Double(p[r * classes + positive])
                w.raw("\"label\":")
                w.string(labels[best])
                w.raw(",\"probability\":")
                w.number(Float(probability))
                if let band = served.config.riskBand(for: probability) {
                    w.raw(",\"risk_band\":")
                    w.string(band)
                }
                w.raw(",\"scores\":{")
                for k in 0..<classes {
                    if k > 0 { w.raw(",") }
                    w.string(labels[k])
                    w.raw(":")
                    w.number(p[r * classes + k])
                }
                w.raw("}}")
            } else if let (v, width) = values {
                w.raw("\"prediction\":")
                if width == 1 {
                    w.number(v[r])
                } else {
                    w.list(width) { $0.number(v[r * width + $1]) }
                }
                w.raw("}")
            }
        }
    }

    /// The response of one version; `perRowVersion` also names the version in each prediction
    /// (a request a rollout routed).
    static func encode(
        _ served: ServedVersion, records: [[String: JSONValue]], outputs: [String: Tensor], perRowVersion: Bool = false, fallback: Answer.Fallback? = nil
    ) throws(KeelError) -> [UInt8] {
        let n = records.count
        let rows = try RowEncoder(served, rows: n, outputs: outputs, fallback: fallback)
        var w = JSONWriter(capacity: 128 + n * 160)
        w.raw("{\"model_name\":")
        w.string(served.modelName)
        w.raw(",\"model_version\":")
        w.string(served.version)
        w.raw(",\"predictions\":[")
        for r in 0..<n {
            if r > 0 { w.raw(",") }
            rows.write(&w, row: r, record: records[r], version: perRowVersion ? served.version : nil)
        }
        w.raw("]}")
        return w.bytes
    }

    /// One version's share of a records request a rollout split between versions.
    struct Part {
        var served: ServedVersion
        /// Positions in the request of this part's records, ascending.
        var rows: [Int]
        var records: [[String: JSONValue]]
        var outputs: [String: Tensor]
        /// Set when a fallback answered this part.
        var fallback: Answer.Fallback? = nil
    }

    /// The response of a request split between versions: predictions in request order, each
    /// naming its version, and no top-level `model_version` (the rows do not share one).
    static func encodeMixed(model: String, parts: [Part], count n: Int) throws(KeelError) -> [UInt8] {
        var encoders: [RowEncoder] = []
        var slot = [(part: Int, row: Int)](repeating: (0, 0), count: n)
        for (k, part) in parts.enumerated() {
            encoders.append(try RowEncoder(part.served, rows: part.records.count, outputs: part.outputs, fallback: part.fallback))
            for (local, global) in part.rows.enumerated() where global >= 0 && global < n { slot[global] = (k, local) }
        }
        var w = JSONWriter(capacity: 128 + n * 180)
        w.raw("{\"model_name\":")
        w.string(model)
        w.raw(",\"predictions\":[")
        for r in 0..<n {
            if r > 0 { w.raw(",") }
            let (k, local) = slot[r]
            encoders[k].write(&w, row: local, record: parts[k].records[local], version: parts[k].served.version)
        }
        w.raw("]}")
        return w.bytes
    }

    /// One version's answer for a batch of rows read as the records API reports it: label,
    /// probability and risk band (classifiers) or the prediction (regressors). Batch jobs and
    /// streams write these columns.
    public struct ScoredRows {
        let encoder: RowEncoder

        public init(_ served: ServedVersion, rows: Int, outputs: [String: Tensor]) throws(KeelError) {
            encoder = try RowEncoder(served, rows: rows, outputs: outputs)
        }

        public var isClassifier: Bool { encoder.probabilities != nil }
        /// Values per row of a regressor's prediction.
        public var predictionWidth: Int { encoder.values?.width ?? 0 }

        public func label(_ r: Int) -> String {
            guard let (p, classes, labels, _) = encoder.probabilities else { return "" }
            return labels[RowEncoder.best(p, classes, row: r)]
        }

        /// The positive class's probability (the last class unless `positive_class` says otherwise).
        public func probability(_ r: Int) -> Float {
            guard let (p, classes, _, positive) = encoder.probabilities else { return .nan }
            return p[r * classes + positive]
        }

        /// The predicted class's position in `labels`.
        public func labelIndex(_ r: Int) -> Int {
            guard let (p, classes, _, _) = encoder.probabilities else { return 0 }
            return RowEncoder.best(p, classes, row: r)
        }

        /// The class labels in output order.
        public var labels: [String] { encoder.probabilities?.labels ?? [] }

        /// The risk band's position in the version's `risk_bands`.
        public func riskBandIndex(_ r: Int) -> Int? {
            encoder.served.config.riskBandIndex(for: Double(probability(r)))
        }

        public func riskBand(_ r: Int) -> String? {
            encoder.served.config.riskBand(for: Double(probability(r)))
        }

        public func prediction(_ r: Int, _ k: Int = 0) -> Float {
            guard let (v, width) = encoder.values, k < width else { return .nan }
            return v[r * width + k]
        }
    }
}
