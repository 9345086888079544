import Hummingbird
import KeelCore
import KeelServing

/// Triton's statistics and model-configuration extensions over REST:
/// `GET /v2/models[/{m}[/versions/{v}]]/stats` and `GET /v2/models/{m}[/versions/{v}]/config`.
struct StatisticsRoutes {
    let manager: ModelManager

    func register(on routes: KeelRoutes) {
        let found: Set<ErrorStatus> = [.notFound, .unavailable]
        let stats = RouteDoc.json(.ref("ModelStatisticsResponse"), "Counts and summed nanoseconds per version, as Triton's statistics extension names them.", errors: found)
        routes.get("/v2/models/stats", .inference, "Statistics of every served model version", doc: stats) { _, _ in
            JSONResponse.value(Self.response(manager.servedVersions()))
        }
        routes.get("/v2/models/{model}/stats", .inference, "Statistics of a model's versions",
            doc: .json(.ref("ModelStatisticsResponse"), parameters: [.model], errors: found)) { _, context in
            let name = try context.modelName()
            _ = try manager.resolve(name)
            return JSONResponse.value(Self.response(manager.servedVersions(of: name)))
        }
        routes.get("/v2/models/{model}/versions/{version}/stats", .inference, "Statistics of one model version",
            doc: .json(.ref("ModelStatisticsResponse"), parameters: [.model, .servedVersion], errors: found)) { _, context in
            JSONResponse.value(Self.response([try manager.resolve(try context.modelName(), version: try context.parameter("version"))]))
        }
        routes.get("/v2/models/{model}/config", .inference, "The model's configuration (Triton's model-config fields)",
            doc: .json(.ref("ModelConfiguration"), parameters: [.model], errors: found)) { _, context in
            let name = try context.modelName()
            return JSONResponse.value(Self.config(try manager.resolve(name), versions: manager.versions(of: name)))
        }
        routes.get("/v2/models/{model}/versions/{version}/config", .inference, "A version's configuration",
            doc: .json(.ref("ModelConfiguration"), parameters: [.model, .servedVersion], errors: found)) { _, context in
            let served = try manager.resolve(try context.modelName(), version: try context.parameter("version"))
            return JSONResponse.value(Self.config(served, versions: [served.version]))
        }
    }

    static func number(_ v: Int64) -> JSONValue { .number(Double(v)) }

    static func duration(_ d: InferenceStatistics.Duration) -> JSONValue {
        .object(["count": number(d.count), "ns": number(d.ns)])
    }

    static func response(_ versions: [ServedVersion]) -> JSONValue {
        .object(["model_stats": .array(versions.map(statistics))])
    }

    static func statistics(_ served: ServedVersion) -> JSONValue {
        let s = served.metrics.statistics.snapshot()
        return .object([
            "name": .string(served.modelName),
            "version": .string(served.version),
            "last_inference": number(s.lastInferenceMs),
            "inference_count": number(s.inferenceCount),
            "execution_count": number(s.executionCount),
            "inference_stats": .object([
                "success": duration(s.success), "fail": duration(s.fail), "queue": duration(s.queue),
                "compute_input": duration(s.computeInput), "compute_infer": duration(s.computeInfer),
                "compute_output": duration(s.computeOutput), "cache_hit": duration(s.cacheHit), "cache_miss": duration(s.cacheMiss),
            ]),
            "batch_stats": .array(s.batches.map { b in
                .object([
                    "batch_size": .number(Double(b.size)), "compute_input": duration(b.computeInput),
                    "compute_infer": duration(b.computeInfer), "compute_output": duration(b.computeOutput),
                ])
            }),
            "memory_usage": .array([]),
        ])
    }

    /// Triton's name for a v2 datatype (`TYPE_FP32`; BYTES is `TYPE_STRING`).
    static func tritonType(_ type: DataType) -> String {
        type == .bytes ? "TYPE_STRING" : "TYPE_" + type.rawValue
    }

    /// The configuration in Triton's model-config fields: with a variable first dimension on
    /// every input and output, `max_batch_size` is the version's batch size and `dims` leave
    /// the batch dimension out; otherwise `max_batch_size` is 0 and `dims` are the full shapes.
    static func config(_ served: ServedVersion, versions: [String]) -> JSONValue {
        let meta = served.metadata
        let signatures = meta.inputs + meta.outputs
        let batched = !signatures.isEmpty && signatures.allSatisfy { $0.shape.first == -1 }
        func tensor(_ s: TensorSignature) -> JSONValue {
            let dims = batched ? Array(s.shape.dropFirst()) : s.shape
            return .object(["name": .string(s.name), "data_type": .string(tritonType(s.dataType)), "dims": .array(dims.map { .number(Double($0)) })])
        }
        let numbered = versions.compactMap { Int64($0) }
        var parameters: [String: JSONValue] = meta.properties.mapValues { .object(["string_value": .string($0)]) }
        if !served.classLabels.isEmpty {
            parameters["class_labels"] = .object(["string_value": .string(served.classLabels.joined(separator: ","))])
        }
        var out: [String: JSONValue] = [
            "name": .string(served.modelName),
            "platform": .string("keel"),
            "backend": .string(meta.format.platform),
            "max_batch_size": .number(Double(batched ? served.config.maxBatchSize : 0)),
            "input": .array(meta.inputs.map(tensor)),
            "output": .array(meta.outputs.map(tensor)),
            "instance_group": .array([.object([
                "name": .string(served.modelName), "kind": .string("KIND_CPU"), "count": .number(Double(served.config.instanceCount)),
            ])]),
            "dynamic_batching": .object([
                "max_queue_delay_microseconds": .number(Double(served.config.maxQueueDelayMicroseconds)),
            ]),
            "parameters": .object(parameters),
        ]
        if numbered.count == versions.count, !numbered.isEmpty {
            out["version_policy"] = .object(["specific": .object(["versions": .array(numbered.map { number($0) })])])
        }
        return .object(out)
    }
}
