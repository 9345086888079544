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
    let auth: Authenticator
    let maxBodyBytes: Int

    func register(on router: Router<KeelRequestContext>) {
        let api = router.group("/api/v1/models")
        api.get("") { request, _ in
            _ = try await auth.require(.viewer, request)
            var out: [JSONValue] = []
            let aliases = try await registry.store.allAliases()
            for m in try await registry.models() { out.append(Views.model(m, aliases: aliases.filter { $0.model == m.name })) }
            return JSONResponse.value(.object(["models": .array(out)]))
        }
        api.get("{model}") { request, context in
            _ = try await auth.require(.viewer, request)
            let name = try context.parameters.require("model")
            let model = try await registry.model(name)
            let aliases = try await registry.aliases(name)
            guard case .object(var o) = Views.model(model, aliases: aliases) else { return JSONResponse.value(.null) }
            o["gates"] = .array(try await registry.gates(name).map(Views.gate))
            o["versions"] = .array(try await registry.versions(name).map { Views.version($0, aliases: aliases) })
            return JSONResponse.value(.object(o))
        }
        api.patch("{model}") { request, context in
            let who = try await auth.require(.deployer, request)
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            let m = try await registry.updateModel(
                try context.parameters.require("model"), description: try body.string("description"), tags: try body.strings("tags"),
                owner: try body.string("owner"), by: who)
            return JSONResponse.value(Views.model(m))
        }
        api.delete("{model}") { request, context in
            let who = try await auth.require(.deployer, request)
            try await registry.deleteModel(try context.parameters.require("model"), by: who)
            return JSONResponse.value(.object(["deleted": .bool(true)]))
        }
        api.get("{model}/versions") { request, context in
            _ = try await auth.require(.viewer, request)
            let name = try context.parameters.require("model")
            let aliases = try await registry.aliases(name)
            return JSONResponse.value(.object(["versions": .array(try await registry.versions(name).map { Views.version($0, aliases: aliases) })]))
        }
        api.post("{model}/versions") { request, context in
            let who = try await auth.require(.deployer, request)
            let name = try context.parameters.require("model")
            let new = try await newVersion(name, request)
            let created = try await registry.register(new, by: who)
            return JSONResponse.value(Views.version(created), status: .created)
        }
        api.get("{model}/versions/{version}") { request, context in
            _ = try await auth.require(.viewer, request)
            let name = try context.parameters.require("model")
            let v = try await registry.version(name, reference: try context.parameters.require("version"))
            return JSONResponse.value(Views.version(v, aliases: try await registry.aliases(name)))
        }
        api.delete("{model}/versions/{version}") { request, context in
            let who = try await auth.require(.deployer, request)
            let name = try context.parameters.require("model")
            try await registry.deleteVersion(name, try versionNumber(context), by: who)
            return JSONResponse.value(.object(["deleted": .bool(true)]))
        }
        api.post("{model}/versions/{version}/archive") { request, context in
            let who = try await auth.require(.deployer, request)
            let name = try context.parameters.require("model")
            let number = try versionNumber(context)
            try await registry.archive(name, number, by: who)
            return JSONResponse.value(Views.version(try await registry.version(name, number)))
        }
        api.get("{model}/versions/{version}/card") { request, context in
            _ = try await auth.require(.viewer, request)
            let name = try context.parameters.require("model")
            let v = try await registry.version(name, reference: try context.parameters.require("version"))
            let card = ModelCard.markdown(
                model: try await registry.model(name), version: v, aliases: try await registry.aliases(name),
                gates: try await registry.checkGates(name, v))
            return Response(status: .ok, headers: [.contentType: "text/markdown; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: card)))
        }
        api.post("{model}/versions/{version}/evaluate") { request, context in
            let who = try await auth.require(.deployer, request)
            let name = try context.parameters.require("model")
            guard let label = request.uri.queryParameters.get("label"), !label.isEmpty else {
                throw KeelError.invalidInput("evaluate needs ?label=<label column>")
            }
            let csv = String(decoding: try await RequestBody.collect(request, limit: maxBodyBytes), as: UTF8.self)
            let metrics = try await ModelEvaluator(registry: registry).evaluate(model: name, version: try versionNumber(context), csv: csv, label: label, by: who)
            return JSONResponse.value(.object(["metrics": Views.numbers(metrics)]))
        }
        api.get("{model}/aliases") { request, context in
            _ = try await auth.require(.viewer, request)
            let name = try context.parameters.require("model")
            return JSONResponse.value(.object([
                "aliases": .array(try await registry.aliases(name).map(Views.alias)),
                "moves": .array(try await registry.store.aliasMoves(model: name).map(Views.move)),
            ]))
        }
        api.put("{model}/aliases/{alias}") { request, context in
            let who = try await auth.require(.deployer, request)
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            guard let version = try body.int("version") else { throw KeelError.invalidInput("missing 'version'") }
            let move = try await registry.setAlias(
                try context.parameters.require("model"), alias: try context.parameters.require("alias"), version: version,
                force: try body.bool("force"), by: who)
            return JSONResponse.value(Views.move(move))
        }
        api.delete("{model}/aliases/{alias}") { request, context in
            let who = try await auth.require(.deployer, request)
            let move = try await registry.removeAlias(try context.parameters.require("model"), alias: try context.parameters.require("alias"), by: who)
            return JSONResponse.value(Views.move(move))
        }
        api.post("{model}/promote") { request, context in
            let who = try await auth.require(.deployer, request)
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            guard let version = try body.int("version") else { throw KeelError.invalidInput("missing 'version'") }
            let move = try await registry.setAlias(
                try context.parameters.require("model"), alias: Registry.production, version: version, force: try body.bool("force"), by: who)
            return JSONResponse.value(Views.move(move))
        }
        api.get("{model}/gates") { request, context in
            _ = try await auth.require(.viewer, request)
            let name = try context.parameters.require("model")
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
        api.post("{model}/gates") { request, context in
            let who = try await auth.require(.deployer, request)
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            let gate = try await registry.setGate(
                try context.parameters.require("model"), try body.requiredString("gate"), acceptReported: try body.bool("accept_reported"), by: who)
            return JSONResponse.value(Views.gate(gate), status: .created)
        }
        api.delete("{model}/gates/{metric}") { request, context in
            let who = try await auth.require(.deployer, request)
            let metric = try context.parameters.require("metric")
            let op = request.uri.queryParameters.get("op").map { String($0) }
            try await registry.removeGate(try context.parameters.require("model"), op.map { "\(metric) \($0)" } ?? metric, by: who)
            return JSONResponse.value(.object(["deleted": .bool(true)]))
        }
        api.get("{model}/compare") { request, context in
            _ = try await auth.require(.viewer, request)
            var numbers: [Int] = []
            if let list = request.uri.queryParameters.get("versions") {
                for part in list.split(separator: ",") {
                    guard let n = Int(part.trimmingCharacters(in: .whitespaces)) else {
                        throw KeelError.invalidInput("versions must be a comma-separated list of numbers, got '\(list)'")
                    }
                    numbers.append(n)
                }
            }
            return JSONResponse.value(Views.comparison(try await registry.compare(try context.parameters.require("model"), versions: numbers)))
        }
    }

    private func versionNumber(_ context: KeelRequestContext) throws -> Int {
        let text = try context.parameters.require("version")
        guard let n = Int(text) else { throw KeelError.invalidInput("version must be a number, got '\(text)'") }
        return n
    }

    /// A registration body: either JSON `{"artifact_base64", "filename", "metrics", "params",
    /// "tags", "description", "training_data", "schema_yaml"}`, or the raw model file with
    /// `?filename=…&description=…` in the query.
    private func newVersion(_ name: String, _ request: Request) async throws -> NewVersion {
        let bytes = try await RequestBody.collect(request, limit: maxBodyBytes)
        let isJSON = request.headers[.contentType]?.lowercased().hasPrefix("application/json") ?? false
        guard isJSON else {
            let query = request.uri.queryParameters
            var new = try RegistryImport.inspect(model: name, bytes: bytes, filename: query.get("filename").map { String($0) } ?? "", configYAML: nil)
            new.description = query.get("description").map { String($0) } ?? ""
            return new
        }
        let body = try JSONBody(bytes)
        guard let encoded = try body.string("artifact_base64"), let data = Data(base64Encoded: encoded) else {
            throw KeelError.invalidInput("JSON registration needs 'artifact_base64' (the model file, base64)")
        }
        var new = try RegistryImport.inspect(model: name, bytes: [UInt8](data), filename: try body.string("filename") ?? "", configYAML: try body.string("schema_yaml"))
        new.metrics = try body.numbers("metrics") ?? [:]
        new.params = try body.strings("params") ?? [:]
        new.tags = try body.strings("tags") ?? [:]
        new.description = try body.string("description") ?? ""
        new.trainingData = try body.string("training_data")
        return new
    }
}
