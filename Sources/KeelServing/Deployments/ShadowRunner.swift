import CoreMetrics
import Foundation
import KeelCore
import Logging
import Synchronization

/// Runs a shadow candidate on copies of live requests, off the response path: `submit` only
/// appends to a bounded queue (full: dropped and counted, the request never waits); `run`
/// infers each copy on the candidate, compares its answer with the stable version's (label
/// agreement, absolute score difference), counts its errors, and logs its predictions with
/// the arm `shadow` so latency checks see them. The answers are discarded.
public final class ShadowRunner: Sendable {
    public struct Job: Sendable {
        public var split: TrafficSplit
        public var candidate: ServedVersion
        public var inputs: [String: Tensor]
        public var stableOutputs: [String: Tensor]
        public var rows: Int
        public var requestID: String
        public var entityIDs: [String]?
        public var records: [[String: JSONValue]]?
    }

    private struct State {
        var jobs: [Job] = []
        var waiter: CheckedContinuation<Void, Never>?
        var idle: [CheckedContinuation<Void, Never>] = []
        var busy = false
        var dropped: Int64 = 0
    }

    public let router: DeploymentRouter
    public let monitor: PredictionMonitor?
    public let capacity: Int
    let droppedCounter: CoreMetrics.Counter?
    let logger: Logger
    private let state = Mutex(State())

    public init(
        router: DeploymentRouter, monitor: PredictionMonitor?, capacity: Int = 1_024, dropped: CoreMetrics.Counter? = nil,
        logger: Logger = Logger(label: "keel.shadow")
    ) {
        self.router = router
        self.monitor = monitor
        self.capacity = max(1, capacity)
        droppedCounter = dropped
        self.logger = logger
    }

    /// Requests dropped because the queue was full.
    public var dropped: Int64 { state.withLock { $0.dropped } }

    @discardableResult
    public func submit(_ job: Job) -> Bool {
        let (ok, wake) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
            guard s.jobs.count < capacity else {
                s.dropped += 1
                return (false, nil)
            }
            s.jobs.append(job)
            defer { s.waiter = nil }
            return (true, s.waiter)
        }
        wake?.resume()
        if !ok { droppedCounter?.increment() }
        return ok
    }

    /// Waits until every queued copy has been run (tests, shutdown).
    public func flush() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                if s.jobs.isEmpty && !s.busy { return true }
                s.idle.append(c)
                return false
            }
            if done { c.resume() }
        }
    }

    public func run() async {
        while !Task.isCancelled {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { s -> Bool in
                        if !s.jobs.isEmpty { return true }
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
            while let job = state.withLock({ s -> Job? in
                guard !s.jobs.isEmpty else { return nil }
                s.busy = true
                return s.jobs.removeFirst()
            }) {
                await execute(job)
                let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                    s.busy = false
                    guard s.jobs.isEmpty else { return [] }
                    defer { s.idle = [] }
                    return s.idle
                }
                for c in waiting { c.resume() }
            }
        }
    }

    func execute(_ job: Job) async {
        let started = ContinuousClock.now
        do {
            let outputs = try await job.candidate.infer(job.inputs)
            router.record(job.split, version: job.candidate.version, failed: false)
            let c = Self.compare(job.stableOutputs, outputs, rows: job.rows)
            router.recordShadow(job.split, version: job.candidate.version, rows: c.rows, agreed: c.agreed, absDiffSum: c.sum, absDiffMax: c.max)
            monitor?.record(
                job.candidate, arm: "shadow", requestID: job.requestID, entityIDs: job.entityIDs, records: job.records, inputs: job.inputs,
                outputs: outputs, started: started)
        } catch {
            router.record(job.split, version: job.candidate.version, failed: error.httpStatus >= 500)
        }
    }

    /// Label agreement and score differences of two answers to the same rows: the FP32
    /// `[N, C]` probabilities of classifiers (label by the larger class, 0.5 for binary), else
    /// the first FP32 output with N rows (regressors: no labels, every row "agrees").
    static func compare(_ a: [String: Tensor], _ b: [String: Tensor], rows n: Int) -> (rows: Int64, agreed: Int64, sum: Double, max: Double) {
        func scores(_ outputs: [String: Tensor]) -> (values: [Float], width: Int)? {
            let candidates = outputs.sorted { $0.key < $1.key }.map(\.value).filter { $0.dataType == .fp32 && $0.shape.first == n }
            let t = candidates.first { $0.shape.count == 2 && $0.shape[1] >= 2 } ?? candidates.first
            guard let t, let f = t.floats, n > 0 else { return nil }
            return (f, max(1, f.count / n))
        }
        guard let (x, wx) = scores(a), let (y, wy) = scores(b), wx == wy else { return (0, 0, 0, 0) }
        var agreed: Int64 = 0
        var sum = 0.0
        var largest = 0.0
        for r in 0..<n {
            var bestX = 0
            var bestY = 0
            for k in 1..<max(wx, 1) {
                if x[r * wx + k] > x[r * wx + bestX] { bestX = k }
                if y[r * wx + k] > y[r * wx + bestY] { bestY = k }
            }
            if wx == 2 {
                bestX = x[r * 2 + 1] > 0.5 ? 1 : 0
                bestY = y[r * 2 + 1] > 0.5 ? 1 : 0
            }
            if bestX == bestY { agreed += 1 }
            let k = wx == 2 ? 1 : (wx == 1 ? 0 : bestX)
            let d = abs(Double(x[r * wx + k]) - Double(y[r * wx + k]))
            if d.isFinite {
                sum += d
                largest = max(largest, d)
            }
        }
        return (Int64(n), agreed, sum, largest)
    }
}
