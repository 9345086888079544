import CoreMetrics
import Dispatch
import Foundation
import KeelCore
import KeelEngine
import Synchronization

/// Coalesces concurrent requests to one model version into shared engine calls, and bounds
/// how long any request may take.
///
/// While a batch runs, arriving requests queue; when it finishes, everything compatible that
/// queued meanwhile (up to `maxBatchSize` rows) runs as the next batch. With the default
/// `maxQueueDelay` of zero no request ever waits for company, so batching adds no latency at
/// low load and saves engine calls at high load. Responses are split back per request, in
/// order. A request larger than the batch size is cut into batch-sized chunks that queue one
/// after another, so small requests to the same model run between them instead of waiting for
/// the whole of it. Every request carries a deadline: a sweeper answers a queued request with
/// 504 when its deadline passes, and its work is dropped (it never runs; a large request's later
/// chunks are not started). An engine call runs on the thread of the request that started it
/// (no thread hop on the fast path) and cannot be interrupted: a request whose deadline passes
/// while its call runs gets 504, not the late result, when the call returns — at most one
/// chunk's compute time late.
public final class DynamicBatcher: Sendable {
    public typealias Outputs = [String: Tensor]
    typealias Continuation = UnsafeContinuation<Result<Outputs, KeelError>, Never>

    /// One request's claim on an answer: resumed exactly once, by the engine or by the deadline.
    final class Ticket: Sendable {
        let deadline: ContinuousClock.Instant
        private let continuation: Continuation
        private let done = Atomic(false)

        init(deadline: ContinuousClock.Instant, continuation: Continuation) {
            self.deadline = deadline
            self.continuation = continuation
        }

        var isFinished: Bool { done.load(ordering: .acquiring) }

