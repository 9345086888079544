import KeelCore
import KeelRegistry

extension ComponentSchemas {
    static let rollouts: [String: S] = [
        "RolloutRequest": .object([
            "version": S.integer(minimum: 1).described("The candidate version"),
            "strategy": S.string(oneOf: Rollout.Strategy.allCases.map(\.rawValue)).described("canary (default), blue-green (0 % then 100 %) or shadow (steps are the share of traffic copied to the candidate)"),
            "steps": S.array(.number, minItems: 1).described("Candidate traffic percent per step, non-decreasing, ending at 100 (default 5, 25, 50, 100)"),
            "interval": S.number.described("Seconds per step before its analysis (default 60)"),
            "checks": S.array(.string).described("'metric op value' or 'metric op stable * factor'; error_rate (5xx share), mean/p50/p95/p99_latency_ms, any other name is a live quality metric"),
            "failure_limit": S.integer(minimum: 1, maximum: 100).described("Failed analyses that roll back (default 2)"),
            "min_samples": S.integer(minimum: 1).described("Predictions (latency) or labels (quality) a check needs to pass or fail (default 100)"),
            "sticky": S.boolean.described("Assign by entity id (default true) rather than per request"),
            "inconclusive_deadline": S.number.described("Seconds of inconclusive analyses before pausing for a human"),
        ], required: ["version"], closed: true),
        "CheckResult": .object([
            "check": .string, "value": measured, "stable": measured, "samples": .integer,
            "verdict": .string(oneOf: ["pass", "fail", "inconclusive"]),
        ], required: ["check", "value", "stable", "samples", "verdict"]),
        "RolloutEvent": .object(["id": .integer, "at": .dateTime, "kind": .string, "message": .string, "details": S.any.orNull],
                                required: ["id", "at", "kind", "message"]),
        "Rollout": .object([
            "id": .integer, "model": .string, "strategy": .string, "candidate_version": .string, "stable_version": .string,
            "state": S.string(oneOf: Rollout.State.allCases.map(\.rawValue)), "steps": .array(.number), "step": .integer,
            "weight": S.number.described("The candidate's traffic percent now"), "mirror": S.number.described("The percent of traffic copied to a shadow candidate"), "interval": .number, "checks": .array(.string),
            "failure_limit": .integer, "failures": .integer, "min_samples": .integer, "sticky": .boolean, "inconclusive_deadline": .number,
            "step_started_at": .dateTime, "created_by": .string, "analysis": .array(.ref("CheckResult")),
            "reason": S.string.described("Why it paused or ended"), "events": S.array(.ref("RolloutEvent")).described("The decision history (single rollout views)"),
        ], required: ["id", "model", "strategy", "candidate_version", "stable_version", "state", "weight", "checks", "analysis"]),
        "RolloutList": .object(["rollouts": .array(.ref("Rollout"))], required: ["rollouts"]),
    ]
}
