import Foundation
import Hummingbird
import KeelCore
import KeelRegistry
import KeelStore

/// `/api/v1/models/{model}/rollouts`: start a rollout, watch it, pause, resume, promote or
/// abort it. Changes need the deployer role; every one is audited.
struct RolloutRoutes {
    let registry: Registry
    let maxBodyBytes: Int

    func register(on routes: KeelRoutes) {
        routes.post("/api/v1/models/{model}/rollouts", .deployer, "Start a rollout of a version against production", doc: .json(
            .ref("Rollout"), "The candidate gets the `candidate` alias and the first step's share of unversioned traffic; 409 while another rollout is active.",
            parameters: [.model], body: .json(.ref("RolloutRequest"), "The plan", example: .object([
                "version": 2, "strategy": "canary", "steps": .array([10, 50, 100]), "interval": 30,
                "checks": .array(["p95_latency_ms < 20", "roc_auc >= stable * 0.98"]), "failure_limit": 2, "min_samples": 200,
            ])), status: 201, errors: [.notFound, .conflict])) { request, context in
            let who = try context.caller()
            let plan = try Self.plan(model: try context.modelName(), try await RequestBody.collect(request, limit: maxBodyBytes))
            let r = try await registry.startRollout(plan, by: who)
            return JSONResponse.value(try await view(r), status: .created)
        }
        routes.get("/api/v1/models/{model}/rollouts", .viewer, "A model's rollouts, newest first",
            doc: .json(.ref("RolloutList"), parameters: [.model], errors: [.notFound])) { _, context in
            let name = try context.modelName()
            _ = try await registry.model(name)
            return JSONResponse.value(.object(["rollouts": .array(try await registry.rollouts(name).map(\.json))]))
        }
        routes.get("/api/v1/models/{model}/rollouts/current", .viewer, "The active (else the newest) rollout with its decision history",
            doc: .json(.ref("Rollout"), parameters: [.model], errors: [.notFound])) { _, context in
            let name = try context.modelName()
            guard let r = try await registry.currentRollout(name) else { throw KeelError.notFound("model '\(name)' has no rollout") }
            return JSONResponse.value(try await view(r))
        }
        for (action, summary, detail) in [
            ("pause", "Pause the active rollout", "Keeps the current weight; analyses stop until resumed."),
            ("resume", "Resume a paused rollout", "The current step starts again."),
            ("promote", "Promote the candidate now", "Skips the remaining steps; the same gates as a manual promotion apply (409 names failing ones)."),
            ("abort", "Abort the active rollout", "The candidate leaves traffic; the stable version serves everything."),
        ] {
            routes.post("/api/v1/models/{model}/rollouts/current/\(action)", .deployer, summary,
                doc: .json(.ref("Rollout"), detail, parameters: [.model], errors: [.notFound, .conflict])) { _, context in
                let who = try context.caller()
                let change: Registry.RolloutAction = switch action {
                case "pause": .pause
                case "resume": .resume
                case "promote": .promote
                default: .abort
                }
                let r = try await registry.changeRollout(try context.modelName(), change, by: who)
                return JSONResponse.value(try await view(r))
            }
        }
    }

    func view(_ r: Rollout) async throws(KeelError) -> JSONValue {
        guard case .object(var o) = r.json else { return r.json }
        let formatter = ISO8601DateFormatter()
        o["events"] = .array(try await registry.rolloutEvents(r.id).map { e in
            var details: JSONValue = .null
            if let text = e.details { details = (try? JSONParser.parse(Array(text.utf8), errorCode: .internal)) ?? .null }
            return .object([
                "id": .number(Double(e.id)), "at": .string(formatter.string(from: e.at)), "kind": .string(e.kind), "message": .string(e.message),
                "details": details,
            ])
        })
        return .object(o)
    }

    /// The request body as a plan, every field bounded (the registry checks the ranges).
    static func plan(model: String, _ bytes: [UInt8]) throws(KeelError) -> RolloutPlan {
        let body = try JSONBody(bytes)
        let known: Set = ["version", "strategy", "steps", "interval", "checks", "failure_limit", "min_samples", "sticky", "inconclusive_deadline"]
        if let unknown = body.value.keys.sorted().first(where: { !known.contains($0) }) {
            throw KeelError.invalidInput("unknown field '\(unknown)'; a rollout takes \(known.sorted().joined(separator: ", "))")
        }
        guard let version = try body.int("version") else { throw KeelError.invalidInput("missing 'version'") }
        guard version >= 1 else { throw KeelError.invalidInput("'version' must be a version number (1 or more)") }
        var plan = RolloutPlan(model: model, version: version)
        if let s = try body.string("strategy") {
            guard let strategy = Rollout.Strategy(rawValue: s), strategy != .experiment else {
                throw KeelError.invalidInput("unknown strategy '\(s)'; use \(Rollout.Strategy.rollouts.map(\.rawValue).joined(separator: " or ")) (experiments start with POST /api/v1/models/{model}/experiments)")
            }
            plan.strategy = strategy
            if strategy == .blueGreen { plan.steps = [0, 100] }
        }
        if let v = body.value["steps"], v != .null {
            guard plan.strategy != .blueGreen else { throw KeelError.invalidInput("'steps' apply to canary and shadow rollouts (blue-green is 0 % then 100 %)") }
            guard let list = v.arrayValue, list.count <= 100 else { throw KeelError.invalidInput("'steps' must be an array of at most 100 percentages") }
            plan.steps = try list.enumerated().map { i, x throws(KeelError) in
                guard let d = x.doubleValue else { throw KeelError.invalidInput("steps[\(i)] must be a number") }
                return d
            }
        }
        if let d = try number(body, "interval") { plan.interval = d }
        if let v = body.value["checks"], v != .null {
            guard let list = v.arrayValue, list.count <= 32 else { throw KeelError.invalidInput("'checks' must be an array of at most 32 strings") }
            plan.checks = try list.enumerated().map { i, x throws(KeelError) in
                guard let s = x.stringValue else { throw KeelError.invalidInput("checks[\(i)] must be a string such as 'p95_latency_ms < 20'") }
                return try RolloutCheck.parse(s)
            }
        }
        if let n = try body.int("failure_limit") { plan.failureLimit = n }
        if let n = try body.int("min_samples") { plan.minSamples = n }
        if body.value["sticky"] != nil { plan.sticky = try body.bool("sticky") }
        plan.inconclusiveDeadline = try number(body, "inconclusive_deadline") ?? max(600, 10 * plan.interval)
        return plan
    }

    static func number(_ body: JSONBody, _ key: String) throws(KeelError) -> Double? {
        guard let v = body.value[key], v != .null else { return nil }
        guard let d = v.doubleValue, d.isFinite else { throw KeelError.invalidInput("'\(key)' must be a number") }
        return d
    }
}
