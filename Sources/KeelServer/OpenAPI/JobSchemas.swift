import KeelCore
import KeelJobs

extension ComponentSchemas {
    static let jobs: [String: S] = [
        "JobRequest": .object([
            "model": S.string.described("Model to score with"),
            "version": S.integer(minimum: 1).described("A version number (default: what production serves at submit)"),
            "alias": S.string.described("An alias instead of a version (e.g. staging)"),
            "input": S.string.described("Server path of the input: an upload's path, or a file in an allowed folder (--batch-folder). .csv, .jsonl or .ndjson, optionally .gz"),
            "output": S.string.described("Server path to write, in an allowed folder (default: a new file in the data folder's outputs/)"),
            "output_format": S.string(oneOf: ["csv", "jsonl", "csv.gz", "jsonl.gz"]).described("Format of the default output (default: the input's)"),
            "input_kind": S.string(oneOf: ["records", "encoded"]).described("records (raw fields through the feature schema, default) or encoded (every column but the id and passthrough ones as the model's input)"),
            "passthrough": S.array(.string).described("Input columns copied to the output, in input order"),
            "id_column": S.string.described("The entity id column (default: the schema's id_field; else the line number)"),
            "chunk_rows": S.integer(minimum: 1, maximum: JobSpec.maxChunkRows).described("Rows per chunk, the unit committed and resumed (default 50 000)"),
            "max_error_rate": S.number.described("Share of rows that may fail before the job fails (default 0.01)"),
            "log": S.boolean.described("Write the predictions to the prediction log (default false)"),
            "priority": S.string(oneOf: JobPriority.allCases.map(\.rawValue)).described("Queue priority (default normal)"),
            "uploaded": S.boolean.described("The input is an upload (set by keel batch submit)"),
        ], required: ["model", "input"], closed: true),
        "JobRetry": .object(["max_error_rate": S.number.described("A new limit for the job")], closed: true),
        "Upload": .object(["path": S.string.described("Server path to submit as the input"), "bytes": .integer], required: ["path", "bytes"]),
        "Job": .object([
            "id": .integer, "model": .string, "version": S.string.described("The version every row is scored with (fixed at submit)"),
            "state": S.string(oneOf: JobState.allCases.map(\.rawValue)), "phase": S.string(oneOf: ["plan", "score", "assemble", "done"]),
            "priority": S.string(oneOf: JobPriority.allCases.map(\.rawValue)), "rows_done": .integer,
            "rows_total": S.integer.orNull.described("Known once the input is planned"), "errors": .integer, "chunks_done": .integer, "chunks_total": .integer,
            "rows_per_s": S.number.orNull, "eta_s": S.number.orNull.described("Seconds left at the current rate"),
            "input": .string, "output": .string, "errors_output": .string, "reason": S.string.orNull.described("Why it failed or was cancelled"),
            "created_by": .string, "created_at": .dateTime, "started_at": S.dateTime.orNull, "finished_at": S.dateTime.orNull,
            "duration_s": S.number.described("Seconds since it (last) started, to its end"),
        ], required: ["id", "model", "version", "state", "rows_done", "rows_total", "errors", "rows_per_s", "eta_s", "output"]),
        "JobList": .object(["jobs": .array(.ref("Job"))], required: ["jobs"]),
    ]
}
