import Foundation
import KeelCore

/// Monitoring reads and writes. Bulk inserts put many rows in one statement (bounded by the
/// placeholders a statement may hold); bulk reads page by id so no window is read at once.
extension SQLTransaction {
    /// Rows per multi-row INSERT: 14 columns × 60 stays far below both databases' limits.
    static let rowsPerInsert = 60

    // MARK: Reads

    public func predictions(_ q: PredictionQuery) async throws(KeelError) -> [PredictionLogRecord] {
        var sql = "SELECT * FROM prediction_log WHERE model = ?"
        var args: [SQLValue] = [.text(q.model)]
        if let v = q.version { sql += " AND version = ?"; args.append(.text(v)) }
        if let e = q.entityID { sql += " AND entity_id = ?"; args.append(.text(e)) }
        if let s = q.since { sql += " AND at >= ?"; args.append(.date(s)) }
        if let b = q.beforeID { sql += " AND id < ?"; args.append(.int(b)) }
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(.int(Int64(max(0, min(q.limit, 100_000)))))
        return try await query(sql, args).map(RowDecoding.prediction)
    }

    public func latestPrediction(model: String, entityID: String, atOrBefore time: Date) async throws(KeelError) -> PredictionLogRecord? {
        try await queryOne(
            "SELECT * FROM prediction_log WHERE model = ? AND entity_id = ? AND at <= ? ORDER BY at DESC, id DESC LIMIT 1",
            [.text(model), .text(entityID), .date(time)]
        ).map(RowDecoding.prediction)
    }

    public func predictionSignals(model: String, version: String, since: Date?, beforeID: Int64?, limit: Int) async throws(KeelError) -> [PredictionSignal] {
        let limit = max(0, min(limit, 1_000_000))
        let columns = ["id", "features", "encoded", "score"]
        func signals(_ rows: [[SQLValue]]) -> [PredictionSignal] {
            rows.map { r in PredictionSignal(id: r[0].int ?? 0, features: r[1].text, encoded: r[2].text, score: r[3].double) }
        }
        if dialect == .sqlite, limit > 0, let span = try await signalSpan(model: model, version: version, beforeID: beforeID, limit: limit),
           span.high - span.low < 2 * Int64(limit) {
            // The version holds most rows of the page's id range: walk the table in id order
            // over that range (`+` keeps SQLite off the indexes) rather than look every row
            // up from the index, which costs a B-tree search per row.
            var sql = "SELECT id, features, encoded, score FROM prediction_log WHERE id >= ? AND id <= ? AND +model = ? AND +version = ?"
            var args: [SQLValue] = [.int(span.low), .int(span.high), .text(model), .text(version)]
            if let since { sql += " AND at >= ?"; args.append(.date(since)) }
            sql += " ORDER BY id DESC"
            return signals(try await queryRows(sql, args, columns: columns))
        }
        var sql = "SELECT id, features, encoded, score FROM prediction_log WHERE model = ? AND version = ?"
        var args: [SQLValue] = [.text(model), .text(version)]
        if let since { sql += " AND at >= ?"; args.append(.date(since)) }
        if let beforeID { sql += " AND id < ?"; args.append(.int(beforeID)) }
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(.int(Int64(limit)))
        return signals(try await queryRows(sql, args, columns: columns))
    }

    /// The ids of the newest and the `limit`-th newest row of a version before `beforeID`,
    /// read from the (model, version, id) index alone; nil when fewer rows remain.
    private func signalSpan(model: String, version: String, beforeID: Int64?, limit: Int) async throws(KeelError) -> (low: Int64, high: Int64)? {
        var filter = " FROM prediction_log WHERE model = ? AND version = ?"
        var args: [SQLValue] = [.text(model), .text(version)]
        if let beforeID { filter += " AND id < ?"; args.append(.int(beforeID)) }
        guard let high = try await queryRows("SELECT id" + filter + " ORDER BY id DESC LIMIT 1", args, columns: ["id"]).first?.first?.int,
              let low = try await queryRows("SELECT id" + filter + " ORDER BY id DESC LIMIT 1 OFFSET ?", args + [.int(Int64(limit - 1))], columns: ["id"]).first?.first?.int
        else { return nil }
        return (low, high)
    }

