import Foundation
import KeelCore
import KeelServing
import KeelStore
import Logging
import Synchronization

/// Runs batch jobs on this replica: `concurrency` loops, each planning a queued job,
/// scoring one chunk or assembling a finished job at a time, taken from the shared queue.
/// Scoring goes through `InferenceService` with the job's pinned version, a batch at a time,
/// yielding between batches so online requests keep their share of the cores.
public final class JobWorker: Sendable {
    public typealias VersionSource = @Sendable (_ model: String, _ version: String) async throws(KeelError) -> ServedVersion

    public let queue: JobQueue
    let service: InferenceService?
    let versions: VersionSource
    public let concurrency: Int
    let poll: Duration
    let batchRows: Int
    let metrics: JobMetrics?
    let logger: Logger
    /// A chunk that fails this many times fails its job.
    let maxAttempts: Int
    private let rate = Mutex<(rows: Int64, since: ContinuousClock.Instant)>((0, .now))

    public init(
        queue: JobQueue, service: InferenceService?, versions: @escaping VersionSource, concurrency: Int = 1, poll: Duration = .milliseconds(500),
        batchRows: Int = 1024, metrics: JobMetrics? = nil, maxAttempts: Int = 5, logger: Logger = Logger(label: "keel.jobs")
    ) {
        self.queue = queue
        self.service = service
        self.versions = versions
        self.concurrency = max(0, min(concurrency, 64))
        self.poll = poll
        self.batchRows = batchRows
        self.metrics = metrics
        self.maxAttempts = max(1, maxAttempts)
        self.logger = logger
    }

