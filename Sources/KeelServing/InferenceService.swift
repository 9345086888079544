import Foundation
import KeelCore
import KeelEngine
import KeelMonitoring

/// Who sent a request, for the prediction log: its id and, when given, one entity id per row.
public struct RequestOrigin: Sendable {
    public var requestID: String
    public var entityIDs: [String]?
    public var started: ContinuousClock.Instant

    public init(requestID: String, entityIDs: [String]? = nil, started: ContinuousClock.Instant = .now) {
        self.requestID = requestID
        self.entityIDs = entityIDs
        self.started = started
    }
}

/// Inference for every protocol (REST v2, records, and later gRPC, batch jobs, streams): finds
/// the version that serves the request — through the deployment router while a rollout runs —
/// runs it through that version's batcher, and hands the answer to the prediction log
/// afterwards. Protocol decoding and encoding stay with callers.
public final class InferenceService: Sendable {
    public let manager: ModelManager
    public let monitor: PredictionMonitor?
    public let router: DeploymentRouter
    public let shadow: ShadowRunner?

    public init(manager: ModelManager, monitor: PredictionMonitor? = nil, router: DeploymentRouter = DeploymentRouter(), shadow: ShadowRunner? = nil) {
        self.manager = manager
        self.monitor = monitor
        self.router = router
        self.shadow = shadow
    }

    /// Copies a stable answer's request to a shadow candidate (when drawn); never waits.
    func mirror(_ split: TrafficSplit?, _ model: String, inputs: [String: Tensor], outputs: [String: Tensor], rows: Int, origin: RequestOrigin, entityIDs: [String]?, records: [[String: JSONValue]]?) {
        guard let split, split.mirror > 0, let shadow, router.mirrors(split), let candidate = manager.served(model, version: split.candidate) else { return }
        shadow.submit(ShadowRunner.Job(
            split: split, candidate: candidate, inputs: inputs, stableOutputs: outputs, rows: rows, requestID: origin.requestID, entityIDs: entityIDs,
            records: records))
    }

    /// The version serving a request that names none: the candidate for the rollout's share
    /// (when it is loaded), an experiment's arm by weight, else the stable one. A named version
    /// or alias is served as asked.
    func route(_ model: String, version: String?, split: TrafficSplit?, key: @autoclosure () -> String) throws(KeelError) -> (served: ServedVersion, arm: DeploymentArm) {
        if version == nil, let split {
            if !split.arms.isEmpty {
                let arm = split.arms[router.armIndex(split, key: key())]
                if let served = manager.served(model, version: arm.version) { return (served, .experiment) }
            } else if router.arm(split, key: key()) == .canary, let candidate = manager.served(model, version: split.candidate) {
                return (candidate, .canary)
            }
        }
        return (try manager.resolve(model, version: version), .stable)
    }

    /// What each of a split's buckets serves on this replica: stable and candidate for a
    /// rollout, each arm for an experiment. A version not loaded here (yet) serves as stable.
    func targets(_ model: String, _ split: TrafficSplit) throws(KeelError) -> [(served: ServedVersion, arm: DeploymentArm)] {
        let stable = try manager.resolve(model)
        if split.arms.isEmpty {
            return [(stable, .stable), manager.served(model, version: split.candidate).map { ($0, .canary) } ?? (stable, .stable)]
        }
        return split.arms.map { arm in manager.served(model, version: arm.version).map { ($0, .experiment) } ?? (stable, .stable) }
    }

    /// Which bucket of `targets` a key falls in.
    func bucket(_ split: TrafficSplit, key: String) -> Int {
        split.arms.isEmpty ? (router.arm(split, key: key) == .canary ? 1 : 0) : router.armIndex(split, key: key)
    }

    /// Runs `served` — through its cache, circuit breaker and fallback when configured
    /// (`resilient`) — and, while a rollout watches the model, counts the answer or the
    /// server-side failure of each run for its error-rate check (requests the router routed,
    /// and smoke tests sent to the candidate by name). `records` let a fallback model encode
    /// them through its own schema.
    func infer(_ served: ServedVersion, _ inputs: [String: Tensor], split: TrafficSplit?, routed: Bool, records: [[String: JSONValue]]? = nil) async throws(KeelError) -> Answer {
        // A rollout's candidate whose breaker opens on this request: counted for the analysis.
        guard let split, served.version == split.candidate, let breaker = served.resilience.breaker else {
            return try await watched(served, inputs, split: split, routed: routed, records: records)
        }
        let before = breaker.trips
        do {
            let answer = try await watched(served, inputs, split: split, routed: routed, records: records)
            if breaker.trips > before { router.recordTrip(split, version: served.version) }
            return answer
        } catch {
            if breaker.trips > before { router.recordTrip(split, version: served.version) }
            throw error
        }
    }

