import ArgumentParser
import Foundation
import KeelCore

/// `keel rollout`: start, watch and steer a model's rollout (spellings pipelines can script).
struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout", abstract: "Start, watch, pause, resume, promote or abort a model's rollout.",
        subcommands: [Start.self, Status.self, Action.Pause.self, Action.Resume.self, Action.Promote.self, Action.Abort.self])

    /// `30s`, `5m`, `1h`, `2d` or plain seconds.
    static func seconds(_ text: String, _ what: String) throws -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        var number = Substring(text)
        var factor = 1.0
        if let last = text.last, let u = units[last] {
            factor = u
            number = number.dropLast()
        }
        guard let v = Double(number), v.isFinite, v > 0 else { throw ValidationError("\(what) must be a duration such as 30s, 5m or 1h") }
        return v * factor
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Roll VERSION of MODEL out against its production version.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Model name.") var model: String
        @Argument(help: "Candidate version number.") var version: Int
        @Option(help: "canary, blue-green or shadow.") var strategy: String = "canary"
        @Option(help: "Candidate traffic percent per step, e.g. 10,50,100 (canary).") var steps: String?
        @Option(help: "Time per step before its analysis: 30s, 5m, 1h.") var interval: String = "60s"
        @Option(name: .customLong("check"), help: "'metric op value' or 'metric op stable * factor' (repeatable).") var checks: [String] = []
        @Option(help: "Samples a check needs to pass or fail.") var minSamples: Int?
        @Option(help: "Failed analyses that roll back.") var failureLimit: Int?
        @Option(help: "Inconclusive time after which the rollout pauses for a human: 10m, 1h.") var inconclusiveDeadline: String?
        @Flag(help: "Assign each request at random instead of sticky by entity id.") var random = false

        func run() async throws {
            var body: [String: JSONValue] = [
                "version": .number(Double(version)), "strategy": .string(strategy),
                "interval": .number(try RolloutCommand.seconds(interval, "--interval")), "checks": .array(checks.map { .string($0) }),
                "sticky": .bool(!random),
            ]
            if let steps {
                let list = try steps.split(separator: ",").map { s -> JSONValue in
                    guard let d = Double(s.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--steps must be numbers like 10,50,100") }
                    return .number(d)
                }
                body["steps"] = .array(list)
            }
            if let minSamples { body["min_samples"] = .number(Double(minSamples)) }
            if let failureLimit { body["failure_limit"] = .number(Double(failureLimit)) }
            if let inconclusiveDeadline { body["inconclusive_deadline"] = .number(try RolloutCommand.seconds(inconclusiveDeadline, "--inconclusive-deadline")) }
            try await runClient {
                let (v, raw) = try await options.client().json(.POST, "/models/\(urlPath(model))/rollouts", body: .object(body))
                if options.json { return printJSON(raw) }
                printRollout(v)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The model's current rollout: state, weight, each check and the decisions.",
            discussion: "With --wait: exits 0 when promoted, 1 when rolled back or aborted, 2 on timeout or when paused for a human.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Model name.") var model: String
        @Flag(help: "Print the status again every few seconds until the rollout ends.") var watch = false
        @Flag(help: "Block until the rollout ends (see the exit codes).") var wait = false
        @Option(help: "How long --wait waits: 30m, 2h.") var timeout: String = "30m"

        func run() async throws {
            let limit = try RolloutCommand.seconds(timeout, "--timeout")
            let deadline = Date().addingTimeInterval(limit)
            try await runClient {
                while true {
                    let (v, raw) = try await options.client().json(.GET, "/models/\(urlPath(model))/rollouts/current")
                    let state = v["state"]?.stringValue ?? ""
                    if !wait || watch || ["promoted", "rolled_back", "aborted", "paused"].contains(state) {
                        if options.json { printJSON(raw) } else { printRollout(v) }
                    }
                    if !wait && !watch { return }
                    switch state {
                    case "promoted": throw ExitCode(0)
                    case "rolled_back", "aborted": throw ExitCode(wait ? 1 : 0)
                    case "paused" where wait: throw ExitCode(2)
                    default: break
                    }
                    if wait, Date() >= deadline {
                        FileHandle.standardError.write(Data("timed out after \(timeout) with the rollout \(state)\n".utf8))
                        throw ExitCode(2)
                    }
                    try await Task.sleep(for: .seconds(2))
                }
            }
        }
    }

    enum Action {
        static func run(_ options: ClientOptions, _ model: String, _ action: String) async throws {
            try await runClient {
                let (v, raw) = try await options.client().json(.POST, "/models/\(urlPath(model))/rollouts/current/\(action)")
                if options.json { return printJSON(raw) }
                printRollout(v)
            }
        }

        struct Pause: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Pause the rollout at its current weight.")
            @OptionGroup var options: ClientOptions
            @Argument(help: "Model name.") var model: String
            func run() async throws { try await Action.run(options, model, "pause") }
        }

        struct Resume: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Resume a paused rollout (its step starts again).")
            @OptionGroup var options: ClientOptions
            @Argument(help: "Model name.") var model: String
            func run() async throws { try await Action.run(options, model, "resume") }
        }

        struct Promote: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Promote the candidate now (production gates apply).")
            @OptionGroup var options: ClientOptions
            @Argument(help: "Model name.") var model: String
            func run() async throws { try await Action.run(options, model, "promote") }
        }

        struct Abort: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Abort the rollout; the stable version serves everything.")
            @OptionGroup var options: ClientOptions
            @Argument(help: "Model name.") var model: String
            func run() async throws { try await Action.run(options, model, "abort") }
        }
    }
}

/// A rollout for people: the headline, the checks' latest values, the decision history.
func printRollout(_ v: JSONValue) {
    print("rollout \(Table.text(v["id"])) of \(Table.text(v["model"])): \(Table.text(v["strategy"])) v\(Table.text(v["candidate_version"])) against v\(Table.text(v["stable_version"])), \(Table.text(v["state"])), candidate at \(Table.text(v["weight"])) % (step \(Table.text(v["step"])) of \(Table.text(v["steps"])), failures \(Table.text(v["failures"]))/\(Table.text(v["failure_limit"])))")
    if let reason = v["reason"]?.stringValue { print("reason: \(reason)") }
    let analysis = v["analysis"]?.arrayValue ?? []
    if !analysis.isEmpty {
        print(Table.render(["CHECK", "VALUE", "STABLE", "SAMPLES", "VERDICT"], analysis.map { r in
            [Table.text(r["check"]), Table.text(r["value"]), Table.text(r["stable"]), Table.text(r["samples"]), Table.text(r["verdict"])]
        }))
    }
    let events = v["events"]?.arrayValue ?? []
    if !events.isEmpty {
        print(Table.render(["AT", "EVENT", "MESSAGE"], events.suffix(20).map { [Table.text($0["at"]), Table.text($0["kind"]), Table.text($0["message"])] }))
    }
}
