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
        func run() async throws {
            try await runClient {
                var body: [String: JSONValue] = ["role": .string(role)]
                if let name { body["name"] = .string(name) }
                let (v, raw) = try await options.client().json(.POST, "/keys", body: .object(body))
                if options.json { return printJSON(raw) }
                print("created \(Table.text(v["id"])) (\(Table.text(v["role"]))); the key is shown only now:\n  \(Table.text(v["key"]))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            try await runClient {
                let (v, raw) = try await options.client().json(.GET, "/keys")
                if options.json { return printJSON(raw) }
                print(Table.render(["ID", "NAME", "ROLE", "CREATED BY", "CREATED AT", "REVOKED AT"], (v["keys"]?.arrayValue ?? []).map {
                    [Table.text($0["id"]), Table.text($0["name"]), Table.text($0["role"]), Table.text($0["created_by"]), Table.text($0["created_at"]), Table.text($0["revoked_at"])]
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