    public func labelledPredictions(model: String, version: String, since: Date?, beforeID: Int64?, limit: Int, withOutputs: Bool) async throws(KeelError) -> [FeedbackRecord] {
        let columns = ["prediction_id", "arm", "entity_id", "predicted_at", "score", "predicted_label", "label", "label_value", "label_at", "received_at"]
            + (withOutputs ? ["outputs"] : [])
        var sql = "SELECT \(columns.joined(separator: ", ")) FROM feedback WHERE model = ? AND version = ?"
        var args: [SQLValue] = [.text(model), .text(version)]
        if let since { sql += " AND predicted_at >= ?"; args.append(.date(since)) }
        if let beforeID { sql += " AND prediction_id < ?"; args.append(.int(beforeID)) }
        sql += " ORDER BY prediction_id DESC LIMIT ?"
        args.append(.int(Int64(max(0, min(limit, 1_000_000)))))
        return try await queryRows(sql, args, columns: columns).map { r in
            FeedbackRecord(
                predictionID: r[0].int ?? 0, model: model, version: version, arm: r[1].text ?? "", entityID: r[2].text ?? "",
                predictedAt: Date(timeIntervalSince1970: r[3].double ?? 0), score: r[4].double, predictedLabel: r[5].text,
                outputs: withOutputs ? (r[10].text ?? "") : "", label: r[6].text ?? "", labelValue: r[7].double,
                labelAt: Date(timeIntervalSince1970: r[8].double ?? 0), receivedAt: Date(timeIntervalSince1970: r[9].double ?? 0))
        }
    }

    public func unmatchedFeedbackCount(model: String, since: Date?) async throws(KeelError) -> Int {
        var sql = "SELECT COUNT(*) AS n FROM feedback_unmatched WHERE model = ?"
        var args: [SQLValue] = [.text(model)]
        if let since { sql += " AND received_at >= ?"; args.append(.date(since)) }
        return try await queryOne(sql, args)?.int("n") ?? 0
    }

    public func referenceProfile(model: String, version: String) async throws(KeelError) -> ReferenceProfileRecord? {
        try await queryOne(
            "SELECT * FROM reference_profiles WHERE model = ? AND version = ? ORDER BY id DESC LIMIT 1", [.text(model), .text(version)]
        ).map(RowDecoding.referenceProfile)
    }

    public func monitoringEvents(model: String?, since: Date?, limit: Int) async throws(KeelError) -> [MonitoringEventRecord] {
        var sql = "SELECT * FROM monitoring_events WHERE 1 = 1"
        var args: [SQLValue] = []
        if let model { sql += " AND model = ?"; args.append(.text(model)) }
        if let since { sql += " AND at >= ?"; args.append(.date(since)) }
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(.int(Int64(max(0, min(limit, 10_000)))))
        return try await query(sql, args).map(RowDecoding.event)
    }

    public func monitoringResult(model: String, version: String, kind: String) async throws(KeelError) -> MonitoringResultRecord? {
        try await queryOne(
            "SELECT * FROM monitoring_results WHERE model = ? AND version = ? AND kind = ?", [.text(model), .text(version), .text(kind)]
        ).map {
            MonitoringResultRecord(model: $0.string("model"), version: $0.string("version"), kind: $0.string("kind"),
                                   computedAt: $0.date("computed_at"), window: $0.string("window_spec"), report: $0.string("report"))
        }
    }

    public func lease(named name: String) async throws(KeelError) -> (holder: String, expiresAt: Date)? {
        try await queryOne("SELECT holder, expires_at FROM leases WHERE name = ?", [.text(name)]).map { ($0.string("holder"), $0.date("expires_at")) }
    }

    // MARK: Writes

