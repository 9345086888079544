import Foundation
import KeelCore
import KeelRegistry
import KeelStore

/// The batch-job state machine over the store, shared by every replica: submit, plan, claim a
/// chunk, commit it, assemble, cancel, retry. Each change is one transaction, so a job is
/// always in a state a restarted replica can carry on from.
public final class JobQueue: Sendable {
    public let store: any Store
    /// Where uploads, part files and default outputs go (shared by replicas).
    public let dataFolder: String
    /// Folders inputs may be read from and outputs written to (the data folder is always one).
    public let allowed: AllowedFolders
    /// This replica's name in leases.
    public let holder: String
    /// How long a claimed chunk or job phase stays this replica's without a renewal.
    public let lease: TimeInterval

    public init(store: any Store, dataFolder: String, allowedFolders: [String] = [], holder: String, lease: TimeInterval = 30) throws(KeelError) {
        self.store = store
        self.dataFolder = dataFolder
        for sub in ["uploads", "outputs", "jobs"] {
            try? FileManager.default.createDirectory(atPath: dataFolder + "/" + sub, withIntermediateDirectories: true)
        }
        self.allowed = try AllowedFolders([dataFolder] + allowedFolders)
        self.holder = holder
        self.lease = max(1, lease)
    }

    /// What a client asks for.
    public struct Submission: Sendable {
        public var model: String
        public var version: String?
        public var input: String
        /// A server path; nil: a new file in the data folder's `outputs/`.
        public var output: String?
        /// Format of the default output: `csv`, `jsonl`, optionally `.gz` (default: the input's).
        public var outputFormat: String?
        public var inputKind: JobSpec.InputKind = .records
        public var passthrough: [String] = []
        public var idColumn: String?
        public var chunkRows: Int = JobSpec.defaultChunkRows
        public var maxErrorRate: Double = JobSpec.defaultMaxErrorRate
        public var log = false
        public var priority: JobPriority = .normal
        public var uploaded = false

        public init(model: String, version: String? = nil, input: String) {
            self.model = model
            self.version = version
            self.input = input
        }
    }

    /// Folder of one job's part files.
    public func folder(of id: Int64) -> String { dataFolder + "/jobs/\(id)" }