    private func watched(_ served: ServedVersion, _ inputs: [String: Tensor], split: TrafficSplit?, routed: Bool, records: [[String: JSONValue]]?) async throws(KeelError) -> Answer {
        try await resilient(served, inputs, records: records) { () async throws(KeelError) -> [String: Tensor] in
            guard let split, routed || served.version == split.candidate else { return try await served.infer(inputs) }
            do throws(KeelError) {
                let outputs = try await served.infer(inputs)
                router.record(split, version: served.version, failed: false)
                return outputs
            } catch {
                router.record(split, version: served.version, failed: error.httpStatus >= 500)
                throw error
            }
        }
    }

    /// A v2 request: its requested outputs (all when none), in the model's order. A rollout
    /// routes it as a whole, by its first entity id or else its request id.
    public func infer(model: String, version: String?, request: InferenceRequest, origin: RequestOrigin) async throws(KeelError) -> (response: InferenceResponse, served: ServedVersion) {
        let inputs = request.tensorsByName
        let entities = try Self.entityIDs(request, rows: inputs.values.first?.shape.first ?? 0) ?? origin.entityIDs
        let split = router.split(for: model)
        let (served, arm) = try route(model, version: version, split: split, key: entities?.first ?? origin.requestID)
        for output in request.outputs where !served.metadata.outputs.contains(where: { $0.name == output.name }) {
            throw KeelError.invalidInput("unknown output '\(output.name)'; model '\(model)' outputs \(served.metadata.outputs.map { "'\($0.name)'" }.joined(separator: ", "))")
        }
        let answer = try await infer(served, inputs, split: split, routed: version == nil)
        let outputs = answer.outputs
        // A fallback answer is not the version's prediction: it is counted, not logged or mirrored.
        if answer.fallback == nil {
            monitor?.record(
                served, arm: arm.rawValue, requestID: origin.requestID, entityIDs: entities, records: nil, inputs: inputs, outputs: outputs,
                started: origin.started, cached: answer.cached)
            if version == nil, arm == .stable {
                mirror(split, model, inputs: inputs, outputs: outputs, rows: inputs.values.first?.shape.first ?? 0, origin: origin, entityIDs: entities, records: nil)
            }
        }
        let wanted = request.outputs.isEmpty ? nil : Set(request.outputs.map(\.name))
        let answering = answer.fallbackVersion ?? served
        var named: [NamedTensor] = []
        for s in answering.metadata.outputs where wanted?.contains(s.name) ?? true {
            if let t = outputs[s.name] { named.append(NamedTensor(name: s.name, tensor: t)) }
        }
        if let wanted, named.count < wanted.count, let fallback = answer.fallbackVersion {
            let missing = wanted.subtracting(named.map(\.name)).sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw KeelError(.unavailable, "model '\(model)' version \(served.version) is failing and its fallback model '\(fallback.modelName)' has no output \(missing)")
        }
        return (InferenceResponse(modelName: model, modelVersion: served.version, id: request.id, parameters: answer.responseParameters, outputs: named), served)
    }

    /// Records through the version's feature schema; returns the records API response body.
    /// While a rollout or an experiment runs each record is routed on its own (by its id
    /// field, else its position) and each prediction names its version.
    public func predict(model: String, version: String?, records: [[String: JSONValue]], origin: RequestOrigin) async throws(KeelError) -> [UInt8] {
        let split = router.split(for: model)
        guard version == nil, let split, split.arms.count > 1 || manager.served(model, version: split.candidate) != nil else {
            let served = try manager.resolve(model, version: version)
            let answer = try await run(served, records: records, rows: nil, arm: .stable, origin: origin, split: split, routed: false)
            return try RecordPredictor.encode(served, records: records, outputs: answer.outputs, fallback: answer.fallback)
        }
        let targets = try targets(model, split)
        let idField = targets[0].served.config.idField
        var groups = [[Int]](repeating: [], count: targets.count)
        for (row, record) in records.enumerated() {
            let key = idField.flatMap { record[$0].flatMap(Self.entityText) } ?? "\(origin.requestID):\(row)"
            groups[min(targets.count - 1, bucket(split, key: key))].append(row)
        }
        let used = groups.indices.filter { !groups[$0].isEmpty }
        if used.count <= 1 {
            let (served, arm) = targets[used.first ?? 0]
            let answer = try await run(served, records: records, rows: nil, arm: arm, origin: origin, split: split, routed: true)
            return try RecordPredictor.encode(served, records: records, outputs: answer.outputs, perRowVersion: true, fallback: answer.fallback)
        }
        var parts: [RecordPredictor.Part] = []
        for i in used {
            let (served, arm) = targets[i]
            let rows = groups[i]
            let subset = rows.map { records[$0] }
            let answer = try await run(served, records: subset, rows: rows, arm: arm, origin: origin, split: split, routed: true)
            parts.append(RecordPredictor.Part(served: served, rows: rows, records: subset, outputs: answer.outputs, fallback: answer.fallback))
        }
        return try RecordPredictor.encodeMixed(model: model, parts: parts, count: records.count)
    }