    /// Inserts rows of values after `head` (`INSERT INTO t (…) VALUES `): on SQLite one
    /// prepared single-row statement bound per row, cheaper there than parsing a many-row
    /// statement per chunk; on PostgreSQL `rowsPerInsert` rows per statement.
    func insertRows(_ head: String, _ rows: [[SQLValue]], tail: String = "") async throws(KeelError) {
        guard let width = rows.first?.count else { return }
        let placeholders = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
        if dialect == .sqlite {
            try await executeEach(head + placeholders + tail, rows)
            return
        }
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + Self.rowsPerInsert, rows.count)]
            try await execute(head + Array(repeating: placeholders, count: chunk.count).joined(separator: ", ") + tail, chunk.flatMap { $0 })
            start += Self.rowsPerInsert
        }
    }

    public func appendPredictions(_ records: [PredictionLogRecord]) async throws(KeelError) {
        try await insertRows(
            "INSERT INTO prediction_log (at, model, version, arm, request_id, entity_id, record, features, encoded, outputs, score, label, latency_ms) VALUES ",
            records.map { r in
                [
                    .date(r.at), .text(r.model), .text(r.version), .text(r.arm), .text(r.requestID), .text(r.entityID),
                    .optional(r.record), .optional(r.features), .optional(r.encoded), .text(r.outputs), .optionalDouble(r.score),
                    .optional(r.label), .double(r.latencyMs.isFinite ? r.latencyMs : 0),
                ]
            })
    }

    public func saveFeedback(_ records: [FeedbackRecord]) async throws(KeelError) {
        // One row per prediction: within a batch the last label wins, as against the table.
        var latest: [Int64: FeedbackRecord] = [:]
        var order: [Int64] = []
        for r in records {
            if latest[r.predictionID] == nil { order.append(r.predictionID) }
            latest[r.predictionID] = r
        }
        try await insertRows(
            """
            INSERT INTO feedback (prediction_id, model, version, arm, entity_id, predicted_at, score, predicted_label, outputs, label,
                label_value, label_at, received_at) VALUES 
            """,
            order.compactMap { latest[$0] }.map { r in
                [
                    .int(r.predictionID), .text(r.model), .text(r.version), .text(r.arm), .text(r.entityID), .date(r.predictedAt),
                    .optionalDouble(r.score), .optional(r.predictedLabel), .text(r.outputs), .text(r.label), .optionalDouble(r.labelValue),
                    .date(r.labelAt), .date(r.receivedAt),
                ]
            },
            tail: """
             ON CONFLICT (prediction_id) DO UPDATE SET label = excluded.label, label_value = excluded.label_value,
                label_at = excluded.label_at, received_at = excluded.received_at
            """)
    }

    public func appendUnmatchedFeedback(_ records: [UnmatchedFeedbackRecord]) async throws(KeelError) {
        try await insertRows(
            "INSERT INTO feedback_unmatched (model, entity_id, label, label_at, received_at) VALUES ",
            records.map { r in [.text(r.model), .text(r.entityID), .text(r.label), .date(r.labelAt), .date(r.receivedAt)] })
    }

    public func pruneMonitoring(olderThan: Date?, keepNewest: Int?) async throws(KeelError) -> Int {
        var deleted = 0
        if let olderThan {
            // Rows are appended in time order (to within a writer's batch), so everything
            // before the first row at or after the cut is older: walking the primary key from
            // the oldest row costs what is deleted, and no index on `at` taxes every insert.
            // A row a few milliseconds out of order at the boundary waits for the next prune.
            let cut: Int64? = try await queryOne("SELECT id FROM prediction_log WHERE at >= ? ORDER BY id LIMIT 1", [.date(olderThan)])?["id"]?.int
            let bound: [SQLValue] = cut.map { [.int($0)] } ?? []
            let condition = cut == nil ? "" : " WHERE id < ?"
            deleted += try await queryOne("SELECT COUNT(*) AS n FROM prediction_log" + condition, bound)?.int("n") ?? 0
            try await execute("DELETE FROM prediction_log" + condition, bound)
            try await execute("DELETE FROM feedback WHERE predicted_at < ?", [.date(olderThan)])
            try await execute("DELETE FROM feedback_unmatched WHERE received_at < ?", [.date(olderThan)])
        }
        if let keepNewest, keepNewest >= 0,
           let cut = try await queryOne("SELECT id FROM prediction_log ORDER BY id DESC LIMIT 1 OFFSET ?", [.int(Int64(keepNewest))])?["id"]?.int {
            deleted += try await queryOne("SELECT COUNT(*) AS n FROM prediction_log WHERE id <= ?", [.int(cut)])?.int("n") ?? 0
            try await execute("DELETE FROM prediction_log WHERE id <= ?", [.int(cut)])
        }
        return deleted
    }

    public func appendReferenceProfile(_ p: ReferenceProfileRecord) async throws(KeelError) -> Int64 {
        try await queryOne(
            """
            INSERT INTO reference_profiles (model, version, source, row_count, sampled, seed, summary, sample, created_by, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """,
            [.text(p.model), .text(p.version), .text(p.source), .int(Int64(p.rowCount)), .int(p.sampled ? 1 : 0), .int(Int64(p.seed)),
             .text(p.summary), .text(p.sample), .text(p.createdBy), .date(p.createdAt)]
        )?["id"]?.int ?? 0
    }

    public func appendMonitoringEvent(_ e: MonitoringEventRecord) async throws(KeelError) -> Int64 {
        try await queryOne(
            "INSERT INTO monitoring_events (at, model, version, kind, severity, message, details) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [.date(e.at), .text(e.model), .optional(e.version), .text(e.kind), .text(e.severity), .text(e.message), .optional(e.details)]
        )?["id"]?.int ?? 0
    }

    public func saveMonitoringResult(_ r: MonitoringResultRecord) async throws(KeelError) {
        try await execute(
            """
            INSERT INTO monitoring_results (model, version, kind, computed_at, window_spec, report) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (model, version, kind) DO UPDATE SET computed_at = excluded.computed_at, window_spec = excluded.window_spec,
                report = excluded.report
            """, [.text(r.model), .text(r.version), .text(r.kind), .date(r.computedAt), .text(r.window), .text(r.report)])
    }

    public func acquireLease(named name: String, holder: String, until: Date, now: Date) async throws(KeelError) -> Bool {
        try await execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
            [.text(name), .text(holder), .date(until)])
        guard let row = try await queryOne("SELECT holder, expires_at FROM leases WHERE name = ?\(dialect.forUpdate)", [.text(name)]) else {
            return false
        }
        let current = row.string("holder"), expires = row.date("expires_at")
        guard current == holder || expires < now else { return false }
        try await execute("UPDATE leases SET holder = ?, expires_at = ? WHERE name = ?", [.text(holder), .date(until), .text(name)])
        return true
    }

    public func releaseLease(named name: String, holder: String) async throws(KeelError) {
        try await execute("DELETE FROM leases WHERE name = ? AND holder = ?", [.text(name), .text(holder)])
    }
}

