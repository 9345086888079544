import KeelCore
import KeelMonitoring

extension ComponentSchemas {
    static let columnDrift: S = .object([
        "name": .string, "kind": .string(oneOf: ["numerical", "categorical"]),
        "method": S.string(oneOf: DriftMethod.allCases.map(\.rawValue)).orNull, "score": measured, "threshold": measured,
        "drifted": S.boolean.orNull.described("null when there was not enough data"), "reference_rows": .integer, "current_rows": .integer,
        "note": S.string.described("Why there is no verdict"),
    ], required: ["name", "kind", "method", "score", "threshold", "drifted", "reference_rows", "current_rows"])

    static let monitoring: [String: S] = [
        "LoggedPrediction": .object([
            "id": .integer, "at": .dateTime, "model": .string, "version": .string, "arm": .string, "request_id": .string,
            "entity_id": .string, "record": S.map(.any).orNull.described("The raw record (records API)"), "outputs": S.map(.any),
            "score": measured, "label": S.string.orNull, "latency_ms": .number,
        ], required: ["id", "at", "model", "version", "arm", "request_id", "entity_id", "record", "outputs", "score", "label", "latency_ms"]),
        "PredictionList": .object([
            "predictions": .array(.ref("LoggedPrediction")),
            "next_before": S.integer.orNull.described("Pass as ?before= for the next (older) page"),
        ], required: ["predictions", "next_before"]),
        "FeedbackRequest": .object([
            "feedback": .array(.object([
                "entity_id": .string, "label": S(.object(["type": .array(["string", "number", "boolean"].map { .string($0) })])),
                "time": S(.object(["type": .array(["string", "number"].map { .string($0) })])).described("ISO 8601, or seconds since 1970"),
            ], required: ["entity_id", "label"]), minItems: 1),
        ], required: ["feedback"]),
        "FeedbackOutcome": .object([
            "matched": .integer, "unmatched": .integer, "unmatched_entities": .array(.string).described("The first 100"),
        ], required: ["matched", "unmatched", "unmatched_entities"]),
        "Quality": .object([
            "model": .string, "version": .string, "window": .string, "labelled": .integer, "unmatched": .integer, "unusable_labels": .integer,
            "metrics": S.map(measured).described("null where a metric is undefined on the window"),
            "confusion_matrix": .array(.array(.integer)),
            "calibration": .array(.object([
                "lower": .number, "upper": .number, "count": .integer, "mean_predicted": measured, "observed_rate": measured,
            ], required: ["lower", "upper", "count", "mean_predicted", "observed_rate"])),
        ], required: ["model", "version", "window", "labelled", "unmatched", "unusable_labels", "metrics"]),
        "ColumnDrift": columnDrift,
        "Drift": .object([
            "model": .string, "version": .string, "window": .string, "computed_at": .dateTime,
            "dataset_drift": .boolean, "drift_share": .number, "drifted_columns": .integer,
            "columns": .array(.ref("ColumnDrift")), "encoded_columns": .array(.ref("ColumnDrift")), "prediction": S.ref("ColumnDrift").orNull,
        ], required: ["model", "version", "window", "dataset_drift", "drift_share", "drifted_columns", "columns", "encoded_columns", "prediction"]),
        "ReferenceProfile": .object([
            "id": .integer, "model": .string, "version": .string, "source": .string, "rows": .integer, "sampled": .boolean, "seed": .integer,
            "created_by": .string, "created_at": .dateTime, "summary": S.map(.any).described("Per-column statistics over every row"),
        ], required: ["id", "model", "version", "source", "rows", "sampled", "seed", "created_by", "created_at", "summary"]),
        "MonitoringEvent": .object([
            "id": .integer, "at": .dateTime, "model": .string, "version": S.string.orNull,
            "kind": .string(oneOf: MonitoringEventKind.allCases.map(\.rawValue)), "severity": .string(oneOf: ["info", "warning", "critical"]),
            "message": .string, "details": S.map(.any),
        ], required: ["id", "at", "model", "version", "kind", "severity", "message"]),
        "EventList": .object(["events": .array(.ref("MonitoringEvent"))], required: ["events"]),
    ]
}