    /// Encodes records through `served`'s schema, infers and logs them; `rows` are the records'
    /// positions in the request when it was split (for their default entity ids).
    private func run(
        _ served: ServedVersion, records: [[String: JSONValue]], rows: [Int]?, arm: DeploymentArm, origin: RequestOrigin, split: TrafficSplit?, routed: Bool
    ) async throws(KeelError) -> Answer {
        guard let schema = served.config.featureSchema else {
            throw .invalidInput("model '\(served.modelName)' has no feature schema in its config.yaml, so it cannot take records; use the v2 infer endpoint")
        }
        let inputs = try schema.encode(records)
        let answer = try await infer(served, inputs, split: split, routed: routed, records: records)
        guard answer.fallback == nil else { return answer }  // counted, not logged or mirrored (see the v2 path)
        let outputs = answer.outputs
        var entities: [String]?
        if monitor != nil || (routed && split?.mirror ?? 0 > 0) {
            let idField = served.config.idField
            // Without an id field the default ids name the rows' places in the whole request.
            entities = idField == nil && rows == nil ? nil : records.enumerated().map { i, record in
                idField.flatMap { record[$0].flatMap(Self.entityText) } ?? "\(origin.requestID):\(rows.map { $0[i] } ?? i)"
            }
        }
        monitor?.record(
            served, arm: arm.rawValue, requestID: origin.requestID, entityIDs: entities, records: records, inputs: inputs, outputs: outputs,
            started: origin.started, cached: answer.cached)
        if routed, arm == .stable {
            mirror(split, served.modelName, inputs: inputs, outputs: outputs, rows: records.count, origin: origin, entityIDs: entities, records: records)
        }
        return answer
    }

    /// Scores already-encoded rows with one given version — batch jobs pin the version they
    /// resolved at submit, so a promotion mid-job never mixes versions. Goes through the
    /// version's batcher, cache and circuit breaker like online traffic; logged (arm `batch`)
    /// only when `log` is set. A fallback answer is refused (503): a job retries the chunk
    /// later rather than write a stand-in's scores as the version's.
    public func score(
        _ served: ServedVersion, inputs: [String: Tensor], records: [[String: JSONValue]]?, entityIDs: [String]?, log: Bool, origin: RequestOrigin
    ) async throws(KeelError) -> [String: Tensor] {
        let answer = try await infer(served, inputs, split: nil, routed: false, records: records)
        if answer.fallback != nil {
            throw KeelError(.unavailable, "model '\(served.modelName)' version \(served.version) is failing (its circuit breaker is open)")
        }
        if log {
            monitor?.record(
                served, arm: "batch", requestID: origin.requestID, entityIDs: entityIDs, records: records, inputs: inputs, outputs: answer.outputs,
                started: origin.started, cached: answer.cached)
        }
        return answer.outputs
    }

    /// `parameters.entity_ids` of a v2 request: one string (or integer) per row.
    static func entityIDs(_ request: InferenceRequest, rows: Int) throws(KeelError) -> [String]? {
        guard let value = request.parameters["entity_ids"], value != .null else { return nil }
        guard let list = value.arrayValue else { throw .invalidInput("parameters.entity_ids must be an array with one id per row") }
        guard list.count == rows else {
            throw .invalidInput("parameters.entity_ids has \(list.count) ids for \(rows) rows")
        }
        var out: [String] = []
        out.reserveCapacity(rows)
        for (i, v) in list.enumerated() {
            guard let s = entityText(v), !s.isEmpty, s.utf8.count <= 256 else {
                throw .invalidInput("parameters.entity_ids[\(i)] must be a string or an integer of at most 256 bytes")
            }
            out.append(s)
        }
        return out
    }

    /// An entity id as text (ids are compared as strings).
    static func entityText(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): return s
        case .number(let d) where d.isFinite && d == d.rounded() && abs(d) < 1e15: return String(Int64(d))
        default: return nil
        }
    }
}
