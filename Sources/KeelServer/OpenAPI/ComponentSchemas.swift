import KeelCore
import KeelRegistry
import KeelServing
import KeelStore

/// The shared schemas of the API document (`#/components/schemas`): the shapes the handlers
/// write (`Views`, the v2 codecs, the records encoder) and read (request bodies).
enum ComponentSchemas {
    typealias S = JSONSchema

    static let name = S.string(pattern: ResourceNamePattern.regex, maxLength: ResourceName.maxLength)
    static let datatype = S.string(oneOf: DataType.allCases.map(\.rawValue)).described("Open Inference Protocol v2 element type")
    static let parameters = S.map(.any).described("Free-form parameters")
    /// Numbers the server writes: non-finite values are not plain JSON numbers.
    static let measured = S.number.orNull
    static let strings = S.map(.string)

    /// The groups of components; their names must not collide (OpenAPITests checks it).
    static let groups: [[String: S]] = [tensors, records, registry, access, server, monitoring, rollouts, jobs]
    static let all: [String: S] = groups.reduce(into: [:]) { all, group in all.merge(group) { a, _ in a } }

    // MARK: Open Inference Protocol v2

    static let tensors: [String: S] = [
        "TensorInput": .object([
            "name": .string, "datatype": .ref("DataType"),
            "shape": .array(.integer(minimum: 0)).described("Dimensions; their product is the element count"),
            "parameters": parameters.described("Per-input parameters; `binary_data_size` marks data sent in the binary extension"),
            "data": .array(S(.object(["type": .array(["number", "string", "boolean", "null", "array"].map { .string($0) })])))
                .described("Elements in row-major order, flat or nested; null (or \"NaN\", \"Infinity\") marks a missing float"),
        ], required: ["name", "datatype", "shape", "data"]),
        "TensorOutput": .object([
            "name": .string, "datatype": .ref("DataType"), "shape": .array(.integer(minimum: 0)), "parameters": parameters,
            "data": .array(S(.object(["type": .array(["number", "string", "boolean", "null"].map { .string($0) })])))
                .described("Elements in row-major order; absent when the output travels as binary data"),
        ], required: ["name", "datatype", "shape"]),
        "TensorMetadata": .object([
            "name": .string, "datatype": .ref("DataType"), "shape": .array(.integer).described("-1 marks a variable dimension"),
        ], required: ["name", "datatype", "shape"]),
        "DataType": datatype,
        "StatisticDuration": .object(["count": .integer(minimum: 0), "ns": .integer(minimum: 0)], required: ["count", "ns"]),
        "ModelStatistics": .object([
            "name": .string, "version": .string,
            "last_inference": S.integer(minimum: 0).described("Milliseconds since the epoch of the last request; 0 before the first"),
            "inference_count": S.integer(minimum: 0).described("Rows answered"),
            "execution_count": S.integer(minimum: 0).described("Engine calls (several requests share one when batched)"),
            "inference_stats": S.map(.ref("StatisticDuration")).described(
                "success, fail, queue, compute_input, compute_infer, compute_output, cache_hit, cache_miss: counts and summed nanoseconds"),
            "batch_stats": .array(.object([
                "batch_size": .integer(minimum: 1), "compute_input": .ref("StatisticDuration"),
                "compute_infer": .ref("StatisticDuration"), "compute_output": .ref("StatisticDuration"),
            ], required: ["batch_size", "compute_input", "compute_infer", "compute_output"])),
            "memory_usage": .array(S.map(.any)),
        ], required: ["name", "version", "last_inference", "inference_count", "execution_count", "inference_stats", "batch_stats"]),
        "ModelStatisticsResponse": .object(["model_stats": .array(.ref("ModelStatistics"))], required: ["model_stats"]),
        "ModelConfiguration": .object([
            "name": .string, "platform": .string, "backend": S.string.described("xgboost, lightgbm or onnx"),
            "max_batch_size": S.integer(minimum: 0).described("0 when a tensor has a fixed first dimension"),
            "input": .array(.ref("ConfigTensor")), "output": .array(.ref("ConfigTensor")),
            "instance_group": .array(S.map(.any)), "dynamic_batching": S.map(.any),
            "version_policy": S.map(.any).described("The numbered versions served, when every version is a number"),
            "parameters": S.map(.object(["string_value": .string], required: ["string_value"])),
        ], required: ["name", "platform", "backend", "max_batch_size", "input", "output"]),
        "ConfigTensor": .object([
            "name": .string, "data_type": S.string.described("TYPE_FP32, TYPE_INT64, TYPE_STRING, …"),
            "dims": .array(.integer).described("Without the batch dimension when max_batch_size > 0; -1 marks a variable one"),
        ], required: ["name", "data_type", "dims"]),
        "RequestedOutput": .object(["name": .string, "parameters": parameters.described("`binary_data`: true returns this output as binary data")], required: ["name"]),
        "InferenceRequest": .object([
            "id": S.string.orNull, "parameters": parameters.described("`binary_data_output`: true returns every output as binary data").orNull,
            "inputs": .array(.ref("TensorInput")), "outputs": .array(.ref("RequestedOutput")).described("Outputs to return; all when absent"),
        ], required: ["inputs"]),
        "InferenceResponse": .object([
            "model_name": .string, "model_version": .string, "id": .string,
            "parameters": S.map(.any).described(
                "`fallback: true` when the version's fallback answered (its circuit breaker was open or it failed), with "
                    + "`fallback_model` and `fallback_version` when another model did"),
            "outputs": .array(.ref("TensorOutput")),
        ], required: ["model_name", "outputs"]),
        "ModelMetadata": .object([
            "name": .string, "versions": .array(.string), "platform": .string,
            "inputs": .array(.ref("TensorMetadata")), "outputs": .array(.ref("TensorMetadata")),
            "parameters": S.map(.anyOf([.string, .array(.string)])).described("Model properties, `class_labels` and `feature_names`"),
        ], required: ["name", "versions", "platform", "inputs", "outputs", "parameters"]),
        "ModelReadiness": .object(["name": .string, "ready": .boolean], required: ["name", "ready"]),
        "RepositoryIndexRequest": .object(["ready": S.boolean.orNull.described("true lists only the models that are ready")]),
        "RepositoryIndexEntry": .object([
            "name": .string, "state": .string(oneOf: ["READY", "LOADING", "UNAVAILABLE"]), "version": S.string.described("Latest version"),
            "reason": S.string.described("Why the model is not ready"),
        ], required: ["name", "state"]),
    ]

