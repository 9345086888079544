import ArgumentParser
import Foundation
import KeelCore

/// `keel models …`: the registry client.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Manage the model registry on a Keel server.",
        subcommands: [
            Register.self, List.self, Show.self, Versions.self, AliasCommand.self, Promote.self, Compare.self, Evaluate.self,
            Card.self, Archive.self, Delete.self, GateCommand.self, Validate.self,
        ])

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a model file as the next version of NAME.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Model name.") var name: String
        @Argument(help: "Model file (.json, .ubj, .txt, .onnx).") var file: String
        @Option(help: "JSON file of metrics, e.g. {\"roc_auc\": 0.91}.") var metrics: String?
        @Option(name: .customLong("tag"), help: "Tag key=value (repeatable).") var tags: [String] = []
        @Option(name: .customLong("param"), help: "Training parameter key=value (repeatable).") var params: [String] = []
        @Option(help: "Description of this version.") var description: String?
        @Option(name: .customLong("training-data"), help: "Where the training data lives.") var trainingData: String?
        @Option(help: "Serving config / feature schema YAML (the config.yaml format).") var schema: String?
        @Option(help: "Reference data CSV (e.g. the training sample): stored as the version's drift reference.") var reference: String?

        func run() async throws {
            try await runClient {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                var body: [String: JSONValue] = [
                    "artifact_base64": .string(bytes.base64EncodedString()),
                    "filename": .string(URL(fileURLWithPath: file).lastPathComponent),
                ]
                if let metrics {
                    body["metrics"] = try JSONParser.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: metrics))), errorCode: .invalidInput)
                }
                func pairs(_ list: [String]) throws -> JSONValue {
                    var o: [String: JSONValue] = [:]
                    for item in list {
                        guard let eq = item.firstIndex(of: "=") else { throw ValidationError("'\(item)' must be key=value") }
                        o[String(item[..<eq])] = .string(String(item[item.index(after: eq)...]))
                    }
                    return .object(o)
                }
                body["tags"] = try pairs(tags)
                body["params"] = try pairs(params)
                if let description { body["description"] = .string(description) }
                if let trainingData { body["training_data"] = .string(trainingData) }
                if let schema { body["schema_yaml"] = .string(try String(contentsOfFile: schema, encoding: .utf8)) }
                let (v, raw) = try await options.client().json(.POST, "/models/\(urlPath(name))/versions", body: .object(body))
                if let reference {
                    let csv = [UInt8](try Data(contentsOf: URL(fileURLWithPath: reference)))
                    _ = try await options.client().call(
                        .POST, "/models/\(urlPath(name))/versions/\(Table.text(v["version"]))/reference", body: csv, contentType: "text/csv")
                }
                if options.json { printJSON(raw) } else {
                    print("registered \(name) version \(Table.text(v["version"])) (sha256:\(Table.text(v["artifact_sha256"])), \(Table.text(v["format"])))"
                        + (reference == nil ? "" : " with its reference profile"))
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered models.")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            try await runClient {
                let (v, raw) = try await options.client().json(.GET, "/models")
                if options.json { return printJSON(raw) }
                let models: [JSONValue] = v["models"]?.arrayValue ?? []
                let rows: [[String]] = models.map { (m: JSONValue) -> [String] in
                    [Table.text(m["name"]), Table.text(m["latest_version"]), Table.text(m["aliases"]), Table.text(m["owner"]), Table.text(m["description"])]
                }
                print(Table.render(["NAME", "LATEST", "ALIASES", "OWNER", "DESCRIPTION"], rows))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a model, its aliases, gates and versions.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        func run() async throws {
            try await runClient {
                let (v, raw) = try await options.client().json(.GET, "/models/\(urlPath(name))")
                if options.json { return printJSON(raw) }
                print("model:       \(Table.text(v["name"]))\ndescription: \(Table.text(v["description"]))\nowner:       \(Table.text(v["owner"]))")
                print("tags:        \(Table.text(v["tags"]))\naliases:     \(Table.text(v["aliases"]))")
                print("gates:       \(Table.text(v["gates"].map { g in .array((g.arrayValue ?? []).map { $0["gate"] ?? .null }) }))\n")
                print(versionTable(v["versions"]))
            }
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a model's versions.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        func run() async throws {
            try await runClient {
                let (v, raw) = try await options.client().json(.GET, "/models/\(urlPath(name))/versions")
                if options.json { return printJSON(raw) }
                print(versionTable(v["versions"]))
            }
        }
    }

    struct AliasCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "alias", abstract: "Set or remove an alias.", subcommands: [Set.self, Remove.self])

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "set", abstract: "Point ALIAS of NAME at VERSION (production is gated).")
            @OptionGroup var options: ClientOptions
            @Argument var name: String
            @Argument var alias: String
            @Argument var version: Int
            @Flag(help: "Move production even if gates fail (audited).") var force = false
            func run() async throws {
                try await runClient {
                    let (v, raw) = try await options.client().json(.PUT, "/models/\(urlPath(name))/aliases/\(urlPath(alias))", body: .object(["version": .number(Double(version)), "force": .bool(force)]))
                    if options.json { return printJSON(raw) }
                    print("\(name)@\(alias): \(Table.text(v["from"])) -> \(Table.text(v["to"]))\(v["forced"] == .bool(true) ? " (forced)" : "")")
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove ALIAS of NAME.")
            @OptionGroup var options: ClientOptions
            @Argument var name: String
            @Argument var alias: String
            func run() async throws {
                try await runClient {
                    let (_, raw) = try await options.client().json(.DELETE, "/models/\(urlPath(name))/aliases/\(urlPath(alias))")
                    if options.json { return printJSON(raw) }
                    print("removed \(name)@\(alias)")
                }
            }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move the production alias of NAME to VERSION (refused unless every gate passes).")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        @Argument var version: Int
        @Flag(help: "Promote even if gates fail (audited).") var force = false
        func run() async throws {
            try await runClient {
                let (v, raw) = try await options.client().json(.POST, "/models/\(urlPath(name))/promote", body: .object(["version": .number(Double(version)), "force": .bool(force)]))
                if options.json { return printJSON(raw) }
                print("\(name)@production: \(Table.text(v["from"])) -> \(Table.text(v["to"]))\(v["forced"] == .bool(true) ? " (forced)" : "")")
            }
        }
    }

    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compare versions' metrics (all versions when none given).")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        @Argument var versions: [Int] = []
        func run() async throws {
            try await runClient {
                let query = versions.isEmpty ? "" : "?versions=" + versions.map(String.init).joined(separator: ",")
                let (v, raw) = try await options.client().json(.GET, "/models/\(urlPath(name))/compare\(query)")
                if options.json { return printJSON(raw) }
                let numbers = (v["versions"]?.arrayValue ?? []).map { Table.text($0) }
                let rows = (v["metrics"]?.arrayValue ?? []).map { m in
                    [Table.text(m["metric"])] + numbers.map { n in
                        let cell = Table.text(m["values"]?[n])
                        return Table.text(m["best"]) == n ? cell + " *" : cell
                    }
                }
                print(Table.render(["METRIC"] + numbers.map { "v\($0)" }, rows))
                print("(* best)")
            }
        }
    }

    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Evaluate a version on a holdout CSV and store the metrics.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        @Argument var version: Int
        @Option(help: "Holdout CSV with a header row.") var data: String
        @Option(help: "Label column.") var label: String
        func run() async throws {
            try await runClient {
                let csv = try Data(contentsOf: URL(fileURLWithPath: data))
                let raw = try await options.client().call(.POST, "/models/\(urlPath(name))/versions/\(version)/evaluate?label=\(urlPath(label))", body: [UInt8](csv), contentType: "text/csv")
                if options.json { return printJSON(raw) }
                let metrics = try JSONParser.parse(raw, errorCode: .invalidInput)["metrics"]?.objectValue ?? [:]
                print(Table.render(["METRIC", "VALUE"], metrics.sorted { $0.key < $1.key }.map { [$0.key, Table.text($0.value)] }))
            }
        }
    }

    struct Card: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a version's markdown model card.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        @Argument(help: "Version number or alias.") var version: String
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
        func run() async throws {
            try await runClient {
                let raw = try await options.client().call(.GET, "/models/\(urlPath(name))/versions/\(urlPath(version))/card")
                if let output { try Data(raw).write(to: URL(fileURLWithPath: output)) } else { print(String(decoding: raw, as: UTF8.self)) }
            }
        }
    }

    struct Archive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a version archived.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        @Argument var version: Int
        func run() async throws {
            try await runClient {
                let (_, raw) = try await options.client().json(.POST, "/models/\(urlPath(name))/versions/\(version)/archive")
                if options.json { return printJSON(raw) }
                print("archived \(name) version \(version)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a version (or the whole model when no version is given); refused while an alias points at it.")
        @OptionGroup var options: ClientOptions
        @Argument var name: String
        @Argument var version: Int?
        func run() async throws {
            try await runClient {
                let path = "/models/\(urlPath(name))" + (version.map { "/versions/\($0)" } ?? "")
                let (_, raw) = try await options.client().json(.DELETE, path)
                if options.json { return printJSON(raw) }
                print("deleted \(name)\(version.map { " version \($0)" } ?? "")")
            }
        }
    }

    struct GateCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "gate", abstract: "Promotion gates.", subcommands: [Set.self, List.self, Remove.self])

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "set", abstract: "Add or replace a gate, e.g. 'roc_auc >= 0.85'.")
            @OptionGroup var options: ClientOptions
            @Argument var name: String
            @Argument var gate: String
            func run() async throws {
                try await runClient {
                    let (v, raw) = try await options.client().json(.POST, "/models/\(urlPath(name))/gates", body: .object(["gate": .string(gate)]))
                    if options.json { return printJSON(raw) }
                    print("gate set: \(Table.text(v["gate"]))")
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "list", abstract: "List gates; with --version, check them against that version.",
                discussion: "With --version: exits 1 when a gate fails (for pipelines), 0 when all pass.")
            @OptionGroup var options: ClientOptions
            @Argument var name: String
            @Option(help: "Version number or alias to check.") var version: String?
            func run() async throws {
                try await runClient {
                    let (v, raw) = try await options.client().json(.GET, "/models/\(urlPath(name))/gates" + (version.map { "?version=\(urlPath($0))" } ?? ""))
                    let failed = v["results"]?.arrayValue?.contains { $0["passed"] != .bool(true) } ?? false
                    if options.json {
                        printJSON(raw)
                    } else if let results = v["results"]?.arrayValue {
                        print(Table.render(["GATE", "VALUE", "RESULT"], results.map { [Table.text($0["gate"]), Table.text($0["value"]), $0["passed"] == .bool(true) ? "pass" : "FAIL"] }))
                    } else {
                        print(Table.render(["GATE"], (v["gates"]?.arrayValue ?? []).map { [Table.text($0["gate"])] }))
                    }
                    if failed { throw ExitCode(1) }
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a gate, given as 'metric op' or 'metric'.")
            @OptionGroup var options: ClientOptions
            @Argument var name: String
            @Argument var gate: String
            func run() async throws {
                try await runClient {
                    let parts = gate.split(separator: " ", omittingEmptySubsequences: true)
                    let metric = parts.first.map(String.init) ?? gate
                    let op = parts.count > 1 ? "?op=\(urlPath(String(parts[1])))" : ""
                    let (_, raw) = try await options.client().json(.DELETE, "/models/\(urlPath(name))/gates/\(urlPath(metric))\(op)")
                    if options.json { return printJSON(raw) }
                    print("gate removed: \(gate)")
                }
            }
        }
    }
}

func versionTable(_ versions: JSONValue?) -> String {
    let rows = (versions?.arrayValue ?? []).map {
        [Table.text($0["version"]), Table.text($0["status"]), Table.text($0["aliases"]), Table.text($0["format"]),
         String(Table.text($0["artifact_sha256"]).prefix(12)), Table.text($0["created_by"]), Table.text($0["created_at"])]
    }
    return Table.render(["VERSION", "STATUS", "ALIASES", "FORMAT", "SHA256", "CREATED BY", "CREATED AT"], rows)
}

extension JSONValue {
    var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
}
