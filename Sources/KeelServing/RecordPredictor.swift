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

    /// Starts one prediction object, echoing the record's id field first when configured.
    private static func openPrediction(_ w: inout JSONWriter, idField: String?, record: [String: JSONValue]) {
        w.raw("{")
        if let idField, let id = record[idField] {
            w.string(idField)
            w.raw(":")
            w.value(id)
            w.raw(",")
        }
    }

    static func encode(_ served: ServedVersion, records: [[String: JSONValue]], outputs: [String: Tensor]) throws(KeelError) -> [UInt8] {
        let n = records.count
        let signatures = served.metadata.outputs
        // The probability matrix: FP32 [N, C]; the label vector: INT64/BYTES [N].
        let probabilities = signatures.lazy.compactMap { outputs[$0.name] }
            .first { $0.dataType == .fp32 && $0.shape.count == 2 && $0.shape[0] == n && $0.shape[1] >= 2 }
        var w = JSONWriter(capacity: 128 + n * 160)
        w.raw("{\"model_name\":")
        w.string(served.modelName)
        w.raw(",\"model_version\":")
        w.string(served.version)
        w.raw(",\"predictions\":[")
        let idField = served.config.idField
        if let probabilities, let p = probabilities.floats {
            let classes = probabilities.shape[1]
            var labels = served.classLabels
            if labels.count != classes { labels = (0..<classes).map(String.init) }
            let positive = max(0, min(served.config.positiveClass ?? (classes - 1), classes - 1))
            for r in 0..<n {
                if r > 0 { w.raw(",") }
                openPrediction(&w, idField: idField, record: records[r])
                var best = 0
                for k in 1..<classes where p[r * classes + k] > p[r * classes + best] { best = k }
                if classes == 2 { best = p[r * 2 + 1] > 0.5 ? 1 : 0 }
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
            }
        } else if let values = signatures.lazy.compactMap({ outputs[$0.name] }).first(where: { $0.dataType == .fp32 && $0.shape.first == n }),
                  let v = values.floats {
            let width = max(1, values.count / max(n, 1))
            for r in 0..<n {
                if r > 0 { w.raw(",") }
                openPrediction(&w, idField: idField, record: records[r])
                w.raw("\"prediction\":")
                if width == 1 {
                    w.number(v[r])
                } else {
                    w.list(width) { $0.number(v[r * width + $1]) }
                }
                w.raw("}")
            }
        } else {
            throw KeelError(.internal, "model '\(served.modelName)' produced no FP32 output the records API can report")
        }
        w.raw("]}")
        return w.bytes
    }
}