    // MARK: Records

    static let records: [String: S] = [
        "RecordsRequest": .object([
            "instances": .array(S.map(.any), minItems: 1).described("Records of named features (the model's config.yaml feature schema)"),
        ], required: ["instances"]),
        "RecordsResponse": .object([
            "model_name": .string,
            "model_version": S.string.described("The version every prediction came from; absent when a rollout split the request (each prediction names its own)"),
            "predictions": .array(.ref("Prediction")),
        ], required: ["model_name", "predictions"]),
        "Prediction": .anyOf([
            S.object([
                "label": .string, "probability": measured, "risk_band": .string, "scores": S.map(measured),
                "model_version": S.string.described("While a rollout runs: the version this record was routed to"),
                "fallback": S.boolean.described("true when the version's fallback answered this record"),
            ], required: ["label", "probability", "scores"])
                .described("A classifier's answer (the record's id field is echoed when the config names one)"),
            S.object(["prediction": .anyOf([measured, .array(measured)]), "model_version": .string, "fallback": .boolean], required: ["prediction"])
                .described("A regressor's answer"),
        ]),
    ]

    // MARK: Registry

    static let model: [String: S] = [
        "name": .string, "description": .string, "tags": strings, "owner": .string, "latest_version": .integer,
        "created_at": .dateTime, "updated_at": .dateTime, "aliases": S.map(.integer).described("Alias → version"),
    ]