    /// Queues a job scored with `version` (resolved by the caller from what was asked);
    /// `idField` is the version's schema id field, the default id column.
    public func submit(_ s: Submission, version: String, idField: String?, actor: Principal, now: Date = Date()) async throws(KeelError) -> JobStatus {
        guard s.chunkRows >= 1, s.chunkRows <= JobSpec.maxChunkRows else {
            throw KeelError.invalidInput("chunk_rows must be between 1 and \(JobSpec.maxChunkRows), got \(s.chunkRows)")
        }
        guard s.maxErrorRate.isFinite, s.maxErrorRate >= 0, s.maxErrorRate <= 1 else {
            throw KeelError.invalidInput("max_error_rate must be between 0 and 1, got \(s.maxErrorRate)")
        }
        guard s.passthrough.count <= 1024, s.passthrough.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 256 }) else {
            throw KeelError.invalidInput("passthrough takes at most 1024 column names of 1 to 256 bytes")
        }
        let input = try BatchFile(path: try allowed.input(s.input))
        if s.inputKind == .encoded, input.format != .csv { throw KeelError.invalidInput("encoded input must be a CSV file") }
        let outputPath: String
        if let path = s.output {
            outputPath = try allowed.output(path)
        } else {
            let ext = try Self.outputExtension(s.outputFormat, input: input)
            outputPath = try allowed.output(dataFolder + "/outputs/\(Self.safe(s.model))-\(UUID().uuidString.prefix(8).lowercased()).\(ext)")
        }
        let output = try BatchFile(path: outputPath)
        guard output.path != input.path else { throw KeelError.invalidInput("the output must not be the input file") }
        let spec = JobSpec(
            input: input, output: output, errorsOutput: JobSpec.errorsPath(for: output.path), inputKind: s.inputKind, requested: s.version,
            passthrough: s.passthrough, idColumn: s.idColumn ?? idField, chunkRows: s.chunkRows, maxErrorRate: s.maxErrorRate, log: s.log,
            uploaded: s.uploaded)
        let text = try spec.encoded()
        let id = try await store.write { tx throws(KeelError) in
            let id = try await tx.createJob(BatchJobRecord(
                model: s.model, version: version, priority: s.priority.rank, spec: text, createdBy: actor.name, createdAt: now, updatedAt: now))
            try await tx.appendAudit(AuditEventRecord(by: actor, action: "job.submit", target: "job/\(id)", after: text, at: now))
            return id
        }
        return try await status(id)
    }

    static func outputExtension(_ format: String?, input: BatchFile) throws(KeelError) -> String {
        guard let format = format?.lowercased() else { return input.format.rawValue }
        guard ["csv", "jsonl", "csv.gz", "jsonl.gz"].contains(format) else {
            throw KeelError.invalidInput("output_format must be csv, jsonl, csv.gz or jsonl.gz, got '\(format.prefix(40))'")
        }
        return format
    }

    static func safe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(64))
    }

    public func status(_ id: Int64) async throws(KeelError) -> JobStatus {
        try await store.read { snap throws(KeelError) in
            guard let job = try await snap.job(id: id) else { throw KeelError.notFound("no job \(id)") }
            return try JobStatus(job, running: try await snap.runningProgress(jobID: id))
        }
    }

    public func list(model: String? = nil, states: [JobState]? = nil, limit: Int = 100) async throws(KeelError) -> [JobStatus] {
        try await store.read { snap throws(KeelError) in
            var out: [JobStatus] = []
            for job in try await snap.jobs(model: model, states: states?.map(\.rawValue), limit: limit) {
                out.append(try JobStatus(job, running: job.state == "running" ? try await snap.runningProgress(jobID: job.id) : (0, 0)))
            }
            return out
        }
    }

    /// Stops a queued or running job; its committed chunks stay (a retry carries on).
    public func cancel(_ id: Int64, actor: Principal, now: Date = Date()) async throws(KeelError) -> JobStatus {
        try await store.write { tx throws(KeelError) in
            guard var job = try await tx.lockJob(id: id) else { throw KeelError.notFound("no job \(id)") }
            guard job.state == JobState.queued.rawValue || job.state == JobState.running.rawValue else {
                throw KeelError(.conflict, "job \(id) is \(job.state); only a queued or running job can be cancelled")
            }
            try await Self.end(&job, .cancelled, reason: "cancelled by \(actor.name)", now: now, tx)
            try await tx.appendAudit(AuditEventRecord(by: actor, action: "job.cancel", target: "job/\(id)", at: now))
        }
        return try await status(id)
    }

    /// Queues a failed or cancelled job again from where it stopped: committed chunks are
    /// kept, the rest are scored. `maxErrorRate` replaces the job's limit when given.
    public func retry(_ id: Int64, actor: Principal, maxErrorRate: Double? = nil, now: Date = Date()) async throws(KeelError) -> JobStatus {
        if let m = maxErrorRate, !(m.isFinite && m >= 0 && m <= 1) { throw KeelError.invalidInput("max_error_rate must be between 0 and 1") }
        try await store.write { tx throws(KeelError) in
            guard var job = try await tx.lockJob(id: id) else { throw KeelError.notFound("no job \(id)") }
            guard job.state == JobState.failed.rawValue || job.state == JobState.cancelled.rawValue else {
                throw KeelError(.conflict, "job \(id) is \(job.state); only a failed or cancelled job can be retried")
            }
            if let m = maxErrorRate {
                var spec = try JobSpec.decode(job.spec)
                spec.maxErrorRate = m
                job.spec = try spec.encoded()
            }
            // A job that failed while assembling is assembled again; one never planned is planned.
            if job.phase == "plan" {
                job.state = JobState.queued.rawValue
            } else {
                job.state = JobState.running.rawValue
                job.phase = job.chunksDone >= job.chunksTotal ? "assemble" : "score"
            }
            job.reason = nil
            job.finishedAt = nil
            job.holder = nil
            job.leaseUntil = nil
            job.startedAt = now
            job.rowsAtStart = job.rowsDone
            job.updatedAt = now
            try await tx.saveJob(job)
            try await tx.releaseChunks(jobID: id)
            try await tx.appendAudit(AuditEventRecord(by: actor, action: "job.retry", target: "job/\(id)", at: now))
        }
        return try await status(id)
    }

    // MARK: Work, for `JobWorker`

    /// A job to plan or assemble, taken for this replica.
    func claimPhase(now: Date = Date()) async throws(KeelError) -> BatchJobRecord? {
        try await store.write { tx throws(KeelError) in try await tx.claimJobPhase(holder: holder, until: now.addingTimeInterval(lease), now: now) }
    }

    /// Stores a job's plan: its chunks, its header; the job starts running (or goes straight
    /// to assembly when the input has no rows). False when the job was cancelled meanwhile.
    func storePlan(_ jobID: Int64, _ plan: ChunkPlan, outputHeader: String, now: Date = Date()) async throws(KeelError) -> Bool {
        try await store.write { tx throws(KeelError) in
            guard var job = try await tx.lockJob(id: jobID), job.state == JobState.queued.rawValue, job.phase == "plan", job.holder == holder else { return false }
            var spec = try JobSpec.decode(job.spec)
            spec.header = plan.header
            if let header = plan.header, spec.input.format == .csv {
                let missing = (spec.passthrough + (spec.idColumn.map { [$0] } ?? [])).filter { !header.contains($0) }
                if !missing.isEmpty {
                    job.state = JobState.failed.rawValue
                    job.reason = "the input has no column \(missing.map { "'\($0)'" }.joined(separator: ", ")) (columns: \(header.prefix(30).joined(separator: ", ")))"
                    job.finishedAt = now
                    job.holder = nil
                    job.updatedAt = now
                    try await tx.saveJob(job)
                    return false
                }
            }
            spec.outputHeader = outputHeader
            job.spec = try spec.encoded()
            try await tx.insertChunks(plan.chunks.map { c in
                BatchChunkRecord(jobID: jobID, index: c.index, firstRow: c.firstRow, rows: c.rows, firstLine: c.firstLine, byteStart: c.byteStart, byteEnd: c.byteEnd)
            })
            job.rowsTotal = plan.totalRows
            job.chunksTotal = plan.chunks.count
            job.state = JobState.running.rawValue
            job.phase = plan.chunks.isEmpty ? "assemble" : "score"
            job.holder = nil
            job.leaseUntil = nil
            job.startedAt = now
            job.updatedAt = now
            try await tx.saveJob(job)
            return true
        }
    }

    /// Fails a job with a reason (a plan that cannot be made, an output that cannot be
    /// written), if it is still queued or running.
    func fail(_ jobID: Int64, reason: String, now: Date = Date()) async throws(KeelError) {
        try await store.write { tx throws(KeelError) in
            guard var job = try await tx.lockJob(id: jobID), job.state == JobState.queued.rawValue || job.state == JobState.running.rawValue else { return }
            try await Self.end(&job, .failed, reason: reason, now: now, tx)
        }
    }

    /// Ends a job in a final state: no holder, and its running chunks given back (kept for a retry).
    private static func end(_ job: inout BatchJobRecord, _ state: JobState, reason: String, now: Date, _ tx: any StoreTransaction) async throws(KeelError) {
        job.state = state.rawValue
        job.reason = reason
        job.finishedAt = now
        job.updatedAt = now
        job.holder = nil
        job.leaseUntil = nil
        try await tx.saveJob(job)
        try await tx.releaseChunks(jobID: job.id)
    }

    /// A chunk to score, taken for this replica, with its job.
    func claimChunk(now: Date = Date()) async throws(KeelError) -> (BatchChunkRecord, BatchJobRecord)? {
        try await store.write { tx throws(KeelError) in
            guard let chunk = try await tx.claimChunk(holder: holder, until: now.addingTimeInterval(lease), now: now),
                  let job = try await tx.job(id: chunk.jobID) else { return nil }
            return (chunk, job)
        }
    }

    /// Renews this replica's hold on a chunk and reports its progress; false when the chunk
    /// is no longer this attempt's (its lease expired and another replica took it) or its job
    /// stopped running.
    func renew(_ chunk: BatchChunkRecord, rows: Int64, errors: Int64, now: Date = Date()) async throws(KeelError) -> Bool {
        try await store.write { tx throws(KeelError) in
            guard var c = try await tx.lockChunk(jobID: chunk.jobID, index: chunk.index), c.state == "running", c.holder == holder,
                  c.attempt == chunk.attempt, let job = try await tx.job(id: chunk.jobID), job.state == JobState.running.rawValue else { return false }
            c.leaseUntil = now.addingTimeInterval(lease)
            c.rowsDone = rows
            c.errors = errors
            try await tx.saveChunk(c)
            return true
        }
    }

    /// Gives a chunk that failed (the model unavailable, a read error) back to be taken again
    /// after `after` seconds; false when it was not this attempt's any more.
    func giveBack(_ chunk: BatchChunkRecord, after: TimeInterval, now: Date = Date()) async throws(KeelError) -> Bool {
        try await store.write { tx throws(KeelError) in
            guard var c = try await tx.lockChunk(jobID: chunk.jobID, index: chunk.index), c.state == "running", c.holder == holder,
                  c.attempt == chunk.attempt else { return false }
            c.leaseUntil = now.addingTimeInterval(after)
            c.holder = nil
            try await tx.saveChunk(c)
            return true
        }
    }

    /// What a commit decided.
    enum CommitResult: Equatable {
        /// The chunk is committed; `assemble` when it was the last one.
        case committed(assemble: Bool)
        /// The chunk is committed and the job failed on its error share.
        case failedJob(String)
        /// Not this attempt's any more (or the job stopped): the part files are discarded.
        case lost
    }

    /// Commits a scored chunk — its part file, counts and the job's totals — in one
    /// transaction, and fails the job when its error share passes the limit.
    func commit(_ chunk: BatchChunkRecord, part: String, outcome: ChunkScorer.Outcome, now: Date = Date()) async throws(KeelError) -> CommitResult {
        try await store.write { tx throws(KeelError) in
            guard var job = try await tx.lockJob(id: chunk.jobID), job.state == JobState.running.rawValue,
                  var c = try await tx.lockChunk(jobID: chunk.jobID, index: chunk.index), c.state == "running", c.holder == holder,
                  c.attempt == chunk.attempt else { return .lost }
            c.state = "done"
            c.holder = nil
            c.leaseUntil = nil
            c.rowsDone = outcome.rows
            c.errors = outcome.errors
            c.part = part
            c.finishedAt = now
            try await tx.saveChunk(c)
            job.rowsDone += outcome.rows
            job.errors += outcome.errors
            job.chunksDone += 1
            job.updatedAt = now
            let spec = try JobSpec.decode(job.spec)
            // The error share is judged once 1 000 rows (or the whole input) are in.
            let judged = job.rowsDone >= min(1000, job.rowsTotal ?? 1000)
            if judged, job.rowsDone > 0, Double(job.errors) / Double(job.rowsDone) > spec.maxErrorRate {
                let share = Double(job.errors) / Double(job.rowsDone)
                let reason = "\(job.errors) of \(job.rowsDone) rows could not be scored (\(Self.percent(share))), more than the max error rate of \(Self.percent(spec.maxErrorRate)); see \(spec.errorsOutput)"
                job.state = JobState.failed.rawValue
                job.reason = reason
                job.finishedAt = now
                // The worker that saw this writes the errors file from the committed chunks.
                job.phase = "done"
                try await tx.saveJob(job)
                try await tx.releaseChunks(jobID: job.id)
                return .failedJob(reason)
            }
            let last = job.chunksDone >= job.chunksTotal
            if last { job.phase = "assemble" }
            try await tx.saveJob(job)
            return .committed(assemble: last)
        }
    }

    static func percent(_ x: Double) -> String {
        let p = (x * 10_000).rounded() / 100
        return p == p.rounded() ? "\(Int(p))%" : "\(p)%"
    }

    /// Marks an assembled job done (or, for a job that failed on its error share, keeps it
    /// failed with its errors file written).
    func finish(_ jobID: Int64, now: Date = Date()) async throws(KeelError) -> Bool {
        try await store.write { tx throws(KeelError) in
            guard var job = try await tx.lockJob(id: jobID), job.phase == "assemble", job.holder == holder else { return false }
            if job.state == JobState.running.rawValue {
                job.state = JobState.done.rawValue
                job.finishedAt = now
            }
            job.phase = "done"
            job.holder = nil
            job.leaseUntil = nil
            job.updatedAt = now
            try await tx.saveJob(job)
            return true
        }
    }
}
