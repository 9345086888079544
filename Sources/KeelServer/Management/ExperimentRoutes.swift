import Foundation
import Hummingbird
import KeelCore
import KeelMonitoring
import KeelRegistry
import KeelServing
import KeelStore

/// `/api/v1/models/{model}/experiments`: start an A/B experiment, read its live analysis, stop
/// it (promoting the winner when asked). Changes need the deployer role; every one is audited.
struct ExperimentRoutes {
    let registry: Registry
    let judge: ExperimentJudge
    let maxBodyBytes: Int

    func register(on routes: KeelRoutes) {
        routes.post("/api/v1/models/{model}/experiments", .deployer, "Start an A/B experiment", doc: .json(
            .ref("Experiment"), "Unversioned traffic is split over the arms by their fixed weights (sticky by entity id unless `sticky` is false); 409 while a rollout or experiment is active.",
            parameters: [.model], body: .json(.ref("ExperimentRequest"), "The design", example: .object([
                "arms": .array([
                    .object(["name": "control", "version": 1, "weight": 50]), .object(["name": "treatment", "version": 2, "weight": 50]),
                ]),
                "metric": "label_mean", "goal": "minimize", "minimum_detectable_effect": 0.05, "min_samples": 200,
            ])), status: 201, errors: [.notFound, .conflict])) { request, context in
            let who = try context.caller()
            let plan = try Self.plan(model: try context.modelName(), try await RequestBody.collect(request, limit: maxBodyBytes))
            let r = try await registry.startExperiment(plan, by: who)
            return JSONResponse.value(try await view(r), status: .created)
        }
        routes.get("/api/v1/models/{model}/experiments", .viewer, "A model's experiments, newest first",
            doc: .json(.ref("ExperimentList"), parameters: [.model], errors: [.notFound])) { _, context in
            let name = try context.modelName()
            _ = try await registry.model(name)
            return JSONResponse.value(.object(["experiments": .array(try await registry.rollouts(name, experiment: true).map(\.json))]))
        }
        routes.get("/api/v1/models/{model}/experiments/current", .viewer, "The active (else the newest) experiment with its analysis now",
            doc: .json(.ref("Experiment"), "A running experiment is analysed on every call from the labelled predictions of all replicas; an ended one shows its last analysis.",
                       parameters: [.model], errors: [.notFound])) { _, context in
            let name = try context.modelName()
            guard let r = try await registry.currentRollout(name, experiment: true) else { throw KeelError.notFound("model '\(name)' has no experiment") }
            return JSONResponse.value(try await view(r))
        }
        routes.post("/api/v1/models/{model}/experiments/current/stop", .deployer, "Stop the active experiment", doc: .json(
            .ref("Experiment"), "Keeps the final analysis with it. With `promote: true` the winning arm's version becomes production through the promotion gates (409 when there is no winner yet or a gate fails; nothing stops then).",
            parameters: [.model], body: .json(.ref("ExperimentStop"), "Whether to promote the winner", example: .object(["promote": true])),
            errors: [.notFound, .conflict])) { request, context in
            let who = try context.caller()
            let name = try context.modelName()
            let body = try JSONBody(try await RequestBody.collect(request, limit: maxBodyBytes))
            if let unknown = body.value.keys.sorted().first(where: { $0 != "promote" }) {
                throw KeelError.invalidInput("unknown field '\(unknown)'; stopping takes promote")
            }
            let promote = try body.bool("promote")
            guard let r = try await registry.currentRollout(name, experiment: true), r.state.isActive else {
                throw KeelError.notFound("model '\(name)' has no active experiment")
            }
            let result = try await judge.analyse(r)
            var winner: Int?
            if promote {
                guard result.verdict == .winner, let w = result.winner, let arm = r.arms?.first(where: { $0.name == w }) else {
                    throw KeelError(.conflict, "experiment \(r.id) has no winner to promote: \(result.reason)")
                }
                winner = arm.version
            }
            var w = JSONWriter(nonFinite: .null)
            w.value(result.json)
            let stopped = try await registry.stopExperiment(
                name, promote: winner, result: String(decoding: w.bytes, as: UTF8.self), summary: "\(result.verdict.rawValue): \(result.reason)", by: who)
            return JSONResponse.value(try await view(stopped))
        }
    }