    static let registry: [String: S] = [
        "Model": .object(model, required: ["name", "description", "tags", "owner", "latest_version", "created_at", "updated_at"]),
        "ModelDetail": .object(model.merging(["gates": .array(.ref("Gate")), "versions": .array(.ref("Version"))]) { a, _ in a },
            required: ["name", "description", "tags", "owner", "latest_version", "created_at", "updated_at", "aliases", "gates", "versions"]),
        "ModelList": .object(["models": .array(.ref("Model"))], required: ["models"]),
        "ModelUpdate": .object(["description": S.string.orNull, "tags": strings.orNull, "owner": S.string.orNull]),
        "Version": .object([
            "model": .string, "version": .integer, "artifact_sha256": .string, "format": .string, "size_bytes": .integer,
            "filename": .string, "signature": S.map(.any).described("Inputs and outputs as the model file declares them"),
            "metrics": S.map(measured).described("Metrics Keel measured itself (evaluation, size, latency)"),
            "reported_metrics": S.map(measured).described("Metrics supplied at registration; they satisfy only gates that accept reported values"),
            "params": strings, "tags": strings, "description": .string, "training_data": S.string.orNull,
            "schema_yaml": S.string.orNull, "status": .string(oneOf: VersionStatus.allCases.map(\.rawValue)), "aliases": .array(.string),
            "created_by": .string, "created_at": .dateTime,
        ], required: [
            "model", "version", "artifact_sha256", "format", "size_bytes", "filename", "signature", "metrics", "reported_metrics", "params",
            "tags", "description", "training_data", "schema_yaml", "status", "aliases", "created_by", "created_at",
        ]),
        "VersionList": .object(["versions": .array(.ref("Version"))], required: ["versions"]),
        "VersionRegistration": .object([
            "artifact_base64": S.string.described("The model file, base64"), "filename": S.string.orNull.described("e.g. model.json, model.onnx"),
            "metrics": S.map(.number).orNull.described("Metrics reported by the trainer"), "params": strings.orNull, "tags": strings.orNull,
            "description": S.string.orNull, "training_data": S.string.orNull, "schema_yaml": S.string.orNull.described("The model's config.yaml"),
        ], required: ["artifact_base64"]),
        "Alias": .object(["alias": .string, "version": .integer, "updated_by": .string, "updated_at": .dateTime],
            required: ["alias", "version", "updated_by", "updated_at"]),
        "AliasMove": .object([
            "model": .string, "alias": .string, "from": S.integer.orNull, "to": S.integer.orNull, "moved_by": .string, "forced": .boolean,
            "moved_at": .dateTime,
        ], required: ["model", "alias", "from", "to", "moved_by", "forced", "moved_at"]),
        "AliasList": .object(["aliases": .array(.ref("Alias")), "moves": .array(.ref("AliasMove"))], required: ["aliases", "moves"]),
        "AliasTarget": .object([
            "version": S.integer(minimum: 0).described("Version number"),
            "force": S.boolean.orNull.described("Move past failing gates (audited as an override)"),
        ], required: ["version"]),
        "Gate": .object([
            "gate": S.string.described("e.g. `roc_auc >= 0.85`"), "metric": .string, "op": .string(oneOf: Gate.Op.allCases.map(\.rawValue)),
            "threshold": .number, "accept_reported": S.boolean.described("A reported value may satisfy the gate when none was measured"),
        ], required: ["gate", "metric", "op", "threshold", "accept_reported"]),
        "GateRequest": .object([
            "gate": S.string.described("`metric op threshold [reported-ok]`, operators >=, >, <=, <, =="),
            "accept_reported": S.boolean.orNull.described("Same as the `reported-ok` suffix"),
        ], required: ["gate"]),
        "GateResult": .object([
            "gate": .string, "passed": .boolean, "value": measured,
            "source": S.string(oneOf: ["measured", "reported"]).orNull.described("Where the value came from; null when unmeasured"),
            "reason": .string,
        ], required: ["gate", "passed", "value", "source", "reason"]),
        "GateList": .object([
            "gates": .array(.ref("Gate")), "version": S.integer.described("The version checked (with ?version=)"),
            "results": .array(.ref("GateResult")), "passed": .boolean,
        ], required: ["gates"]),
        "Evaluation": .object(["metrics": S.map(measured)], required: ["metrics"]),
        "Comparison": .object([
            "versions": .array(.integer),
            "metrics": .array(.object(["metric": .string, "values": S.map(measured).described("Version → value"), "best": S.integer.orNull],
                required: ["metric", "values", "best"])),
        ], required: ["versions", "metrics"]),
        "Deleted": .object(["deleted": .boolean], required: ["deleted"]),
    ]

    // MARK: Keys and audit

    static let key: [String: S] = [
        "id": .string, "name": .string, "role": .string(oneOf: Role.allCases.map(\.rawValue)), "created_by": .string,
        "created_at": .dateTime, "revoked_at": S.dateTime.orNull, "expires_at": S.dateTime.orNull, "models": S.array(.string).orNull,
    ]

    static let access: [String: S] = [
        "Key": .object(key, required: ["id", "name", "role", "created_by", "created_at", "revoked_at", "expires_at", "models"]),
        "IssuedKey": .object(key.merging(["key": S.string.described("The secret, shown only in this answer")]) { a, _ in a },
            required: ["id", "name", "role", "created_by", "created_at", "revoked_at", "expires_at", "models", "key"]),
        "KeyList": .object(["keys": .array(.ref("Key"))], required: ["keys"]),
        "KeyRequest": .object(["role": .string(oneOf: Role.allCases.map(\.rawValue)), "name": S.string.orNull.described("Defaults to the role"),
            "expires_in_s": S.integer.orNull.described("Seconds until the key stops working (1 to 10 years' worth); never when absent"),
            "models": S.array(.string).orNull.described("The only models the key may touch; every model when absent")],
            required: ["role"]),
        "Revoked": .object(["revoked": .boolean], required: ["revoked"]),
        "Caller": .object(["id": .string, "name": .string, "role": .string(oneOf: Role.allCases.map(\.rawValue))], required: ["id", "name", "role"]),
        "AuditEvent": .object([
            "id": .integer, "actor": .string, "action": .string, "target": .string, "before": S.string.orNull, "after": S.string.orNull,
            "at": .dateTime, "address": S.string.orNull, "request_id": S.string.orNull,
        ], required: ["id", "actor", "action", "target", "before", "after", "at", "address", "request_id"]),
        "AuditLog": .object(["events": .array(.ref("AuditEvent"))], required: ["events"]),
    ]

    // MARK: Server

    static let server: [String: S] = [
        "Error": .object(["error": S.string.described("What was wrong and what was expected")], required: ["error"], closed: true),
        "ServerMetadata": .object(["name": .string, "version": .string, "extensions": .array(.string)], required: ["name", "version", "extensions"]),
        "Empty": .object([:], closed: true),
    ]
}

/// `ResourceName`'s rule as a regular expression, for the document.
enum ResourceNamePattern {
    static let regex = "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,\(ResourceName.maxLength - 1)}$"
}
