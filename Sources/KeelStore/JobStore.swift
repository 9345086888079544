import Foundation
import KeelCore

/// One batch job as stored: the queue fields as columns (so replicas can claim work with one
/// query) and the job's specification as a JSON document (`KeelJobs.JobSpec`).
public struct BatchJobRecord: Sendable, Equatable {
    public var id: Int64
    public var model: String
    /// The version resolved at submit; every chunk is scored with it.
    public var version: String
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    public var state: String
    /// `plan` (the input is not split yet), `score` (chunks are being scored) or `assemble`
    /// (every chunk is committed; the output is being put together).
    public var phase: String
    /// Larger runs first.
    public var priority: Int
    public var spec: String
    public var rowsTotal: Int64?
    public var rowsDone: Int64
    public var errors: Int64
    public var chunksTotal: Int
    public var chunksDone: Int
    public var reason: String?
    /// The replica planning or assembling the job, and until when it holds it.
    public var holder: String?
    public var leaseUntil: Date?
    /// Rows done when the job last started (its rate counts the rows since).
    public var rowsAtStart: Int64
    public var createdBy: String
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var updatedAt: Date

    public init(
        id: Int64 = 0, model: String, version: String, state: String = "queued", phase: String = "plan", priority: Int, spec: String,
        rowsTotal: Int64? = nil, rowsDone: Int64 = 0, errors: Int64 = 0, chunksTotal: Int = 0, chunksDone: Int = 0, reason: String? = nil,
        holder: String? = nil, leaseUntil: Date? = nil, rowsAtStart: Int64 = 0, createdBy: String, createdAt: Date = Date(),
        startedAt: Date? = nil, finishedAt: Date? = nil, updatedAt: Date = Date()
    ) {
        self.id = id
        self.model = model
        self.version = version
        self.state = state
        self.phase = phase
        self.priority = priority
        self.spec = spec
        self.rowsTotal = rowsTotal
        self.rowsDone = rowsDone
        self.errors = errors
        self.chunksTotal = chunksTotal
        self.chunksDone = chunksDone
        self.reason = reason
        self.holder = holder
        self.leaseUntil = leaseUntil
        self.rowsAtStart = rowsAtStart
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.updatedAt = updatedAt
    }
}

/// One chunk of a job: a slice of the input scored and committed as one unit.
public struct BatchChunkRecord: Sendable, Equatable {
    public var jobID: Int64
    public var index: Int
    public var firstRow: Int64
    public var rows: Int64
    public var firstLine: Int64
    public var byteStart: Int64?
    public var byteEnd: Int64?
    /// `pending`, `running` or `done`.
    public var state: String
    public var holder: String?
    public var leaseUntil: Date?
    /// Incremented at each claim; names the part files of that attempt, so a replica that
    /// lost its lease can never overwrite or commit the next holder's work.
    public var attempt: Int
    /// Rows scored (while running: so far, reported with each lease renewal).
    public var rowsDone: Int64
    public var errors: Int64
    /// The committed part file's name (in the job's folder).
    public var part: String?
    public var finishedAt: Date?

    public init(
        jobID: Int64, index: Int, firstRow: Int64, rows: Int64, firstLine: Int64, byteStart: Int64? = nil, byteEnd: Int64? = nil,
        state: String = "pending", holder: String? = nil, leaseUntil: Date? = nil, attempt: Int = 0, rowsDone: Int64 = 0, errors: Int64 = 0,
        part: String? = nil, finishedAt: Date? = nil
    ) {
        self.jobID = jobID
        self.index = index
        self.firstRow = firstRow
        self.rows = rows
        self.firstLine = firstLine
        self.byteStart = byteStart
        self.byteEnd = byteEnd
        self.state = state
        self.holder = holder
        self.leaseUntil = leaseUntil
        self.attempt = attempt
        self.rowsDone = rowsDone
        self.errors = errors
        self.part = part
        self.finishedAt = finishedAt
    }
}

/// The batch-job reads of a unit of work (see `StoreSnapshot`).
public protocol JobSnapshot {
    func job(id: Int64) async throws(KeelError) -> BatchJobRecord?
    /// Jobs newest first, optionally of one model and in some states.
    func jobs(model: String?, states: [String]?, limit: Int) async throws(KeelError) -> [BatchJobRecord]
    /// A job's chunks in order.
    func chunks(jobID: Int64) async throws(KeelError) -> [BatchChunkRecord]
    /// Rows and errors reported so far by the job's running chunks.
    func runningProgress(jobID: Int64) async throws(KeelError) -> (rows: Int64, errors: Int64)
    /// Jobs per state.
    func jobCounts() async throws(KeelError) -> [String: Int]
}

/// The batch-job changes of a unit of work (see `StoreTransaction`).
public protocol JobTransaction: JobSnapshot {
    func createJob(_ job: BatchJobRecord) async throws(KeelError) -> Int64
    /// The job's row, locked for the rest of the transaction.
    func lockJob(id: Int64) async throws(KeelError) -> BatchJobRecord?
    /// Writes every field of the job but its id, model and creation.
    func saveJob(_ job: BatchJobRecord) async throws(KeelError)
    /// A queued job to plan or a running one to assemble whose lease is free or expired, best
    /// priority first; it is taken for `holder` until `until`. Replicas never take the same one.
    func claimJobPhase(holder: String, until: Date, now: Date) async throws(KeelError) -> BatchJobRecord?
    func insertChunks(_ chunks: [BatchChunkRecord]) async throws(KeelError)
    /// A pending chunk of a running job (or one whose holder's lease expired), best job
    /// priority first, then oldest job, then chunk order; taken for `holder` with its attempt
    /// incremented. Replicas never take the same one (PostgreSQL: FOR UPDATE SKIP LOCKED).
    func claimChunk(holder: String, until: Date, now: Date) async throws(KeelError) -> BatchChunkRecord?
    /// The chunk's row, locked.
    func lockChunk(jobID: Int64, index: Int) async throws(KeelError) -> BatchChunkRecord?
    func saveChunk(_ chunk: BatchChunkRecord) async throws(KeelError)
    /// Every chunk of the job that is running goes back to pending (cancel, retry).
    func releaseChunks(jobID: Int64) async throws(KeelError)
}
