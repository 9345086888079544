import Foundation
import Hummingbird
import KeelCore
import KeelMonitoring
import KeelRegistry
import KeelServing
import KeelStore

/// `/api/v1/models/{m}/predictions|feedback|quality|drift`, reference profiles and
/// `/api/v1/events`: the monitoring API. Reads need `viewer`; feedback is inference traffic
/// (open, or `predictor` with `--inference-requires-key`); uploading a reference `deployer`.
struct MonitoringRoutes {
    let service: MonitoringService
    let registry: Registry
    let maxBodyBytes: Int

    typealias S = JSONSchema

    func register(on routes: KeelRoutes) {
        let model: [APIParameter] = [.model]
        let version = APIParameter.query("version", ComponentSchemas.name, "Version or alias (default: what unversioned requests get)")
        let window = APIParameter.query(
            "window", .string(pattern: "^([0-9]+|[0-9.]+(ms|s|m|h|d|w))$"), "Rows (`5000`) or a duration (`24h`); default from the model's config",
            example: "24h")
        let since = APIParameter.query("since", .string, "ISO 8601 time or seconds since 1970", example: "2026-12-01T00:00:00Z")

        routes.get("/api/v1/models/{model}/predictions", .viewer, "Logged predictions, newest first", doc: .json(
            .ref("PredictionList"), parameters: model + [
                version, since,
                .query("entity_id", .string(minLength: 1, maxLength: 256), "Only this entity's predictions"),
                .query("before", .integer(minimum: 1), "Only predictions older than this id (paging)"),
                .query("limit", .integer(minimum: 1, maximum: 1000), "At most this many (default 100)"),
            ], errors: [.notFound])) { request, context in
            let name = try context.modelName()
            try await requireKnown(name)
            let q = request.uri.queryParameters
            let limit = try Self.int(q.get("limit"), "limit", 1...1000) ?? 100
            let before = try Self.int(q.get("before"), "before", 1...Int.max).map(Int64.init)
            let entity = q.get("entity_id").map { String($0) }
            if let entity, entity.isEmpty || entity.utf8.count > 256 { throw KeelError.invalidInput("entity_id must be 1–256 bytes") }
            let query = PredictionQuery(
                model: name, version: try Self.version(q), entityID: entity, since: try Self.time(q.get("since")),
                beforeID: before, limit: limit)
            let rows = try await service.store.read { db throws(KeelError) in try await db.predictions(query) }
            // Records are logged as packed schema fields: each version's schema rebuilds them.
            var schemas: [String: FeatureSchema?] = [:]
            for v in Set(rows.filter { $0.features != nil }.map(\.version)) {
                schemas[v] = (try? await service.version(name, v))?.profile.schema
            }
            return JSONResponse.value(.object([
                "predictions": .array(rows.map { Self.prediction($0, schema: schemas[$0.version] ?? nil) }),
                "next_before": rows.count == limit ? rows.last.map { .number(Double($0.id)) } ?? .null : .null,
            ]))
        }

        routes.post("/api/v1/models/{model}/feedback", .inference, "Send ground-truth labels", doc: .json(
            .ref("FeedbackOutcome"),
            "Joins each label to the entity's latest prediction at or before its time (default: now); a repeated label replaces the earlier one. At most 10 000 items.",
            parameters: model, body: .json(.ref("FeedbackRequest"), "Labels", example: .object(["feedback": .array([
                .object(["entity_id": "C-1001", "label": "churn", "time": "2026-12-02T09:00:00Z"]),
            ])])), errors: [.notFound])) { request, context in
            let name = try context.modelName()
            try await requireKnown(name)
            let body = try await RequestBody.collect(request, limit: maxBodyBytes)
            let items = try FeedbackItem.parse(try JSONParser.parse(body, errorCode: .invalidInput))
            let outcome = try await FeedbackJoin.submit(items, model: name, store: service.store)
            return JSONResponse.value(.object([
                "matched": .number(Double(outcome.matched)), "unmatched": .number(Double(outcome.unmatched)),
                "unmatched_entities": .array(outcome.unmatchedEntities.map { .string($0) }),
            ]))
        }

        routes.get("/api/v1/models/{model}/quality", .viewer, "Live quality from ground-truth feedback", doc: .json(
            .ref("Quality"), parameters: model + [version, window], errors: [.notFound])) { request, context in
            let q = request.uri.queryParameters
            let quality = try await service.quality(
                try context.modelName(), version: try Self.version(q), window: try q.get("window").map { try Window.parse(String($0)) })
            return JSONResponse.value(quality.json)
        }

        routes.get("/api/v1/models/{model}/drift", .viewer, "Drift against the version's reference", doc: .json(
            .ref("Drift"),
            "Without `window`, the latest background result (computed at the monitoring interval); with one, computed now over the shared prediction log.",
            parameters: model + [version, window, .query(
                "method", .string(oneOf: DriftMethod.allCases.map(\.rawValue)), "Test every column with this method (e.g. psi, kl_div) instead of the default choice")],
            errors: [.notFound])) { request, context in
            let name = try context.modelName()
            let q = request.uri.queryParameters
            let requested = try q.get("window").map { try Window.parse(String($0)) }
            let method = try q.get("method").map { text throws(KeelError) -> DriftMethod in
                guard let m = DriftMethod(rawValue: text) else {
                    throw KeelError.invalidInput("method '\(text.prefix(40))' must be one of \(DriftMethod.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return m
            }
            let v = try await service.version(name, try Self.version(q))
            if requested == nil, method == nil,
               let stored = try await service.store.read({ db throws(KeelError) in try await db.monitoringResult(model: name, version: v.version, kind: "drift") }),
               let doc = try? JSONParser.parse(Array(stored.report.utf8), errorCode: .internal) {
                return JSONResponse.value(doc)
            }
            guard let result = try await service.drift(name, version: v.version, window: requested, method: method) else {
                throw KeelError.notFound("version \(v.version) of '\(name)' has no reference profile; evaluate it on a holdout or upload one (POST …/versions/\(v.version)/reference)")
            }
            return JSONResponse.value(DriftView.json(result.report, model: name, version: v.version, window: result.window, at: Date()))
        }

        let versionNumber: [APIParameter] = [.model, .versionNumber]
        routes.post("/api/v1/models/{model}/versions/{version}/reference", .deployer, "Store a reference profile from a data file", doc: RouteDoc(
            "Profiles a CSV (header row; the feature schema's fields, or the model's input columns) for drift. Profiles are immutable; the newest serves.",
            parameters: versionNumber,
            body: RequestBodyDoc("Reference rows as CSV", content: [MediaTypeDoc("text/csv", .string, example: ChurnExamples.holdoutCSV)]),
            responses: [.json(.ref("ReferenceProfile"), status: 201)], errors: [.notFound])) { request, context in
            let who = try context.caller()
            let csv = String(decoding: try await RequestBody.collect(request, limit: maxBodyBytes), as: UTF8.self)
            let record = try await ModelEvaluator(registry: registry).profileReference(
                model: try context.modelName(), version: try context.versionNumber(), csv: csv, by: who)
            return JSONResponse.value(Self.reference(record), status: .created)
        }
        routes.get("/api/v1/models/{model}/versions/{version}/reference", .viewer, "A version's newest reference profile", doc: .json(
            .ref("ReferenceProfile"), parameters: versionNumber, errors: [.notFound])) { _, context in
            let name = try context.modelName()
            let number = try context.versionNumber()
            _ = try await registry.version(name, number)
            guard let record = try await service.store.read({ db throws(KeelError) in try await db.referenceProfile(model: name, version: String(number)) }) else {
                throw KeelError.notFound("version \(number) of '\(name)' has no reference profile")
            }
            return JSONResponse.value(Self.reference(record))
        }

        routes.get("/api/v1/events", .viewer, "Monitoring events, newest first", doc: .json(
            .ref("EventList"), parameters: [
                .query("model", ComponentSchemas.name, "Only this model's events"), since,
                .query("limit", .integer(minimum: 1, maximum: 1000), "At most this many (default 100)"),
            ])) { request, _ in
            let q = request.uri.queryParameters
            let model = try q.get("model").map { try ResourceName.validate(String($0), what: "model") }
            let limit = try Self.int(q.get("limit"), "limit", 1...1000) ?? 100
            let since = try Self.time(q.get("since"))
            let events = try await service.store.read { db throws(KeelError) in try await db.monitoringEvents(model: model, since: since, limit: limit) }
            return JSONResponse.value(.object(["events": .array(events.map(\.json))]))
        }
    }

    /// 404 unless the model is served or registered.
    private func requireKnown(_ name: String) async throws(KeelError) {
        if !service.manager.versions(of: name).isEmpty || service.manager.isFromRegistry(name) { return }
        _ = try await registry.model(name)
    }

    static func int(_ text: String?, _ name: String, _ range: ClosedRange<Int>) throws(KeelError) -> Int? {
        guard let text else { return nil }
        guard let v = Int(text), range.contains(v) else {
            throw KeelError.invalidInput("\(name) must be an integer in \(range.lowerBound)…\(range.upperBound == Int.max ? "" : String(range.upperBound))")
        }
        return v
    }

    /// `?version=`: a version number or alias, validated like every name from a URL.
    static func version(_ q: Parameters) throws(KeelError) -> String? {
        guard let v = q.get("version") else { return nil }
        return try ResourceName.validate(String(v), what: "version")
    }

    static func time(_ text: String?) throws(KeelError) -> Date? {
        guard let text else { return nil }
        if let d = Double(text), d.isFinite, d >= 0, d < 1e11 { return Date(timeIntervalSince1970: d) }
        if let t = TimeText.parse(String(text)) { return t }
        throw KeelError.invalidInput("since '\(text.prefix(40))' must be an ISO 8601 time or seconds since 1970")
    }

    static func prediction(_ p: PredictionLogRecord, schema: FeatureSchema?) -> JSONValue {
        func json(_ text: String?) -> JSONValue {
            text.flatMap { try? JSONParser.parse(Array($0.utf8), errorCode: .internal) } ?? .null
        }
        var record = json(p.record)
        if p.features != nil {
            var extras: [String: JSONValue] = [:]
            if case .object(let o) = record { extras = o }
            record = .object(LogCodecs.record(features: p.features, extras: extras, schema: schema))
        }
        return .object([
            "id": .number(Double(p.id)), "at": Views.time(p.at), "model": .string(p.model), "version": .string(p.version), "arm": .string(p.arm),
            "request_id": .string(p.requestID), "entity_id": .string(p.entityID), "record": record,
            "outputs": json(p.outputs), "score": p.score.map { .number($0) } ?? .null, "label": Views.optional(p.label),
            "latency_ms": .number(p.latencyMs),
        ])
    }

    static func reference(_ r: ReferenceProfileRecord) -> JSONValue {
        .object([
            "id": .number(Double(r.id)), "model": .string(r.model), "version": .string(r.version), "source": .string(r.source),
            "rows": .number(Double(r.rowCount)), "sampled": .bool(r.sampled), "seed": .number(Double(r.seed)),
            "created_by": .string(r.createdBy), "created_at": Views.time(r.createdAt),
            "summary": (try? JSONParser.parse(Array(r.summary.utf8), errorCode: .internal)) ?? .object([:]),
        ])
    }
}

/// ISO 8601 times, with or without fractional seconds.
enum TimeText {
    static func parse(_ s: String) -> Date? {
        if let d = ISO8601DateFormatter().date(from: s) { return d }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: s)
    }
}