    /// The rollout view (with its decision history) without the canary fields, plus the
    /// analysis now while it runs.
    func view(_ r: Rollout) async throws(KeelError) -> JSONValue {
        guard case .object(var o) = try await RolloutRoutes(registry: registry, maxBodyBytes: maxBodyBytes).view(r) else { return r.json }
        for k in ["steps", "step", "weight", "mirror", "interval", "checks", "failure_limit", "failures", "inconclusive_deadline", "analysis", "candidate_version", "step_started_at"] {
            o[k] = nil
        }
        o["started_at"] = .string(ISO8601DateFormatter().string(from: r.stepStartedAt))
        if r.state.isActive { o["result"] = try await judge.analyse(r).json }
        return .object(o)
    }

    /// The request body as a plan, every field bounded (the registry checks the ranges).
    static func plan(model: String, _ bytes: [UInt8]) throws(KeelError) -> ExperimentPlan {
        let body = try JSONBody(bytes)
        let known: Set = ["arms", "metric", "goal", "minimum_detectable_effect", "alpha", "power", "min_samples", "sticky"]
        if let unknown = body.value.keys.sorted().first(where: { !known.contains($0) }) {
            throw KeelError.invalidInput("unknown field '\(unknown)'; an experiment takes \(known.sorted().joined(separator: ", "))")
        }
        guard let list = body.value["arms"]?.arrayValue, list.count <= 10 else {
            throw KeelError.invalidInput("'arms' must be an array of 2 to 10 {\"name\", \"version\", \"weight\"?} objects (the first is the control)")
        }
        var arms: [ExperimentArm] = []
        for (i, item) in list.enumerated() {
            guard let o = item.objectValue else { throw KeelError.invalidInput("arms[\(i)] must be an object") }
            if let unknown = o.keys.sorted().first(where: { !["name", "version", "weight"].contains($0) }) {
                throw KeelError.invalidInput("unknown field 'arms[\(i)].\(unknown)'; an arm takes name, version, weight")
            }
            guard let name = o["name"]?.stringValue else { throw KeelError.invalidInput("arms[\(i)].name must be a string") }
            guard let version = o["version"]?.intValue ?? o["version"]?.stringValue.flatMap({ Int($0) }) else {
                throw KeelError.invalidInput("arms[\(i)].version must be a version number")
            }
            var weight = 100 / Double(max(1, list.count))
            if let v = o["weight"], v != .null {
                guard let d = v.doubleValue, d.isFinite else { throw KeelError.invalidInput("arms[\(i)].weight must be a number") }
                weight = d
            }
            arms.append(ExperimentArm(name: name, version: version, weight: weight))
        }
        let metric = try body.requiredString("metric")
        var goal: ExperimentDesign.Goal?
        if let g = try body.string("goal") {
            guard let v = ExperimentDesign.Goal(rawValue: g) else { throw KeelError.invalidInput("'goal' must be maximize or minimize") }
            goal = v
        }
        var design = ExperimentDesign(metric: metric, goal: goal, minimumDetectableEffect: try RolloutRoutes.number(body, "minimum_detectable_effect"))
        if let a = try RolloutRoutes.number(body, "alpha") { design.alpha = a }
        if let p = try RolloutRoutes.number(body, "power") { design.power = p }
        if let n = try body.int("min_samples") { design.minSamples = n }
        var plan = ExperimentPlan(model: model, arms: arms, design: design)
        if body.value["sticky"] != nil { plan.sticky = try body.bool("sticky") }
        return plan
    }
}
