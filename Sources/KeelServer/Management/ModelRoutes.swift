import Foundation
import Hummingbird
import KeelCore
import KeelRegistry
import KeelServing
import KeelStore

/// `/api/v1/models…`: the registry's models, versions, aliases, gates, evaluation, compare and
/// model cards. Reads need `viewer`, changes `deployer`.
struct ModelRoutes {
    let registry: Registry
    let maxBodyBytes: Int
    /// Longest loading and warming up a newly registered version may take.
    let loadTimeout: Duration

    func register(on routes: KeelRoutes) {
        routes.get("/api/v1/models", .viewer, "List registered models",
            doc: .json(.ref("ModelList"))) { request, _ in
            var out: [JSONValue] = []
            let aliases = try await registry.store.allAliases()
            for m in try await registry.models() { out.append(Views.model(m, aliases: aliases.filter { $0.model == m.name })) }
            return JSONResponse.value(.object(["models": .array(out)]))
        }
        routes.get("/api/v1/models/{model}", .viewer, "A model with its versions, aliases and gates",
            doc: .json(.ref("ModelDetail"), parameters: [.model], errors: [.notFound])) { request, context in
            let name = try context.modelName()
            let model = try await registry.model(name)
            let aliases = try await registry.aliases(name)
            guard case .object(var o) = Views.model(model, aliases: aliases) else { return JSONResponse.value(.null) }
            o["gates"] = .array(try await registry.gates(name).map(Views.gate))
            o["versions"] = .array(try await registry.versions(name).map { Views.version($0, aliases: aliases) })
            return JSONResponse.value(.object(o))
        }
        routes.patch("/api/v1/models/{model}", .deployer, "Update a model's description, tags or owner",
            doc: .json(.ref("Model"), parameters: [.model], body: .json(.ref("ModelUpdate"), "Fields to change; absent ones (or no body) change nothing", required: false, example: ChurnExamples.modelUpdate), errors: [.notFound])) { request, context in
            let who = try context.caller()
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            let m = try await registry.updateModel(
                try context.modelName(), description: try body.string("description"), tags: try body.strings("tags"),
                owner: try body.string("owner"), by: who)
            return JSONResponse.value(Views.model(m))
        }
        routes.delete("/api/v1/models/{model}", .deployer, "Delete a model (refused while it has aliases)",
            doc: .json(.ref("Deleted"), "Deletes the model and its versions; 409 while an alias points at one.", parameters: [.model], errors: [.notFound, .conflict])) { request, context in
            let who = try context.caller()
            try await registry.deleteModel(try context.modelName(), by: who)
            return JSONResponse.value(.object(["deleted": .bool(true)]))
        }
        routes.get("/api/v1/models/{model}/versions", .viewer, "List a model's versions",
            doc: .json(.ref("VersionList"), parameters: [.model], errors: [.notFound])) { request, context in
            let name = try context.modelName()
            let aliases = try await registry.aliases(name)
            return JSONResponse.value(.object(["versions": .array(try await registry.versions(name).map { Views.version($0, aliases: aliases) })]))
        }
        routes.post("/api/v1/models/{model}/versions", .deployer, "Register a new version",
            doc: Self.registerDoc) { request, context in
            let who = try context.caller()
            let name = try context.modelName()
            let new = try await newVersion(name, request)
            let created = try await registry.register(new, by: who)
            return JSONResponse.value(Views.version(created), status: .created)
        }
        routes.get("/api/v1/models/{model}/versions/{version}", .viewer, "A version by number or alias",
            doc: .json(.ref("Version"), parameters: [.model, .versionReference], errors: [.notFound])) { request, context in
            let name = try context.modelName()
            let v = try await registry.version(name, reference: try context.parameter("version"))
            return JSONResponse.value(Views.version(v, aliases: try await registry.aliases(name)))
        }
        routes.delete("/api/v1/models/{model}/versions/{version}", .deployer, "Delete a version (refused while an alias points at it)",
            doc: .json(.ref("Deleted"), parameters: [.model, .versionNumber], errors: [.notFound, .conflict])) { request, context in
            let who = try context.caller()
            let name = try context.modelName()
            try await registry.deleteVersion(name, try context.versionNumber(), by: who)
            return JSONResponse.value(.object(["deleted": .bool(true)]))
        }
        routes.post("/api/v1/models/{model}/versions/{version}/archive", .deployer, "Archive a version",
            doc: .json(.ref("Version"), "409 while the version serves as `production`.", parameters: [.model, .versionNumber], errors: [.notFound, .conflict])) { request, context in
            let who = try context.caller()
            let name = try context.modelName()
            let number = try context.versionNumber()
            try await registry.archive(name, number, by: who)
            return JSONResponse.value(Views.version(try await registry.version(name, number)))
        }
        routes.get("/api/v1/models/{model}/versions/{version}/card", .viewer, "A version's model card (markdown)",
            doc: RouteDoc(parameters: [.model, .versionReference], responses: [Self.markdown], errors: [.notFound])) { request, context in
            let name = try context.modelName()
            let v = try await registry.version(name, reference: try context.parameter("version"))
            let card = ModelCard.markdown(
                model: try await registry.model(name), version: v, aliases: try await registry.aliases(name),
                gates: try await registry.checkGates(name, v))
            return Response(status: .ok, headers: [.contentType: "text/markdown; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: card)))
        }
        routes.post("/api/v1/models/{model}/versions/{version}/evaluate", .deployer, "Evaluate a version on a holdout CSV",
            doc: Self.evaluateDoc) { request, context in
            let who = try context.caller()
            let name = try context.modelName()
            guard let label = request.uri.queryParameters.get("label"), !label.isEmpty else {
                throw KeelError.invalidInput("evaluate needs ?label=<label column>")
            }
            let csv = String(decoding: try await RequestBody.collect(request, limit: maxBodyBytes), as: UTF8.self)
            let metrics = try await ModelEvaluator(registry: registry).evaluate(model: name, version: try context.versionNumber(), csv: csv, label: label, by: who)
            return JSONResponse.value(.object(["metrics": Views.numbers(metrics)]))
        }
        routes.get("/api/v1/models/{model}/aliases", .viewer, "Aliases and their history",
            doc: .json(.ref("AliasList"), parameters: [.model], errors: [.notFound])) { request, context in
            let name = try context.modelName()
            return JSONResponse.value(.object([
                "aliases": .array(try await registry.aliases(name).map(Views.alias)),
                "moves": .array(try await registry.store.aliasMoves(model: name).map(Views.move)),
            ]))
        }
        routes.put("/api/v1/models/{model}/aliases/{alias}", .deployer, "Point an alias at a version",
            doc: .json(.ref("AliasMove"), "Moving `production` needs every gate to pass (409 names the failing ones) unless `force`.", parameters: [.model, .alias], body: .json(.ref("AliasTarget"), "The version to point at", example: ChurnExamples.version), errors: [.notFound, .conflict])) { request, context in
            let who = try context.caller()
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            guard let version = try body.int("version") else { throw KeelError.invalidInput("missing 'version'") }
            let move = try await registry.setAlias(
                try context.modelName(), alias: try ResourceName.validate(try context.parameter("alias"), what: "alias"), version: version,
                force: try body.bool("force"), by: who)
            return JSONResponse.value(Views.move(move))
        }
        routes.delete("/api/v1/models/{model}/aliases/{alias}", .deployer, "Remove an alias",
            doc: .json(.ref("AliasMove"), parameters: [.model, .alias], errors: [.notFound, .conflict])) { request, context in
            let who = try context.caller()
            let move = try await registry.removeAlias(try context.modelName(), alias: try ResourceName.validate(try context.parameter("alias"), what: "alias"), by: who)
            return JSONResponse.value(Views.move(move))
        }
        routes.post("/api/v1/models/{model}/promote", .deployer, "Promote a version to production (gated)",
            doc: .json(.ref("AliasMove"), "Points `production` at the version; every gate must pass (409 names the failing ones) unless `force`.", parameters: [.model], body: .json(.ref("AliasTarget"), "The version to promote", example: ChurnExamples.version), errors: [.notFound, .conflict])) { request, context in
            let who = try context.caller()
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            guard let version = try body.int("version") else { throw KeelError.invalidInput("missing 'version'") }
            let move = try await registry.setAlias(
                try context.modelName(), alias: Registry.production, version: version, force: try body.bool("force"), by: who)
            return JSONResponse.value(Views.move(move))
        }
        routes.get("/api/v1/models/{model}/gates", .viewer, "Gates, optionally checked against a version",
            doc: .json(.ref("GateList"), parameters: [.model, .query("version", ComponentSchemas.name, "Check the gates against this version (number or alias)", example: "1")], errors: [.notFound])) { request, context in
            let name = try context.modelName()
            var o: [String: JSONValue] = ["gates": .array(try await registry.gates(name).map(Views.gate))]
            if let reference = request.uri.queryParameters.get("version") {
                let v = try await registry.version(name, reference: String(reference))
                let results = try await registry.checkGates(name, v)
                o["version"] = Views.int(v.version)
                o["results"] = .array(results.map(Views.gateResult))
                o["passed"] = .bool(results.allSatisfy(\.passed))
            }
            return JSONResponse.value(.object(o))
        }
        routes.post("/api/v1/models/{model}/gates", .deployer, "Add or replace a gate",
            doc: .json(.ref("Gate"), parameters: [.model], body: .json(.ref("GateRequest"), "The gate expression", example: ChurnExamples.gate), status: 201, errors: [.notFound])) { request, context in
            let who = try context.caller()
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            let gate = try await registry.setGate(
                try context.modelName(), try body.requiredString("gate"), acceptReported: try body.bool("accept_reported"), by: who)
            return JSONResponse.value(Views.gate(gate), status: .created)
        }
        routes.delete("/api/v1/models/{model}/gates/{metric}", .deployer, "Remove a gate",
            doc: .json(.ref("Deleted"), parameters: [.model, .metric, .query("op", .string(oneOf: Gate.Op.allCases.map(\.rawValue)), "Only the gate with this operator")], errors: [.notFound])) { request, context in
            let who = try context.caller()
            let metric = try context.parameter("metric")
            let op = request.uri.queryParameters.get("op").map { String($0) }
            try await registry.removeGate(try context.modelName(), op.map { "\(metric) \($0)" } ?? metric, by: who)
            return JSONResponse.value(.object(["deleted": .bool(true)]))
        }
        routes.get("/api/v1/models/{model}/compare", .viewer, "Compare versions' metrics",
            doc: .json(.ref("Comparison"), parameters: [.model, .query("versions", .string, "Comma-separated version numbers, at most \(Self.maxComparedVersions) (default: all)", example: "1")], errors: [.notFound])) { request, context in
            var numbers: [Int] = []
            if let list = request.uri.queryParameters.get("versions") {
                let parts = list.split(separator: ",")
                guard parts.count <= Self.maxComparedVersions else {
                    throw KeelError.invalidInput("compare takes at most \(Self.maxComparedVersions) versions, got \(parts.count)")
                }
                for part in parts {
                    guard let n = Int(part.trimmingCharacters(in: .whitespaces)) else {
                        throw KeelError.invalidInput("versions must be a comma-separated list of numbers, got '\(list)'")
                    }
                    numbers.append(n)
                }
            }
            return JSONResponse.value(Views.comparison(try await registry.compare(try context.modelName(), versions: numbers)))
        }
    }

    static let registerDoc = RouteDoc(
        "Registers the model file as the next version, after it loads and warms up within --load-timeout-ms (else 400 with the "
            + "reason). Send JSON with the file base64-encoded, or the raw file with `?filename=`.",
        parameters: [
            .model, .query("filename", .string, "Raw-file registration: the file's name (its extension tells the format)", example: "model.json"),
            .query("description", .string, "Raw-file registration: the version's description"),
        ],
        body: RequestBodyDoc("The new version", content: [
            MediaTypeDoc("application/json", .ref("VersionRegistration")),
            MediaTypeDoc("application/octet-stream", JSONSchema(.object(["type": "string", "format": "binary"])).described("The raw model file")),
        ]),
        responses: [.json(.ref("Version"), status: 201)], errors: [.notFound])

    static let evaluateDoc = RouteDoc.json(
        .ref("Evaluation"), "Scores the version on a holdout CSV (header row, one column the label) and records the measured metrics.",
        parameters: [.model, .versionNumber, .query("label", .string(minLength: 1), "The label column", required: true, example: "churn")],
        body: RequestBodyDoc("Holdout rows as CSV", content: [MediaTypeDoc("text/csv", .string, example: ChurnExamples.holdoutCSV)]), errors: [.notFound])

    /// Most versions one comparison may name (each is a store lookup).
    static let maxComparedVersions = 100

    static let markdown = ResponseDoc(status: 200, "The model card", content: [MediaTypeDoc("text/markdown", .string)])

    /// A registration body: either JSON `{"artifact_base64", "filename", "metrics", "params",
    /// "tags", "description", "training_data", "schema_yaml"}`, or the raw model file with
    /// `?filename=…&description=…` in the query.
    private func newVersion(_ name: String, _ request: Request) async throws -> NewVersion {
        let bytes = try await RequestBody.collect(request, limit: maxBodyBytes)
        let isJSON = request.headers[.contentType]?.lowercased().hasPrefix("application/json") ?? false
        guard isJSON else {
            let query = request.uri.queryParameters
            var new = try await RegistryImport.admit(
                model: name, bytes: bytes, filename: query.get("filename").map { String($0) } ?? "", configYAML: nil, limit: loadTimeout)
            new.description = query.get("description").map { String($0) } ?? ""
            return new
        }
        let body = try JSONBody(bytes)
        guard let encoded = try body.string("artifact_base64"), let data = Data(base64Encoded: encoded) else {
            throw KeelError.invalidInput("JSON registration needs 'artifact_base64' (the model file, base64)")
        }
        var new = try await RegistryImport.admit(
            model: name, bytes: [UInt8](data), filename: try body.string("filename") ?? "", configYAML: try body.string("schema_yaml"),
            limit: loadTimeout)
        new.metrics = try body.numbers("metrics") ?? [:]
        new.params = try body.strings("params") ?? [:]
        new.tags = try body.strings("tags") ?? [:]
        new.description = try body.string("description") ?? ""
        new.trainingData = try body.string("training_data")
        return new
    }
}
