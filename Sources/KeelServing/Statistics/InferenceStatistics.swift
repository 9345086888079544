import Foundation
import Synchronization

/// What one model version has done, in the shape of Triton's statistics extension, counted as
/// it happens (atomics on the request path; one small lock per engine call for the per-size
/// batch table). Durations are nanoseconds, summed.
///
/// - `success` / `fail`: requests answered, and the time from arrival at the version to the
///   answer (validation, queue and compute).
/// - `queue`: each request's wait for the engine.
/// - `compute_input` / `compute_infer` / `compute_output`: per request, the engine call it rode
///   in — merging the batch's inputs, the model, splitting the outputs back (zero-cost merge and
///   split for a request that ran alone).
/// - `cache_hit` / `cache_miss`: prediction-cache lookups, when the version has a cache.
/// - `inference_count`: rows answered; `execution_count`: engine calls.
/// - per batch size (rows per engine call): how many calls and their input/infer/output time.
public final class InferenceStatistics: Sendable {
    public struct Duration: Sendable, Equatable {
        public var count: Int64 = 0
        public var ns: Int64 = 0
    }

    public struct BatchSize: Sendable, Equatable {
        public var size: Int
        public var computeInput = Duration()
        public var computeInfer = Duration()
        public var computeOutput = Duration()
    }

    public struct Snapshot: Sendable, Equatable {
        public var lastInferenceMs: Int64
        public var inferenceCount: Int64
        public var executionCount: Int64
        public var success, fail, queue, computeInput, computeInfer, computeOutput, cacheHit, cacheMiss: Duration
        public var batches: [BatchSize]
    }

    /// Most distinct batch sizes tracked (a version's batch size bounds them anyway).
    static let maxBatchSizes = 4096

    private final class Pair: Sendable {
        let count = Atomic<Int64>(0)
        let ns = Atomic<Int64>(0)
        func add(_ ns: Int64, count: Int64 = 1) {
            self.count.wrappingAdd(count, ordering: .relaxed)
            self.ns.wrappingAdd(ns, ordering: .relaxed)
        }
        var value: Duration { Duration(count: count.load(ordering: .relaxed), ns: ns.load(ordering: .relaxed)) }
    }

    private let success = Pair(), fail = Pair(), queue = Pair()
    private let input = Pair(), infer = Pair(), output = Pair()
    private let hit = Pair(), miss = Pair()
    private let inferences = Atomic<Int64>(0)
    private let executions = Atomic<Int64>(0)
    private let last = Atomic<Int64>(0)
    private let sizes = Mutex<[Int: BatchSize]>([:])

    public init() {}

    static func nanoseconds(_ d: Swift.Duration) -> Int64 {
        let (s, atto) = d.components
        return s.multipliedReportingOverflow(by: 1_000_000_000).partialValue &+ atto / 1_000_000_000
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    func succeeded(after d: Swift.Duration, rows: Int) {
        success.add(Self.nanoseconds(d))
        inferences.wrappingAdd(Int64(rows), ordering: .relaxed)
        last.store(Self.nowMs(), ordering: .relaxed)
    }

    func failed(after d: Swift.Duration) {
        fail.add(Self.nanoseconds(d))
        last.store(Self.nowMs(), ordering: .relaxed)
    }

    func queued(_ d: Swift.Duration) { queue.add(Self.nanoseconds(d)) }

    func cacheLookup(hit found: Bool, _ d: Swift.Duration) { (found ? hit : miss).add(Self.nanoseconds(d)) }

    /// One engine call of `rows` rows serving `requests` requests.
    func executed(rows: Int, requests: Int, input: Swift.Duration, infer: Swift.Duration, output: Swift.Duration) {
        let (i, n, o) = (Self.nanoseconds(input), Self.nanoseconds(infer), Self.nanoseconds(output))
        let r = Int64(requests)
        self.input.add(i &* r, count: r)
        self.infer.add(n &* r, count: r)
        self.output.add(o &* r, count: r)
        executions.wrappingAdd(1, ordering: .relaxed)
        sizes.withLock { table in
            guard table[rows] != nil || table.count < Self.maxBatchSizes else { return }
            var entry = table[rows] ?? BatchSize(size: rows)
            entry.computeInput.count += 1
            entry.computeInput.ns &+= i
            entry.computeInfer.count += 1
            entry.computeInfer.ns &+= n
            entry.computeOutput.count += 1
            entry.computeOutput.ns &+= o
            table[rows] = entry
        }
    }

    public func snapshot() -> Snapshot {
        Snapshot(
            lastInferenceMs: last.load(ordering: .relaxed), inferenceCount: inferences.load(ordering: .relaxed),
            executionCount: executions.load(ordering: .relaxed),
            success: success.value, fail: fail.value, queue: queue.value,
            computeInput: input.value, computeInfer: infer.value, computeOutput: output.value,
            cacheHit: hit.value, cacheMiss: miss.value,
            batches: sizes.withLock { Array($0.values) }.sorted { $0.size < $1.size })
    }
}