    /// Works until the task is cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask(priority: .low) {
                    while !Task.isCancelled {
                        if await self.step() { continue }
                        try? await Task.sleep(for: self.poll)
                    }
                }
            }
            if metrics != nil {
                group.addTask(priority: .low) {
                    while !Task.isCancelled {
                        await self.refreshMetrics()
                        try? await Task.sleep(for: .seconds(2))
                    }
                }
            }
        }
    }

    /// One unit of work; false when there was none.
    @discardableResult
    public func step() async -> Bool {
        do throws(KeelError) {
            if let job = try await queue.claimPhase() {
                if job.phase == "plan" { await plan(job) } else { await assemble(job) }
                return true
            }
            if let (chunk, job) = try await queue.claimChunk() {
                await score(chunk, job)
                return true
            }
        } catch {
            logger.warning("batch queue unavailable", metadata: ["error": "\(error.logDetail ?? error.message)"])
        }
        return false
    }

    /// Runs work until none is left (tests, `keel batch run`).
    public func drain() async {
        while await step() {}
    }

    private func plan(_ job: BatchJobRecord) async {
        do throws(KeelError) {
            var spec = try JobSpec.decode(job.spec)
            let served = try await versions(job.model, job.version)
            let file = spec.input
            let rows = spec.chunkRows
            let plan = try await offload { () throws(KeelError) -> ChunkPlan in try ChunkPlanner.plan(file, chunkRows: rows) }
            spec.header = plan.header
            let header = String(decoding: OutputLayout(served, spec: spec).csvHeader, as: UTF8.self)
            if try await queue.storePlan(job.id, plan, outputHeader: header) {
                logger.info("batch job planned", metadata: ["job": "\(job.id)", "rows": "\(plan.totalRows)", "chunks": "\(plan.chunks.count)"])
            }
        } catch {
            logger.warning("batch job cannot start", metadata: ["job": "\(job.id)", "error": "\(error.message)"])
            try? await queue.fail(job.id, reason: "cannot read the input: \(error.message)")
        }
    }

    private func score(_ chunk: BatchChunkRecord, _ job: BatchJobRecord) async {
        let folder = queue.folder(of: job.id)
        do throws(KeelError) {
            let spec = try JobSpec.decode(job.spec)
            let served = try await versions(job.model, job.version)
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let names = Assembler.partNames(index: chunk.index, attempt: chunk.attempt, format: spec.output.format)
            let scorer = ChunkScorer(served: served, spec: spec, service: service, batchRows: batchRows, origin: "job-\(job.id)")
            let range = ChunkRange(
                index: chunk.index, firstRow: chunk.firstRow, rows: chunk.rows, firstLine: chunk.firstLine, byteStart: chunk.byteStart, byteEnd: chunk.byteEnd)
            var renewed = ContinuousClock.now
            var reported: (Int64, Int64) = (0, 0)
            let renewEvery = Duration.seconds(max(0.2, min(queue.lease / 3, 5)))
            let outcome = try await scorer.run(range, part: folder + "/" + names.part, errors: folder + "/" + names.errors) { rows, errors in
                self.metrics?.scored(model: job.model, rows: rows - reported.0, errors: errors - reported.1)
                self.count(rows - reported.0)
                reported = (rows, errors)
                guard ContinuousClock.now - renewed >= renewEvery else { return true }
                renewed = .now
                return (try? await self.queue.renew(chunk, rows: rows, errors: errors)) ?? true
            }
            guard let outcome else {
                metrics?.chunk(model: job.model, outcome: "lost")
                return
            }
            switch try await queue.commit(chunk, part: names.part, outcome: outcome) {
            case .committed(let last):
                metrics?.chunk(model: job.model, outcome: "committed")
                if last { logger.info("batch job scored", metadata: ["job": "\(job.id)"]) }
            case .failedJob(let reason):
                metrics?.chunk(model: job.model, outcome: "committed")
                logger.warning("batch job failed", metadata: ["job": "\(job.id)", "reason": "\(reason)"])
                await writeErrors(job.id, spec: spec)
            case .lost:
                metrics?.chunk(model: job.model, outcome: "lost")
                unlink(folder + "/" + names.part)
                unlink(folder + "/" + names.errors)
            }
        } catch {
            metrics?.chunk(model: job.model, outcome: "retried")
            if chunk.attempt >= maxAttempts {
                try? await queue.fail(job.id, reason: "chunk \(chunk.index) failed \(chunk.attempt) times; last: \(error.message)")
            } else {
                logger.warning("batch chunk failed; it will be tried again", metadata: ["job": "\(job.id)", "chunk": "\(chunk.index)", "error": "\(error.message)"])
                _ = try? await queue.giveBack(chunk, after: 2)
            }
        }
    }

    /// The errors file of a job that failed on its error share, from its committed chunks.
    private func writeErrors(_ id: Int64, spec: JobSpec) async {
        do throws(KeelError) {
            let (parts, errors) = try await committedParts(id)
            let folder = queue.folder(of: id)
            try await offload { () throws(KeelError) in try Assembler.assemble(spec: spec, parts: parts, folder: folder, errors: errors, errorsOnly: true) }
        } catch {
            logger.warning("could not write a failed job's errors file", metadata: ["job": "\(id)", "error": "\(error.message)"])
        }
    }

    private func committedParts(_ id: Int64) async throws(KeelError) -> ([String], Int64) {
        let chunks = try await queue.store.read { snap throws(KeelError) in try await snap.chunks(jobID: id) }
        let done = chunks.filter { $0.state == "done" }
        return (done.compactMap(\.part), done.reduce(0) { $0 + $1.errors })
    }

    private func assemble(_ job: BatchJobRecord) async {
        do throws(KeelError) {
            let spec = try JobSpec.decode(job.spec)
            let (parts, errors) = try await committedParts(job.id)
            guard parts.count == job.chunksTotal else {
                throw KeelError(.internal, "job \(job.id) has \(parts.count) committed chunks of \(job.chunksTotal)")
            }
            let folder = queue.folder(of: job.id)
            try await offload { () throws(KeelError) in try Assembler.assemble(spec: spec, parts: parts, folder: folder, errors: errors) }
            if try await queue.finish(job.id) {
                try? FileManager.default.removeItem(atPath: folder)
                logger.info("batch job done", metadata: ["job": "\(job.id)", "output": "\(spec.output.path)"])
            }
        } catch {
            logger.warning("batch job output could not be written", metadata: ["job": "\(job.id)", "error": "\(error.message)"])
            try? await queue.fail(job.id, reason: "could not write the output: \(error.message)")
        }
    }

    private func count(_ rows: Int64) {
        rate.withLock { $0.rows += rows }
    }

    private func refreshMetrics() async {
        guard let metrics else { return }
        let now = ContinuousClock.now
        let perSecond: Double = rate.withLock { r in
            let (s, atto) = (now - r.since).components
            let seconds = Double(s) + Double(atto) / 1e18
            let v = seconds > 0 ? Double(r.rows) / seconds : 0
            r = (0, now)
            return v
        }
        let snapshot = try? await queue.store.read { snap throws(KeelError) -> ([String: Int], Int64) in
            var pending: Int64 = 0
            for job in try await snap.jobs(model: nil, states: [JobState.running.rawValue], limit: 1000) {
                let running = try await snap.runningProgress(jobID: job.id)
                pending += max(0, (job.rowsTotal ?? 0) - job.rowsDone - running.rows)
            }
            return (try await snap.jobCounts(), pending)
        }
        if let (counts, pending) = snapshot { metrics.refresh(counts: counts, rowsPending: pending, rowsPerSecond: perSecond) }
    }
}
