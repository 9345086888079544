import ArgumentParser
import Foundation
import KeelCore
import KeelRegistry

/// `keel predictions list`: the prediction log.
struct PredictionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "predictions", abstract: "Read the prediction log.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Logged predictions of a model, newest first.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Model name.") var model: String
        @Option(help: "Only this version.") var version: String?
        @Option(help: "Only predictions at or after this time (ISO 8601 or seconds since 1970).") var since: String?
        @Option(name: .customLong("entity-id"), help: "Only this entity's predictions.") var entityID: String?
        @Option(help: "At most this many (1…1000).") var limit = 20
        func run() async throws {
            try await runClient {
                var query = ["limit=\(limit)"]
                if let version { query.append("version=\(urlPath(version))") }
                if let since { query.append("since=\(urlPath(since))") }
                if let entityID { query.append("entity_id=\(urlPath(entityID))") }
                let (v, raw) = try await options.client().json(.GET, "/models/\(urlPath(model))/predictions?" + query.joined(separator: "&"))
                if options.json { return printJSON(raw) }
                print(Table.render(["ID", "AT", "VERSION", "ARM", "ENTITY", "LABEL", "SCORE", "MS"], (v["predictions"]?.arrayValue ?? []).map {
                    [Table.text($0["id"]), Table.text($0["at"]), Table.text($0["version"]), Table.text($0["arm"]), Table.text($0["entity_id"]),
                     Table.text($0["label"]), Table.text($0["score"]), Table.text($0["latency_ms"])]
                }))
            }
        }
    }
}

/// `keel feedback send MODEL FILE`: ground-truth labels from a CSV (`entity_id,label[,time]`).
struct FeedbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "feedback", abstract: "Send ground-truth labels.", subcommands: [Send.self])

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send labels from a CSV with columns entity_id, label and optionally time.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Model name.") var model: String
        @Argument(help: "CSV file with a header: entity_id,label[,time].") var file: String
        func run() async throws {
            try await runClient {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                let table = try CSVTable.parse(text)
                guard let e = table.column("entity_id"), let l = table.column("label") else {
                    throw ValidationError("\(file) needs the columns entity_id and label")
                }
                let t = table.column("time")
                var matched = 0, unmatched = 0
                var start = 0
                while start < table.rows.count {
                    let chunk = table.rows[start..<min(start + 10_000, table.rows.count)]
                    let items: [JSONValue] = chunk.map { row in
                        var o: [String: JSONValue] = ["entity_id": .string(row[e]), "label": .string(row[l])]
                        if let t, !row[t].isEmpty { o["time"] = Double(row[t]).map { .number($0) } ?? .string(row[t]) }
                        return .object(o)
                    }
                    let (v, _) = try await options.client().json(.POST, "/models/\(urlPath(model))/feedback", body: .object(["feedback": .array(items)]))
                    matched += v["matched"]?.intValue ?? 0
                    unmatched += v["unmatched"]?.intValue ?? 0
                    start += 10_000
                }
                if options.json { return printJSON(Array("{\"matched\":\(matched),\"unmatched\":\(unmatched)}".utf8)) }
                print("\(matched) labels joined to their predictions, \(unmatched) found no prediction")
            }
        }
    }
}

/// `keel monitor quality|drift MODEL`: live quality and drift from the server.
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "monitor", abstract: "Live quality and drift of a served model.", subcommands: [Quality.self, Drift.self])

    struct Quality: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Live quality from ground-truth labels.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Model name.") var model: String
        @Option(help: "Version or alias (default: production).") var version: String?
        @Option(help: "Rows (5000) or a duration (24h).") var window: String?
        func run() async throws {
            try await runClient {
                var query: [String] = []
                if let version { query.append("version=\(urlPath(version))") }
                if let window { query.append("window=\(urlPath(window))") }
                let (v, raw) = try await options.client().json(.GET, "/models/\(urlPath(model))/quality" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
                if options.json { return printJSON(raw) }
                print("\(model) v\(Table.text(v["version"])), window \(Table.text(v["window"])): \(Table.text(v["labelled"])) labelled, \(Table.text(v["unmatched"])) unmatched")
                let metrics = (v["metrics"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
                print(Table.render(["METRIC", "VALUE"], metrics.map { [$0.key, Table.text($0.value)] }))
            }
        }
    }

    struct Drift: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drift of recent predictions against the version's reference.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Model name.") var model: String
        @Option(help: "Version or alias (default: production).") var version: String?
        @Option(help: "Rows (5000) or a duration (24h); default: the latest background result.") var window: String?
        @Option(help: "Test every column with this method: ks, chisquare, z, wasserstein, jensenshannon, psi, kl_div.") var method: String?
        func run() async throws {
            try await runClient {
                var query: [String] = []
                if let version { query.append("version=\(urlPath(version))") }
                if let window { query.append("window=\(urlPath(window))") }
                if let method { query.append("method=\(urlPath(method))") }
                let (v, raw) = try await options.client().json(.GET, "/models/\(urlPath(model))/drift" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
                if options.json { return printJSON(raw) }
                printDrift(v)
            }
        }
    }
}

/// A drift report as a table.
func printDrift(_ v: JSONValue) {
    print("dataset drift: \(v["dataset_drift"] == .bool(true) ? "YES" : "no") (\(Table.text(v["drifted_columns"])) columns, share \(Table.text(v["drift_share"])))")
    var rows = (v["columns"]?.arrayValue ?? []).map { c in
        [Table.text(c["name"]), Table.text(c["kind"]), Table.text(c["method"]), Table.text(c["score"]), Table.text(c["threshold"]),
         c["drifted"] == .bool(true) ? "DRIFT" : (c["drifted"] == .null ? Table.text(c["note"]) : "-")]
    }
    if let p = v["prediction"], p != .null {
        rows.append(["(prediction)", "numerical", Table.text(p["method"]), Table.text(p["score"]), Table.text(p["threshold"]), p["drifted"] == .bool(true) ? "DRIFT" : "-"])
    }
    print(Table.render(["COLUMN", "KIND", "METHOD", "SCORE", "THRESHOLD", "VERDICT"], rows))
}
