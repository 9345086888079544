import KeelCore

/// Drift of a current window against a version's reference: every raw schema field, every
/// encoded model input and the prediction score. `datasetDrift`, `driftShare` and
/// `driftedColumns` count the raw fields alone (those with a verdict).
public struct DriftReport: Sendable, Equatable {
    public var datasetDrift: Bool
    public var driftShare: Double
    public var driftedColumns: Int
    public var columns: [ColumnDrift]
    public var encodedColumns: [ColumnDrift]
    public var prediction: ColumnDrift?

    /// Share of drifted columns at which the whole data set counts as drifted.
    public static let defaultDatasetShare = 0.5

    public init(columns: [ColumnDrift], encodedColumns: [ColumnDrift], prediction: ColumnDrift?, datasetShare: Double = defaultDatasetShare) {
        self.columns = columns
        self.encodedColumns = encodedColumns
        self.prediction = prediction
        let judged = columns.filter { $0.drifted != nil }
        driftedColumns = judged.filter { $0.drifted == true }.count
        driftShare = judged.isEmpty ? 0 : Double(driftedColumns) / Double(judged.count)
        datasetDrift = !judged.isEmpty && driftShare >= datasetShare
    }

    /// `{"dataset_drift", "drift_share", "drifted_columns", "columns", "encoded_columns", "prediction"}`.
    public var json: JSONValue {
        .object([
            "dataset_drift": .bool(datasetDrift), "drift_share": .number(driftShare), "drifted_columns": .number(Double(driftedColumns)),
            "columns": .array(columns.map(\.json)), "encoded_columns": .array(encodedColumns.map(\.json)),
            "prediction": prediction?.json ?? .null,
        ])
    }
}

extension ColumnDrift {
    /// `{"name", "kind", "method", "score", "threshold", "drifted", "reference_rows", "current_rows"[, "note"]}`.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(name), "kind": .string(kind.rawValue), "method": method.map { .string($0.rawValue) } ?? .null,
            "score": score.map { .number($0) } ?? .null, "threshold": threshold.map { .number($0) } ?? .null,
            "drifted": drifted.map { .bool($0) } ?? .null,
            "reference_rows": .number(Double(referenceRows)), "current_rows": .number(Double(currentRows)),
        ]
        if let note { o["note"] = .string(note) }
        return .object(o)
    }
}
