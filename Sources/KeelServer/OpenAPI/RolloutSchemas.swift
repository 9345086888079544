import KeelCore
import KeelRegistry

extension ComponentSchemas {
    static let rollouts: [String: S] = [
        "RolloutRequest": .object([
            "version": S.integer(minimum: 1).described("The candidate version"),
            "strategy": S.string(oneOf: Rollout.Strategy.rollouts.map(\.rawValue)).described("canary (default), blue-green (0 % then 100 %) or shadow (steps are the share of traffic copied to the candidate)"),
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
        "ExperimentArm": .object([
            "name": S.string(pattern: "^[a-z0-9_-]{1,32}$"), "version": S.integer(minimum: 1),
            "weight": S.number.described("Percent of unversioned traffic (default: equal shares); the arms add up to 100"),
        ], required: ["name", "version"], closed: true),
        "ExperimentRequest": .object([
            "arms": S.array(.ref("ExperimentArm"), minItems: 2).described("2 to 10 arms, each its own version; the first is the control"),
            "metric": S.string(oneOf: ExperimentDesign.metrics.keys.sorted()).described("label_mean (the mean outcome, e.g. a conversion rate) or a quality metric from feedback"),
            "goal": S.string(oneOf: ["maximize", "minimize"]).described("Whether higher is better (default: the metric's natural direction; label_mean maximizes)"),
            "minimum_detectable_effect": S.number.described("Absolute difference to detect; the verdict waits for the sample size it needs and can then be no_difference"),
            "alpha": S.number.described("Two-sided level (default 0.05, Bonferroni-corrected over the comparisons)"),
            "power": S.number.described("Power at the minimum detectable effect (default 0.8)"),
            "min_samples": S.integer(minimum: 2).described("Labelled predictions each arm needs before any verdict (default 100)"),
            "sticky": S.boolean.described("Assign by entity id (default true) rather than per request"),
        ], required: ["arms", "metric"], closed: true),
        "ExperimentStop": .object(["promote": S.boolean.described("Promote the winning arm's version (409 without a winner)")], closed: true),
        "Experiment": .object([
            "id": .integer, "model": .string, "strategy": .string, "stable_version": S.string.described("Production when it started"),
            "state": S.string(oneOf: Rollout.State.allCases.map(\.rawValue)), "arms": .array(.ref("ExperimentArm")), "design": .object([:]),
            "sticky": .boolean, "started_at": .dateTime, "created_by": .string, "reason": .string,
            "result": S.object([
                "verdict": .string(oneOf: ["winner", "no_difference", "undecided"]), "winner": S.string.orNull, "reason": .string,
                "metric": .string, "goal": .string, "level": .number, "arms": .array(.object([:])), "comparisons": .array(.object([:])),
            ]).described("The analysis: per arm the metric with its confidence interval, per treatment the test, p-value, interval of the difference and the samples still needed"),
            "events": .array(.ref("RolloutEvent")),
        ], required: ["id", "model", "state", "arms", "design"]),
        "ExperimentList": .object(["experiments": .array(.object([:]))], required: ["experiments"]),
    ]
}
