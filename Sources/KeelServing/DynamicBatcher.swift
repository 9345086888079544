import CoreMetrics
import Foundation
import KeelCore
import KeelEngine
import Synchronization

/// Coalesces concurrent requests to one model version into shared engine calls.
///
/// While a batch runs, arriving requests queue; when it finishes, everything compatible that
/// queued meanwhile (up to `maxBatchSize` rows) runs as the next batch. With the default
/// `maxQueueDelay` of zero no request ever waits for company, so batching adds no latency at
/// low load and saves engine calls at high load. Responses are split back per request, in
/// order. A request larger than the batch size runs alone.
public final class DynamicBatcher: Sendable {
    public typealias Outputs = [String: Tensor]

    struct Pending {
        let inputs: [String: Tensor]
        let rows: Int
        let key: BatchKey?
        let enqueued: ContinuousClock.Instant
        let continuation: UnsafeContinuation<Result<Outputs, KeelError>, Never>
    }

    struct State {
        var queue: [Pending] = []
        var head = 0
        var running = 0
        var queued: Int { queue.count - head }
    }

    let model: any LoadedModel
    let maxBatchSize: Int
    let maxQueueDelay: Duration
    let instances: Int
    let queueTimeout: Duration
    let maxQueued: Int
    let metrics: VersionMetrics?
    private let state = Mutex(State())

    public init(
        model: any LoadedModel, maxBatchSize: Int, maxQueueDelay: Duration = .zero, instances: Int = 1,
        queueTimeout: Duration = .seconds(30), maxQueued: Int = 8192, metrics: VersionMetrics? = nil
    ) {
        self.model = model
        self.maxBatchSize = max(1, maxBatchSize)
        self.maxQueueDelay = maxQueueDelay
        self.instances = max(1, instances)
        self.queueTimeout = queueTimeout
        self.maxQueued = maxQueued
        self.metrics = metrics
    }

    /// Requests waiting for the engine.
    public var queuedRequests: Int { state.withLock { $0.queued } }

    /// Runs one request, possibly together with others.
    public func infer(_ inputs: Outputs) async throws(KeelError) -> Outputs {
        let key = BatchKey(inputs)
        let rows = key?.rows ?? 0
        let result = await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<Outputs, KeelError>, Never>) in
            let pending = Pending(inputs: inputs, rows: rows, key: key, enqueued: .now, continuation: continuation)
            enum Admission { case start, queued, rejected }
            let admission: Admission = state.withLock { s in
                if s.queued >= maxQueued { return .rejected }
                s.queue.append(pending)
                if s.running < instances {
                    s.running += 1
                    return .start
                }
                return .queued
            }
            switch admission {
            case .start:
                if maxQueueDelay > .zero {
                    Task { try? await Task.sleep(for: maxQueueDelay); self.runBatches(limit: 1) }
                } else {
                    runBatches(limit: 1)
                }
            case .rejected:
                continuation.resume(returning: .failure(KeelError(.unavailable, "model is overloaded: \(maxQueued) requests already queued")))
            case .queued:
                break
            }
        }
        return try result.get()
    }

    /// Runs up to `limit` batches on the current thread, then hands any remaining queue to a
    /// new task so the caller that started this worker is not held back by others' work.
    private func runBatches(limit: Int) {
        var done = 0
        while true {
            let batch: [Pending]? = state.withLock { s in
                if s.queued == 0 {
                    s.running -= 1
                    s.queue.removeAll(keepingCapacity: true)
                    s.head = 0
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
        let now = ContinuousClock.now
        var batch: [Pending] = []
        var rows = 0
        var kept: [Pending] = []
        var i = s.head
        while i < s.queue.count {
            let p = s.queue[i]
            i += 1
            if now - p.enqueued > queueTimeout {
                p.continuation.resume(returning: .failure(KeelError(.timeout, "request waited longer than \(queueTimeout) in the queue")))
                continue
            }
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
        let rest = Array(s.queue[i...])
        s.queue = kept + rest
        s.head = 0
        return batch
    }

    private func execute(_ batch: [Pending]) {
        let started = ContinuousClock.now
        for p in batch { metrics?.queueDuration.recordInterval(started - p.enqueued) }
        if batch.count == 1 {
            let p = batch[0]
            let result = run(p.inputs, rows: p.rows)
            p.continuation.resume(returning: result)
            return
        }
        let merged: Outputs
        do {
            merged = try BatchKey.concatenate(batch.map(\.inputs))
        } catch {
            for p in batch { p.continuation.resume(returning: run(p.inputs, rows: p.rows)) }
            return
        }
        let total = batch.reduce(0) { $0 + $1.rows }
        switch run(merged, rows: total) {
        case .success(let outputs):
            if let parts = try? BatchKey.split(outputs, rows: batch.map(\.rows)) {
                for (p, part) in zip(batch, parts) { p.continuation.resume(returning: .success(part)) }
            } else {
                // Outputs not split by rows: run each request alone.
                for p in batch { p.continuation.resume(returning: run(p.inputs, rows: p.rows)) }
            }
        case .failure:
            // One bad request must not fail its neighbours: attribute errors individually.
            for p in batch { p.continuation.resume(returning: run(p.inputs, rows: p.rows)) }
        }
    }

    private func run(_ inputs: Outputs, rows: Int) -> Result<Outputs, KeelError> {
        let t0 = ContinuousClock.now
        let result = Result { () throws(KeelError) -> Outputs in try model.infer(inputs) }
        if let metrics {
            metrics.computeDuration.recordInterval(ContinuousClock.now - t0)
            metrics.executions.increment()
            metrics.batchSize.record(rows)
        }
        return result
    }
}

extension CoreMetrics.Timer {
    func recordInterval(_ d: Duration) {
        let (seconds, attoseconds) = d.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// What must match for two requests to share an engine call: input names, datatypes and
/// every dimension but the first (the rows).
struct BatchKey: Equatable {
    let rows: Int
    let signature: [String: (DataType, [Int])]

    init?(_ inputs: [String: Tensor]) {
        var rows: Int?
        var signature: [String: (DataType, [Int])] = [:]
        for (name, t) in inputs {
            guard let first = t.shape.first else { return nil }
            if let r = rows, r != first { return nil }
            rows = first
            signature[name] = (t.dataType, Array(t.shape.dropFirst()))
        }
        guard let rows else { return nil }
        self.rows = rows
        self.signature = signature
    }

    func compatible(with other: BatchKey?) -> Bool {
        guard let other, other.signature.count == signature.count else { return false }
        for (name, (type, rest)) in signature {
            guard let (t, r) = other.signature[name], t == type, r == rest else { return false }
        }
        return true
    }

    static func == (a: BatchKey, b: BatchKey) -> Bool { a.rows == b.rows && a.compatible(with: b) }

    /// Stacks the requests' tensors along the first dimension.
    static func concatenate(_ requests: [[String: Tensor]]) throws(KeelError) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in requests[0].keys {
            let parts = requests.compactMap { $0[name] }
            guard parts.count == requests.count else { throw .invalidInput("inputs differ") }
            out[name] = try TensorRows.concatenate(parts)
        }
        return out
    }

    /// Splits every output into consecutive row ranges.
    static func split(_ outputs: [String: Tensor], rows: [Int]) throws(KeelError) -> [[String: Tensor]] {
        var parts = [[String: Tensor]](repeating: [:], count: rows.count)
        for (name, tensor) in outputs {
            let pieces = try TensorRows.split(tensor, rows: rows)
            for k in 0..<rows.count { parts[k][name] = pieces[k] }
        }
        return parts
    }
}
