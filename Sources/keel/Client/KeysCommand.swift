import ArgumentParser
import Foundation
import KeelCore

/// `keel keys …`: API keys (admin).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Manage API keys (needs an admin key).", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed once.")
        @OptionGroup var options: ClientOptions
        @Option(help: "admin, deployer, predictor or viewer.") var role: String
        @Option(help: "A name for the key (shown in the audit log).") var name: String?
        @Option(help: "Only these models, comma-separated (e.g. churn,fraud); default every model.") var models: String?
        @Option(help: "Lifetime: 30d, 12h, 90m or 3600s; default never expires.") var expires: String?
        func run() async throws {
            try await runClient {
                var body: [String: JSONValue] = ["role": .string(role)]
                if let name { body["name"] = .string(name) }
                if let models {
                    body["models"] = .array(models.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
                }
                if let expires {
                    guard let seconds = Self.seconds(expires) else {
                        throw ValidationError("--expires '\(expires)' must be a number followed by d, h, m or s (e.g. 30d)")
                    }
                    body["expires_in_s"] = .number(Double(seconds))
                }
                let (v, raw) = try await options.client().json(.POST, "/keys", body: .object(body))
                if options.json { return printJSON(raw) }
                print("created \(Table.text(v["id"])) (\(Table.text(v["role"]))); the key is shown only now:\n  \(Table.text(v["key"]))")
            }
        }

        /// `30d`, `12h`, `90m`, `3600s` or a bare number of seconds, as seconds (nil when malformed or over 10 years).
        static func seconds(_ text: String) -> Int? {
            let units: [Character: Int] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
            var digits = Substring(text.trimmingCharacters(in: .whitespaces))
            var unit = 1
            if let last = digits.last, let u = units[last] {
                unit = u
                digits = digits.dropLast()
            }
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCII), let n = Int(digits), n > 0 else { return nil }
            let total = n.multipliedReportingOverflow(by: unit)
            guard !total.overflow, total.partialValue <= 10 * 366 * 86_400 else { return nil }
            return total.partialValue
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            try await runClient {
                let (v, raw) = try await options.client().json(.GET, "/keys")
                if options.json { return printJSON(raw) }
                print(Table.render(["ID", "NAME", "ROLE", "MODELS", "CREATED BY", "CREATED AT", "EXPIRES AT", "REVOKED AT"], (v["keys"]?.arrayValue ?? []).map {
                    [Table.text($0["id"]), Table.text($0["name"]), Table.text($0["role"]),
                     $0["models"]?.arrayValue.map { $0.compactMap(\.stringValue).joined(separator: ",") } ?? "all",
                     Table.text($0["created_by"]), Table.text($0["created_at"]), Table.text($0["expires_at"]), Table.text($0["revoked_at"])]
                }))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id.")
        @OptionGroup var options: ClientOptions
        @Argument var id: String
        func run() async throws {
            try await runClient {
                let (_, raw) = try await options.client().json(.DELETE, "/keys/\(urlPath(id))")
                if options.json { return printJSON(raw) }
                print("revoked \(id)")
            }
        }
    }
}

/// `keel audit`: the audit log, newest first (admin).
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Show the audit log (needs an admin key).")
    @OptionGroup var options: ClientOptions
    @Option(help: "Only events on this target (a model name also matches its versions and aliases).") var target: String?
    @Option(help: "Most events to show.") var limit = 50
    func run() async throws {
        try await runClient {
            let query = "?limit=\(limit)" + (target.map { "&target=\(urlPath($0))" } ?? "")
            let (v, raw) = try await options.client().json(.GET, "/audit\(query)")
            if options.json { return printJSON(raw) }
            print(Table.render(["AT", "ACTOR", "FROM", "ACTION", "TARGET", "BEFORE", "AFTER"], (v["events"]?.arrayValue ?? []).map {
                [Table.text($0["at"]), Table.text($0["actor"]), Table.text($0["address"]), Table.text($0["action"]), Table.text($0["target"]),
                 Table.text($0["before"]), Table.text($0["after"])]
            }))
        }
    }
}