extension RowDecoding {
    static func prediction(_ r: SQLRow) -> PredictionLogRecord {
        PredictionLogRecord(
            id: r["id"]?.int ?? 0, at: r.date("at"), model: r.string("model"), version: r.string("version"), arm: r.string("arm"),
            requestID: r.string("request_id"), entityID: r.string("entity_id"), record: r.optionalString("record"),
            features: r.optionalString("features"), encoded: r.optionalString("encoded"), outputs: r.string("outputs"),
            score: r["score"]?.double, label: r.optionalString("label"), latencyMs: r.double("latency_ms"))
    }

    static func feedback(_ r: SQLRow) -> FeedbackRecord {
        FeedbackRecord(
            predictionID: r["prediction_id"]?.int ?? 0, model: r.string("model"), version: r.string("version"), arm: r.string("arm"),
            entityID: r.string("entity_id"), predictedAt: r.date("predicted_at"), score: r["score"]?.double,
            predictedLabel: r.optionalString("predicted_label"), outputs: r.string("outputs"), label: r.string("label"),
            labelValue: r["label_value"]?.double, labelAt: r.date("label_at"), receivedAt: r.date("received_at"))
    }

    static func referenceProfile(_ r: SQLRow) -> ReferenceProfileRecord {
        ReferenceProfileRecord(
            id: r["id"]?.int ?? 0, model: r.string("model"), version: r.string("version"), source: r.string("source"),
            rowCount: r.int("row_count"), sampled: r.int("sampled") != 0, seed: r.int("seed"), summary: r.string("summary"),
            sample: r.string("sample"), createdBy: r.string("created_by"), createdAt: r.date("created_at"))
    }

    static func event(_ r: SQLRow) -> MonitoringEventRecord {
        MonitoringEventRecord(
            id: r["id"]?.int ?? 0, at: r.date("at"), model: r.string("model"), version: r.optionalString("version"), kind: r.string("kind"),
            severity: r.string("severity"), message: r.string("message"), details: r.optionalString("details"))
    }
}
