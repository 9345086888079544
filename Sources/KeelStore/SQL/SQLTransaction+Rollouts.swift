import Foundation
import KeelCore

/// Rollouts and their history: one row per rollout holding its document, one per event.
extension SQLTransaction {
    public func rollouts(model: String, limit: Int) async throws(KeelError) -> [RolloutRecord] {
        try await query("SELECT * FROM rollouts WHERE model = ? ORDER BY id DESC LIMIT ?", [.text(model), .int(Int64(max(0, min(limit, 1000))))])
            .map(Self.rollout)
    }

    public func activeRollouts() async throws(KeelError) -> [RolloutRecord] {
        try await query("SELECT * FROM rollouts WHERE state IN ('running', 'paused') ORDER BY id").map(Self.rollout)
    }

    public func rollout(id: Int64) async throws(KeelError) -> RolloutRecord? {
        try await queryOne("SELECT * FROM rollouts WHERE id = ?", [.int(id)]).map(Self.rollout)
    }

    public func rolloutEvents(rolloutID: Int64, limit: Int) async throws(KeelError) -> [RolloutEventRecord] {
        let rows = try await query(
            "SELECT * FROM rollout_events WHERE rollout_id = ? ORDER BY id DESC LIMIT ?", [.int(rolloutID), .int(Int64(max(0, min(limit, 10_000))))])
        return rows.reversed().map { r in
            RolloutEventRecord(
                id: r["id"]?.int ?? 0, rolloutID: r["rollout_id"]?.int ?? 0, at: r.date("at"), kind: r.string("kind"),
                message: r.string("message"), details: r.optionalString("details"))
        }
    }

    public func createRollout(_ r: RolloutRecord) async throws(KeelError) -> Int64 {
        try await queryOne(
            "INSERT INTO rollouts (model, state, document, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            [.text(r.model), .text(r.state), .text(r.document), .date(r.createdAt), .date(r.updatedAt)]
        )?["id"]?.int ?? 0
    }

    public func updateRollout(id: Int64, state: String, document: String, at: Date) async throws(KeelError) {
        guard try await queryOne("SELECT id FROM rollouts WHERE id = ?", [.int(id)]) != nil else {
            throw KeelError.notFound("no rollout \(id)")
        }
        try await execute("UPDATE rollouts SET state = ?, document = ?, updated_at = ? WHERE id = ?", [.text(state), .text(document), .date(at), .int(id)])
    }

    public func appendRolloutEvent(_ e: RolloutEventRecord) async throws(KeelError) -> Int64 {
        try await queryOne(
            "INSERT INTO rollout_events (rollout_id, at, kind, message, details) VALUES (?, ?, ?, ?, ?) RETURNING id",
            [.int(e.rolloutID), .date(e.at), .text(e.kind), .text(e.message), .optional(e.details)]
        )?["id"]?.int ?? 0
    }

    public func rolloutOutcomes(rolloutID: Int64, step: Int) async throws(KeelError) -> [String: RolloutOutcomeRecord] {
        let rows = try await query(
            """
            SELECT version, CAST(SUM(requests) AS BIGINT) AS requests, CAST(SUM(errors) AS BIGINT) AS errors,
                CAST(SUM(compared) AS BIGINT) AS compared, CAST(SUM(agreed) AS BIGINT) AS agreed,
                SUM(abs_diff_sum) AS abs_diff_sum, MAX(abs_diff_max) AS abs_diff_max, CAST(SUM(trips) AS BIGINT) AS trips
            FROM rollout_outcomes WHERE rollout_id = ? AND step = ? GROUP BY version
            """,
            [.int(rolloutID), .int(Int64(step))])
        var out: [String: RolloutOutcomeRecord] = [:]
        for r in rows {
            let version = r.string("version")
            out[version] = RolloutOutcomeRecord(
                rolloutID: rolloutID, step: step, version: version, requests: r["requests"]?.int ?? 0, errors: r["errors"]?.int ?? 0,
                compared: r["compared"]?.int ?? 0, agreed: r["agreed"]?.int ?? 0, absDiffSum: r["abs_diff_sum"]?.double ?? 0,
                absDiffMax: r["abs_diff_max"]?.double ?? 0, trips: r["trips"]?.int ?? 0)
        }
        return out
    }

    public func saveRolloutOutcomes(replica: String, _ outcomes: [RolloutOutcomeRecord], at: Date) async throws(KeelError) {
        for o in outcomes {
            try await execute(
                """
                INSERT INTO rollout_outcomes (rollout_id, step, replica, version, requests, errors, compared, agreed, abs_diff_sum, abs_diff_max, trips, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (rollout_id, step, replica, version) DO UPDATE SET requests = excluded.requests, errors = excluded.errors,
                    compared = excluded.compared, agreed = excluded.agreed, abs_diff_sum = excluded.abs_diff_sum,
                    abs_diff_max = excluded.abs_diff_max, trips = excluded.trips, updated_at = excluded.updated_at
                """,
                [.int(o.rolloutID), .int(Int64(o.step)), .text(replica), .text(o.version), .int(o.requests), .int(o.errors), .int(o.compared),
                 .int(o.agreed), .double(o.absDiffSum.isFinite ? o.absDiffSum : 0), .double(o.absDiffMax.isFinite ? o.absDiffMax : 0), .int(o.trips), .date(at)])
        }
    }

    static func rollout(_ r: SQLRow) -> RolloutRecord {
        RolloutRecord(
            id: r["id"]?.int ?? 0, model: r.string("model"), state: r.string("state"), document: r.string("document"),
            createdAt: r.date("created_at"), updatedAt: r.date("updated_at"))
    }
}
