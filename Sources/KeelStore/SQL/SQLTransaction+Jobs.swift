import Foundation
import KeelCore

/// Batch jobs and their chunks.
extension SQLTransaction {
    public func job(id: Int64) async throws(KeelError) -> BatchJobRecord? {
        try await queryOne("SELECT * FROM batch_jobs WHERE id = ?", [.int(id)]).map(Self.job)
    }

    public func jobs(model: String?, states: [String]?, limit: Int) async throws(KeelError) -> [BatchJobRecord] {
        var sql = "SELECT * FROM batch_jobs WHERE 1 = 1"
        var args: [SQLValue] = []
        if let model {
            sql += " AND model = ?"
            args.append(.text(model))
        }
        if let states, !states.isEmpty {
            sql += " AND state IN (\(states.map { _ in "?" }.joined(separator: ", ")))"
            args += states.map { .text($0) }
        }
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(.int(Int64(max(0, min(limit, 1000)))))
        return try await query(sql, args).map(Self.job)
    }

    public func chunks(jobID: Int64) async throws(KeelError) -> [BatchChunkRecord] {
        try await query("SELECT * FROM batch_chunks WHERE job_id = ? ORDER BY idx", [.int(jobID)]).map(Self.chunk)
    }

    public func runningProgress(jobID: Int64) async throws(KeelError) -> (rows: Int64, errors: Int64) {
        let r = try await queryOne(
            "SELECT CAST(COALESCE(SUM(rows_done), 0) AS BIGINT) AS r, CAST(COALESCE(SUM(errors), 0) AS BIGINT) AS e FROM batch_chunks WHERE job_id = ? AND state = 'running'",
            [.int(jobID)])
        return (r?["r"]?.int ?? 0, r?["e"]?.int ?? 0)
    }

    public func jobCounts() async throws(KeelError) -> [String: Int] {
        var out: [String: Int] = [:]
        for r in try await query("SELECT state, COUNT(*) AS n FROM batch_jobs GROUP BY state") {
            out[r.string("state")] = Int(truncatingIfNeeded: r["n"]?.int ?? 0)
        }
        return out
    }

    public func createJob(_ j: BatchJobRecord) async throws(KeelError) -> Int64 {
        try await queryOne(
            """
            INSERT INTO batch_jobs (model, version, state, phase, priority, spec, rows_total, rows_done, errors, chunks_total, chunks_done,
                reason, holder, lease_until, rows_at_start, created_by, created_at, started_at, finished_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """,
            [.text(j.model), .text(j.version), .text(j.state), .text(j.phase), .int(Int64(j.priority)), .text(j.spec), j.rowsTotal.map { .int($0) } ?? .null,
             .int(j.rowsDone), .int(j.errors), .int(Int64(j.chunksTotal)), .int(Int64(j.chunksDone)), .optional(j.reason), .optional(j.holder),
             .optionalDouble(j.leaseUntil?.timeIntervalSince1970), .int(j.rowsAtStart), .text(j.createdBy), .date(j.createdAt),
             .optionalDouble(j.startedAt?.timeIntervalSince1970), .optionalDouble(j.finishedAt?.timeIntervalSince1970), .date(j.updatedAt)]
        )?["id"]?.int ?? 0
    }

    public func lockJob(id: Int64) async throws(KeelError) -> BatchJobRecord? {
        try await queryOne("SELECT * FROM batch_jobs WHERE id = ?\(dialect.forUpdate)", [.int(id)]).map(Self.job)
    }

    public func saveJob(_ j: BatchJobRecord) async throws(KeelError) {
        try await execute(
            """
            UPDATE batch_jobs SET version = ?, spec = ?, state = ?, phase = ?, priority = ?, rows_total = ?, rows_done = ?, errors = ?, chunks_total = ?,
                chunks_done = ?, reason = ?, holder = ?, lease_until = ?, rows_at_start = ?, started_at = ?, finished_at = ?, updated_at = ?
            WHERE id = ?
            """,
            [.text(j.version), .text(j.spec), .text(j.state), .text(j.phase), .int(Int64(j.priority)), j.rowsTotal.map { .int($0) } ?? .null, .int(j.rowsDone),
             .int(j.errors), .int(Int64(j.chunksTotal)), .int(Int64(j.chunksDone)), .optional(j.reason), .optional(j.holder),
             .optionalDouble(j.leaseUntil?.timeIntervalSince1970), .int(j.rowsAtStart), .optionalDouble(j.startedAt?.timeIntervalSince1970),
             .optionalDouble(j.finishedAt?.timeIntervalSince1970), .date(j.updatedAt), .int(j.id)])
    }

    public func claimJobPhase(holder: String, until: Date, now: Date) async throws(KeelError) -> BatchJobRecord? {
        let row = try await queryOne(
            """
            SELECT * FROM batch_jobs
            WHERE ((state = 'queued' AND phase = 'plan') OR (state = 'running' AND phase = 'assemble'))
                AND (holder IS NULL OR lease_until IS NULL OR lease_until < ?)
            ORDER BY priority DESC, id LIMIT 1\(dialect.skipLocked(of: "batch_jobs"))
            """,
            [.date(now)])
        guard var job = row.map(Self.job) else { return nil }
        job.holder = holder
        job.leaseUntil = until
        job.updatedAt = now
        try await execute("UPDATE batch_jobs SET holder = ?, lease_until = ?, updated_at = ? WHERE id = ?", [.text(holder), .date(until), .date(now), .int(job.id)])
        return job
    }

