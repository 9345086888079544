import CoreMetrics
import Foundation
import KeelCore
import KeelStore
import Logging
import Synchronization

/// Counters and gauges of the prediction log (created by the server's metrics factory).
public struct PredictionLogMetrics: Sendable {
    public var written: CoreMetrics.Counter?
    public var dropped: CoreMetrics.Counter?
    /// Seconds between a prediction and its row landing in the store.
    public var lag: CoreMetrics.Gauge?
    public var queued: CoreMetrics.Gauge?

    public init(written: CoreMetrics.Counter? = nil, dropped: CoreMetrics.Counter? = nil, lag: CoreMetrics.Gauge? = nil, queued: CoreMetrics.Gauge? = nil) {
        self.written = written
        self.dropped = dropped
        self.lag = lag
        self.queued = queued
    }
}

/// Records predictions off the request path: `submit` only appends to a bounded queue (when
/// it is full the prediction is dropped and counted — a prediction never waits for the log);
/// `run` turns queued requests into rows and writes them in batches, one transaction each.
public final class PredictionLogWriter: Sendable {
    private struct State {
        var events: [PredictionEvent] = []
        var rows = 0
        var waiter: CheckedContinuation<Void, Never>?
        var idle: [CheckedContinuation<Void, Never>] = []
        var writing = false
        var dropped: Int64 = 0
        var written: Int64 = 0
        var stopped = false
    }

    public let store: any Store
    /// Most rows waiting to be written.
    public let capacity: Int
    /// Most rows per transaction.
    public let batchRows: Int
    /// How long the writer lets rows gather after the first arrives before it writes them, so a
    /// busy server commits a few large transactions a second rather than one per request.
    public let linger: Duration
    let metrics: PredictionLogMetrics
    let logger: Logger
    private let state = Mutex(State())

    public init(store: any Store, capacity: Int = 200_000, batchRows: Int = 5_000, linger: Duration = .milliseconds(50), metrics: PredictionLogMetrics = PredictionLogMetrics(), logger: Logger = Logger(label: "keel.prediction-log")) {
        self.store = store
        self.capacity = max(1, capacity)
        self.batchRows = max(1, batchRows)
        self.linger = max(.zero, linger)
        self.metrics = metrics
        self.logger = logger
    }

    /// Queues one answered request; false (and counted) when the queue is full.
    @discardableResult
    public func submit(_ event: PredictionEvent) -> Bool {
        let n = event.rows
        let (accepted, wake) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
            if s.stopped || s.rows + n > capacity {
                s.dropped += Int64(n)
                return (false, nil)
            }
            s.events.append(event)
            s.rows += n
            let w = s.waiter
            s.waiter = nil
            return (true, w)
        }
        if !accepted { metrics.dropped?.increment(by: Int64(n)) }
        wake?.resume()
        return accepted
    }

    /// Rows dropped and written so far.
    public var counts: (dropped: Int64, written: Int64) { state.withLock { ($0.dropped, $0.written) } }

    /// Writes until cancelled, then flushes what is queued.
    public func run() async {
        while !Task.isCancelled {
            await waitForWork()
            if linger > .zero, state.withLock({ $0.rows < batchRows && !$0.stopped }) {
                try? await Task.sleep(for: linger)
            }
            await drain()
        }
        await drain()
        state.withLock { $0.stopped = true }
    }

    /// Waits until everything queued so far has been written (tests, shutdown).
    public func flush() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                if s.events.isEmpty && !s.writing { return true }
                s.idle.append(c)
                return false
            }
            if done { c.resume() }
        }
    }

    private func waitForWork() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if !s.events.isEmpty || s.stopped { return true }
                    s.waiter = c
                    return false
                }
                if ready { c.resume() }
            }
        } onCancel: {
            let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            w?.resume()
        }
    }

    private func drain() async {
        while true {
            let taken = state.withLock { s -> [PredictionEvent] in
                var k = 0
                var rows = 0
                while k < s.events.count, rows < batchRows {
                    rows += s.events[k].rows
                    k += 1
                }
                let out = Array(s.events.prefix(k))
                s.events.removeFirst(k)
                s.rows -= rows
                s.writing = !out.isEmpty
                return out
            }
            metrics.queued?.record(Double(state.withLock { $0.rows }))
            guard !taken.isEmpty else {
                let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                    s.writing = false
                    defer { s.idle = [] }
                    return s.events.isEmpty ? s.idle : []
                }
                for c in waiting { c.resume() }
                return
            }
            let rows = taken.flatMap(PredictionRows.records)
            do {
                try await store.write { tx throws(KeelError) in try await tx.appendPredictions(rows) }
                state.withLock { $0.written += Int64(rows.count) }
                metrics.written?.increment(by: Int64(rows.count))
                if let oldest = taken.first?.at { metrics.lag?.record(Date().timeIntervalSince(oldest)) }
            } catch {
                state.withLock { $0.dropped += Int64(rows.count) }
                metrics.dropped?.increment(by: Int64(rows.count))
                logger.warning("prediction log write failed; rows dropped", metadata: ["rows": "\(rows.count)", "error": "\(error)"])
            }
        }
    }
}
