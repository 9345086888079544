import ArgumentParser
import Foundation
import KeelCore

/// `keel experiment`: start an A/B experiment, read its analysis, stop it.
struct ExperimentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment", abstract: "Start, read or stop a model's A/B experiment.", subcommands: [Start.self, Status.self, Stop.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Split MODEL's traffic over fixed-weight arms and judge them on a feedback metric.",
            discussion: "keel experiment start churn --arm control=1:50 --arm treatment=2:50 --metric label_mean --goal minimize --mde 0.05")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Model name.") var model: String
        @Option(name: .customLong("arm"), help: "NAME=VERSION[:WEIGHT] (repeatable; the first is the control; weights default to equal shares).") var arms: [String] = []
        @Option(help: "label_mean, accuracy, precision, recall, roc_auc, log_loss, brier, mae or mse.") var metric: String
        @Option(help: "maximize or minimize (default: the metric's natural direction).") var goal: String?
        @Option(name: .customLong("mde"), help: "Minimum detectable effect (absolute), e.g. 0.02.") var minimumDetectableEffect: Double?
        @Option(help: "Two-sided significance level.") var alpha: Double?
        @Option(help: "Power at the minimum detectable effect.") var power: Double?
        @Option(help: "Labelled predictions each arm needs before a verdict.") var minSamples: Int?
        @Flag(help: "Assign each request at random instead of sticky by entity id.") var random = false

        func run() async throws {
            guard arms.count >= 2 else { throw ValidationError("give at least two --arm NAME=VERSION[:WEIGHT]") }
            let list = try arms.map { text -> JSONValue in
                let parts = text.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { throw ValidationError("--arm '\(text)' must read NAME=VERSION[:WEIGHT]") }
                let rhs = parts[1].split(separator: ":", maxSplits: 1)
                guard let version = Int(rhs[0]) else { throw ValidationError("--arm '\(text)': the version must be a number") }
                var arm: [String: JSONValue] = ["name": .string(String(parts[0])), "version": .number(Double(version))]
                if rhs.count == 2 {
                    guard let w = Double(rhs[1]) else { throw ValidationError("--arm '\(text)': the weight must be a number") }
                    arm["weight"] = .number(w)
                }
                return .object(arm)
            }
            var body: [String: JSONValue] = ["arms": .array(list), "metric": .string(metric), "sticky": .bool(!random)]
            if let goal { body["goal"] = .string(goal) }
            if let minimumDetectableEffect { body["minimum_detectable_effect"] = .number(minimumDetectableEffect) }
            if let alpha { body["alpha"] = .number(alpha) }
            if let power { body["power"] = .number(power) }
            if let minSamples { body["min_samples"] = .number(Double(minSamples)) }
            try await runClient {
                let (v, raw) = try await options.client().json(.POST, "/models/\(urlPath(model))/experiments", body: .object(body))
                if options.json { return printJSON(raw) }
                printExperiment(v)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The model's current experiment with its analysis now.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Model name.") var model: String

        func run() async throws {
            try await runClient {
                let (v, raw) = try await options.client().json(.GET, "/models/\(urlPath(model))/experiments/current")
                if options.json { return printJSON(raw) }
                printExperiment(v)
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the experiment; with --promote the winning arm becomes production.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Model name.") var model: String
        @Flag(help: "Promote the winner (fails when there is none yet).") var promote = false

        func run() async throws {
            try await runClient {
                let (v, raw) = try await options.client().json(
                    .POST, "/models/\(urlPath(model))/experiments/current/stop", body: .object(["promote": .bool(promote)]))
                if options.json { return printJSON(raw) }
                printExperiment(v)
            }
        }
    }
}

/// An experiment for people: arms with their metric, the comparisons, the verdict.
func printExperiment(_ v: JSONValue) {
    let design = v["design"] ?? .null
    print("experiment \(Table.text(v["id"])) of \(Table.text(v["model"])): \(Table.text(v["state"])), metric \(Table.text(design["metric"])) (\(Table.text(design["goal"])))")
    if let reason = v["reason"]?.stringValue { print("reason: \(reason)") }
    guard let result = v["result"], result != .null else { return }
    print(Table.render(["ARM", "VERSION", "SAMPLES", "VALUE", "CI LOWER", "CI UPPER"], (result["arms"]?.arrayValue ?? []).map { a in
        [Table.text(a["name"]), Table.text(a["version"]), Table.text(a["samples"]), Table.text(a["value"]), Table.text(a["ci_lower"]), Table.text(a["ci_upper"])]
    }))
    let comparisons = result["comparisons"]?.arrayValue ?? []
    if !comparisons.isEmpty {
        print(Table.render(["ARM", "VS", "DIFFERENCE", "CI LOWER", "CI UPPER", "P", "NEEDED/ARM", "TEST"], comparisons.map { c in
            [Table.text(c["arm"]), Table.text(c["vs"]), Table.text(c["difference"]), Table.text(c["ci_lower"]), Table.text(c["ci_upper"]),
             Table.text(c["p_value"]), Table.text(c["required_samples"]), Table.text(c["test"])]
        }))
    }
    print("verdict: \(Table.text(result["verdict"]))\(result["winner"]?.stringValue.map { " (\($0))" } ?? ""): \(Table.text(result["reason"]))")
}