    public func insertChunks(_ chunks: [BatchChunkRecord]) async throws(KeelError) {
        try await executeEach(
            """
            INSERT INTO batch_chunks (job_id, idx, first_row, row_count, first_line, byte_start, byte_end, state, holder, lease_until, attempt,
                rows_done, errors, part, finished_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            chunks.map { c in
                [.int(c.jobID), .int(Int64(c.index)), .int(c.firstRow), .int(c.rows), .int(c.firstLine), c.byteStart.map { .int($0) } ?? .null,
                 c.byteEnd.map { .int($0) } ?? .null, .text(c.state), .optional(c.holder), .optionalDouble(c.leaseUntil?.timeIntervalSince1970),
                 .int(Int64(c.attempt)), .int(c.rowsDone), .int(c.errors), .optional(c.part), .optionalDouble(c.finishedAt?.timeIntervalSince1970)]
            })
    }

    public func claimChunk(holder: String, until: Date, now: Date) async throws(KeelError) -> BatchChunkRecord? {
        let row = try await queryOne(
            """
            SELECT batch_chunks.* FROM batch_chunks JOIN batch_jobs ON batch_jobs.id = batch_chunks.job_id
            WHERE batch_jobs.state = 'running' AND batch_jobs.phase = 'score'
                AND (batch_chunks.state = 'pending' OR (batch_chunks.state = 'running' AND batch_chunks.lease_until < ?))
            ORDER BY batch_jobs.priority DESC, batch_jobs.id, batch_chunks.idx LIMIT 1\(dialect.skipLocked(of: "batch_chunks"))
            """,
            [.date(now)])
        guard var chunk = row.map(Self.chunk) else { return nil }
        chunk.state = "running"
        chunk.holder = holder
        chunk.leaseUntil = until
        chunk.attempt += 1
        chunk.rowsDone = 0
        chunk.errors = 0
        try await saveChunk(chunk)
        return chunk
    }

    public func lockChunk(jobID: Int64, index: Int) async throws(KeelError) -> BatchChunkRecord? {
        try await queryOne("SELECT * FROM batch_chunks WHERE job_id = ? AND idx = ?\(dialect.forUpdate)", [.int(jobID), .int(Int64(index))]).map(Self.chunk)
    }

    public func saveChunk(_ c: BatchChunkRecord) async throws(KeelError) {
        try await execute(
            """
            UPDATE batch_chunks SET state = ?, holder = ?, lease_until = ?, attempt = ?, rows_done = ?, errors = ?, part = ?, finished_at = ?
            WHERE job_id = ? AND idx = ?
            """,
            [.text(c.state), .optional(c.holder), .optionalDouble(c.leaseUntil?.timeIntervalSince1970), .int(Int64(c.attempt)), .int(c.rowsDone),
             .int(c.errors), .optional(c.part), .optionalDouble(c.finishedAt?.timeIntervalSince1970), .int(c.jobID), .int(Int64(c.index))])
    }

    public func releaseChunks(jobID: Int64) async throws(KeelError) {
        try await execute(
            "UPDATE batch_chunks SET state = 'pending', holder = NULL, lease_until = NULL, rows_done = 0, errors = 0 WHERE job_id = ? AND state = 'running'",
            [.int(jobID)])
    }

    static func job(_ r: SQLRow) -> BatchJobRecord {
        BatchJobRecord(
            id: r["id"]?.int ?? 0, model: r.string("model"), version: r.string("version"), state: r.string("state"), phase: r.string("phase"),
            priority: Int(truncatingIfNeeded: r["priority"]?.int ?? 0), spec: r.string("spec"), rowsTotal: r["rows_total"]?.int,
            rowsDone: r["rows_done"]?.int ?? 0, errors: r["errors"]?.int ?? 0, chunksTotal: r.optionalInt("chunks_total") ?? 0,
            chunksDone: r.optionalInt("chunks_done") ?? 0, reason: r.optionalString("reason"), holder: r.optionalString("holder"),
            leaseUntil: r.optionalDate("lease_until"), rowsAtStart: r["rows_at_start"]?.int ?? 0, createdBy: r.string("created_by"),
            createdAt: r.date("created_at"), startedAt: r.optionalDate("started_at"), finishedAt: r.optionalDate("finished_at"),
            updatedAt: r.date("updated_at"))
    }

    static func chunk(_ r: SQLRow) -> BatchChunkRecord {
        BatchChunkRecord(
            jobID: r["job_id"]?.int ?? 0, index: r.optionalInt("idx") ?? 0, firstRow: r["first_row"]?.int ?? 0, rows: r["row_count"]?.int ?? 0,
            firstLine: r["first_line"]?.int ?? 0, byteStart: r["byte_start"]?.int, byteEnd: r["byte_end"]?.int, state: r.string("state"),
            holder: r.optionalString("holder"), leaseUntil: r.optionalDate("lease_until"), attempt: r.optionalInt("attempt") ?? 0,
            rowsDone: r["rows_done"]?.int ?? 0, errors: r["errors"]?.int ?? 0, part: r.optionalString("part"),
            finishedAt: r.optionalDate("finished_at"))
    }
}