        /// Resumes the waiting request unless it was already answered.
        @discardableResult
        func finish(_ result: Result<Outputs, KeelError>) -> Bool {
            guard done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return false }
            continuation.resume(returning: result)
            return true
        }
    }

    struct Pending {
        let inputs: Outputs
        let rows: Int
        let key: BatchKey?
        let enqueued: ContinuousClock.Instant
        let ticket: Ticket
    }

    struct State {
        var queue: [Pending] = []
        var running = 0
        /// Every ticket not yet known to be finished, for the deadline sweeper.
        var live: [Ticket] = []
        var sweeping = false
    }

    let model: any LoadedModel
    let maxBatchSize: Int
    let maxQueueDelay: Duration
    let instances: Int
    /// Deadline of a request that names none: this long after it arrives.
    let requestTimeout: Duration
    let maxQueued: Int
    let metrics: VersionMetrics?
    /// How often the sweeper looks for requests past their deadline.
    let sweepInterval: Duration
    private let state = Mutex(State())

    public init(
        model: any LoadedModel, maxBatchSize: Int, maxQueueDelay: Duration = .zero, instances: Int = 1,
        requestTimeout: Duration = .seconds(30), maxQueued: Int = 8192, metrics: VersionMetrics? = nil,
        sweepInterval: Duration = .milliseconds(10)
    ) {
        self.model = model
        self.maxBatchSize = max(1, maxBatchSize)
        self.maxQueueDelay = maxQueueDelay
        self.instances = max(1, instances)
        self.requestTimeout = requestTimeout
        self.maxQueued = max(1, maxQueued)
        self.metrics = metrics
        self.sweepInterval = sweepInterval
    }

    /// Requests waiting for the engine.
    public var queuedRequests: Int { state.withLock { $0.queue.count } }

    /// Runs one request, possibly together with others, answering by `deadline` (default:
    /// `requestTimeout` from now) with its outputs or a 504.
    public func infer(_ inputs: Outputs, deadline: ContinuousClock.Instant? = nil) async throws(KeelError) -> Outputs {
        let deadline = deadline ?? .now + requestTimeout
        let key = BatchKey(inputs)
        guard let key, key.rows > maxBatchSize else {
            return try await submit(inputs, key: key, deadline: deadline)
        }
        return try await inChunks(inputs, key: key, deadline: deadline)
    }

    /// A large request as consecutive chunks of at most `maxBatchSize` rows, each queued
    /// behind whatever waits when the previous one is done.
    private func inChunks(_ inputs: Outputs, key: BatchKey, deadline: ContinuousClock.Instant) async throws(KeelError) -> Outputs {
        var parts: [Outputs] = []
        var start = 0
        while start < key.rows {
            let end = min(start + maxBatchSize, key.rows)
            let chunk = try BatchKey.slice(inputs, rows: start..<end)
            let out = try await submit(chunk, key: BatchKey(chunk), deadline: deadline)
            if start == 0, !BatchKey.isRowAligned(out, rows: end - start) {
                // Outputs that do not follow the rows (a model reducing over the batch): the
                // request must run whole, alone.
                return try await submit(inputs, key: nil, deadline: deadline)
            }
            parts.append(out)
            start = end
        }
        return try BatchKey.concatenate(parts)
    }

    private func submit(_ inputs: Outputs, key: BatchKey?, deadline: ContinuousClock.Instant) async throws(KeelError) -> Outputs {
        guard ContinuousClock.now < deadline else { throw Self.timeout(requestTimeout) }
        let rows = key?.rows ?? 0
        let result = await withUnsafeContinuation { (continuation: Continuation) in
            let ticket = Ticket(deadline: deadline, continuation: continuation)
            let pending = Pending(inputs: inputs, rows: rows, key: key, enqueued: .now, ticket: ticket)
            enum Admission { case start, queued, rejected }
            let (admission, startSweeper): (Admission, Bool) = state.withLock { s in
                if s.queue.count >= maxQueued { return (.rejected, false) }
                s.queue.append(pending)
                s.live.append(ticket)
                let sweeper = !s.sweeping
                s.sweeping = true
                if s.running < instances {
                    s.running += 1
                    return (.start, sweeper)
                }
                return (.queued, sweeper)
            }
            if startSweeper { scheduleSweep() }
            switch admission {
            case .start:
                if maxQueueDelay > .zero {
                    Task { try? await Task.sleep(for: maxQueueDelay); self.runBatches(limit: 1) }
                } else {
                    runBatches(limit: 1)
                }
            case .rejected:
                ticket.finish(.failure(KeelError(.unavailable, "model is overloaded: \(maxQueued) requests already queued")))
            case .queued:
                break
            }
        }
        return try result.get()
    }

    static func timeout(_ limit: Duration) -> KeelError {
        KeelError(.timeout, "request did not finish within its deadline (request timeout \(limit))")
    }

    // MARK: Deadlines

    /// The sweeper runs on a Dispatch queue, not the Swift cooperative pool, so engine calls
    /// blocking every cooperative thread cannot hold back a 504.
    private func scheduleSweep() {
        let (s, atto) = sweepInterval.components
        let nanos = Int(min(s, 3600)) * 1_000_000_000 + Int(atto / 1_000_000_000)
        DispatchQueue.global(qos: .userInitiated).asyncAfter(deadline: .now() + .nanoseconds(max(nanos, 100_000))) { [self] in
            if sweep() { scheduleSweep() }
        }
    }

    /// Answers every request past its deadline with a 504 and drops queued work nobody waits
    /// for; returns whether anything is still live.
    private func sweep() -> Bool {
        let now = ContinuousClock.now
        var expired: [Ticket] = []
        let alive = state.withLock { s -> Bool in
            s.live.removeAll { ticket in
                if ticket.isFinished { return true }
                if ticket.deadline <= now { expired.append(ticket); return true }
                return false
            }
            if !expired.isEmpty { s.queue.removeAll { $0.ticket.isFinished || $0.ticket.deadline <= now } }
            if s.live.isEmpty { s.sweeping = false }
            return !s.live.isEmpty
        }
        for ticket in expired { ticket.finish(.failure(Self.timeout(requestTimeout))) }
        return alive
    }

    // MARK: Batches

    /// Runs up to `limit` batches on the current thread, then hands any remaining queue to a
    /// new task so the caller that started this worker is not held back by others' work.
    private func runBatches(limit: Int) {
        var done = 0
        while true {
            let batch: [Pending]? = state.withLock { s in
                s.queue.removeAll { $0.ticket.isFinished }
                if s.queue.isEmpty {
                    s.running -= 1
                    return nil
                }
                if done >= limit { return [] }
                return takeBatch(&s)
            }
            guard let batch else { return }
            if batch.isEmpty {
                Task { self.runBatches(limit: 1) }
                return
            }
            execute(batch)
            done += 1
        }
    }

    /// Takes the oldest request and every later compatible one that fits, keeping order.
    private func takeBatch(_ s: inout State) -> [Pending] {
        var batch: [Pending] = []
        var rows = 0
        var kept: [Pending] = []
        var i = 0
        while i < s.queue.count {
            let p = s.queue[i]
            i += 1
            if batch.isEmpty {
                batch.append(p)
                rows = p.rows
                if p.key == nil || rows >= maxBatchSize { break }
                continue
            }
            if let key = p.key, key.compatible(with: batch[0].key), rows + p.rows <= maxBatchSize {
                batch.append(p)
                rows += p.rows
                if rows == maxBatchSize { break }
            } else {
                kept.append(p)
            }
        }
        // Requests skipped over stay queued ahead of the rest, in their original order.
        s.queue = kept + s.queue[i...]
        return batch
    }

    private func execute(_ batch: [Pending]) {
        let started = ContinuousClock.now
        for p in batch {
            metrics?.queueDuration.recordInterval(started - p.enqueued)
            metrics?.statistics.queued(started - p.enqueued)
        }
        if batch.count == 1 {
            let p = batch[0]
            p.ticket.finish(run(p.inputs, rows: p.rows))
            return
        }
        let merged: Outputs
        do {
            merged = try BatchKey.concatenate(batch.map(\.inputs))
        } catch {
            runEach(batch)
            return
        }
        let mergedAt = ContinuousClock.now
        let total = batch.reduce(0) { $0 + $1.rows }
        let (result, took) = timedRun(merged)
        switch result {
        case .success(let outputs):
            let splitStarted = ContinuousClock.now
            if let parts = try? BatchKey.split(outputs, rows: batch.map(\.rows)) {
                record(rows: total, requests: batch.count, input: mergedAt - started, infer: took, output: .now - splitStarted)
                for (p, part) in zip(batch, parts) { p.ticket.finish(.success(part)) }
            } else {
                record(rows: total, requests: 0, input: mergedAt - started, infer: took, output: .zero)
                // Outputs not split by rows: run each request alone.
                runEach(batch)
            }
        case .failure:
            record(rows: total, requests: 0, input: mergedAt - started, infer: took, output: .zero)
            // One bad request must not fail its neighbours: attribute errors individually.
            runEach(batch)
        }
    }

    private func runEach(_ batch: [Pending]) {
        for p in batch where !p.ticket.isFinished { p.ticket.finish(run(p.inputs, rows: p.rows)) }
    }

    /// One engine call for one request, recorded.
    private func run(_ inputs: Outputs, rows: Int) -> Result<Outputs, KeelError> {
        let (result, took) = timedRun(inputs)
        record(rows: rows, requests: 1, input: .zero, infer: took, output: .zero)
        return result
    }

    private func timedRun(_ inputs: Outputs) -> (Result<Outputs, KeelError>, Duration) {
        let t0 = ContinuousClock.now
        let result = Result { () throws(KeelError) -> Outputs in try model.infer(inputs) }
        return (result, ContinuousClock.now - t0)
    }

    /// An engine call of `rows` rows that answered `requests` requests (0: a merged call whose
    /// requests are run again one by one).
    private func record(rows: Int, requests: Int, input: Duration, infer: Duration, output: Duration) {
        guard let metrics else { return }
        metrics.computeDuration.recordInterval(infer)
        metrics.executions.increment()
        metrics.batchSize.record(rows)
        metrics.statistics.executed(rows: rows, requests: requests, input: input, infer: infer, output: output)
    }
}

extension CoreMetrics.Timer {
    func recordInterval(_ d: Duration) {
        let (seconds, attoseconds) = d.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
