import Foundation
import Hummingbird
import Synchronization
import HummingbirdTesting
import KeelCore
import KeelEngine
import KeelServing
import Testing
@testable import KeelServer

/// Dynamic batching: concurrent requests share engine calls and each gets its own rows back.
@Suite(.serialized) struct BatchingTests {
    @Test func concurrentRequestsAreCoalescedAndSplitBackInOrder() async throws {
        let manager = try await TestServer.manager(repository: nil)
        var config = ModelConfig()
        config.maxBatchSize = 64
        let gate = Gate()
        try await manager.add(name: "double", version: "1", model: GatedDoubler(gate: gate), config: config)
        let served = try manager.resolve("double")
        let requests = 60
        // The engine holds its first call until every other request has queued behind it, so
        // coalescing is certain however the test machine schedules tasks.
        gate.close()
        let opener = Task {
            let deadline = ContinuousClock.now + .seconds(10)
            while served.batcher.queuedRequests < requests - 1, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(2))
            }
            gate.open()
        }
        let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for i in 0..<requests {
                group.addTask {
                    // Request i sends rows [i, i + 0.5] (two rows, so splitting is by row count).
                    let x = Tensor(unchecked: [2, 1], data: .fp32([Float(i), Float(i) + 0.5]))
                    let out = try await served.infer(["x": x])
                    return (i, out["y"]?.floats ?? [])
                }
            }
            var all: [(Int, [Float])] = []
            for try await r in group { all.append(r) }
            return all
        }
        try await opener.value
        #expect(results.count == requests)
        for (i, y) in results {
            #expect(y == [Float(2 * i), Float(2 * i) + 1], "request \(i) got \(y)")
        }
        let text = String(decoding: manager.metrics.exposition(), as: UTF8.self)
        let executions = try #require(Self.value(text, #"keel_inference_executions_total{model="double",version="1"}"#))
        // Warm-up, the held call, then 59 queued requests of 2 rows in batches of up to 64 rows.
        #expect(executions < Double(requests) / 2, "executions: \(executions)")
        let batchCount = try #require(Self.value(text, #"keel_inference_batch_size_count{model="double",version="1"}"#))
        let batchSum = try #require(Self.value(text, #"keel_inference_batch_size_sum{model="double",version="1"}"#))
        #expect(batchSum / batchCount > 2, "mean batch size \(batchSum / batchCount)")

        // The statistics extension counts the same events: 60 answered requests of 2 rows,
        // fewer engine calls, and batches of several requests in the per-size table.
        let stats = served.metrics.statistics.snapshot()
        #expect(stats.success.count == Int64(requests) && stats.fail.count == 0)
        #expect(stats.inferenceCount == Int64(2 * requests))
        #expect(Double(stats.executionCount) == executions)
        #expect(stats.queue.count == stats.computeInfer.count && stats.computeInfer.count >= Int64(requests))
        #expect(stats.batches.reduce(0) { $0 + $1.computeInfer.count } == stats.executionCount)
        #expect(stats.batches.reduce(0) { $0 + Int64($1.size) * $1.computeInfer.count } >= Int64(2 * requests))
        #expect(stats.batches.contains { $0.size > 2 && $0.computeInput.count > 0 })
        #expect(stats.success.ns > 0 && stats.computeInfer.ns > 0)
    }

    @Test func aBadRequestDoesNotFailItsBatch() async throws {
        let manager = try await TestServer.manager(repository: nil)
        try await manager.add(name: "double", version: "1", model: SlowDoubler(delay: 0.003))
        let served = try manager.resolve("double")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask {
                    if i % 5 == 0 {
                        let bad = Tensor(unchecked: [1, 2], data: .fp32([1, 2]))
                        await #expect(throws: KeelError.self) { try await served.infer(["x": bad]) }
                    } else {
                        let x = Tensor(unchecked: [1, 1], data: .fp32([Float(i)]))
                        let y = try await served.infer(["x": x])["y"]?.floats
                        #expect(y == [Float(2 * i)])
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func requestsLargerThanTheBatchRunAlone() async throws {
        let manager = try await TestServer.manager(repository: nil)
        var config = ModelConfig()
        config.maxBatchSize = 4
        try await manager.add(name: "double", version: "1", model: SlowDoubler(delay: 0.001), config: config)
        let x = Tensor(unchecked: [10, 1], data: .fp32((0..<10).map(Float.init)))
        let y = try await manager.resolve("double").infer(["x": x])["y"]?.floats
        #expect(y == (0..<10).map { Float(2 * $0) })
    }

    @Test func unloadingWhileRequestsAreInFlightLetsThemFinish() async throws {
        let manager = try await TestServer.manager(repository: nil)
        try await manager.add(name: "double", version: "1", model: SlowDoubler(delay: 0.02))
        let served = try manager.resolve("double")
        let inFlight = (0..<8).map { i in
            Task { try await served.infer(["x": Tensor(unchecked: [1, 1], data: .fp32([Float(i)]))])["y"]?.floats }
        }
        try await Task.sleep(for: .milliseconds(5))
        try manager.unload("double")
        for (i, task) in inFlight.enumerated() {
            #expect(try await task.value == [Float(2 * i)])
        }
        #expect(throws: KeelError.self) { try manager.resolve("double") }
        try await TestServer.app(manager).test(.router) { client in
            let r = try await client.execute(uri: "/v2/models/double/infer", method: .post, body: TestServer.body(#"{"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[1]}]}"#))
            #expect(r.status == .serviceUnavailable)
        }
    }

    @Test func requestsPastTheirDeadlineGet504WhetherQueuedOrRunning() async throws {
        let gate = Gate()
        gate.close()
        let batcher = DynamicBatcher(model: GatedDoubler(gate: gate), maxBatchSize: 1, requestTimeout: .milliseconds(50))
        // The first request holds the engine; three more queue behind it. The queued ones are
        // answered with 504 at their deadline while the engine is still held; the running one
        // gets 504, not its late result, as soon as the engine lets go.
        let finished = FinishOrder()
        let tasks = (0..<4).map { i in
            Task { () -> KeelError? in
                defer { finished.record("\(i)") }
                do {
                    _ = try await batcher.infer(["x": Tensor(unchecked: [1, 1], data: .fp32([Float(i)]))])
                    return nil
                } catch {
                    return error as? KeelError
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while finished.order.count < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(finished.order.count == 3, "queued requests were not answered while the engine was held")
        gate.open()
        var codes: [KeelError.Code?] = []
        for t in tasks { codes.append(await t.value?.code) }
        #expect(codes.allSatisfy { $0 == .timeout }, "\(codes)")
    }

    @Test func aRequestThatMissedItsDeadlineIsNeverRun() async throws {
        let gate = Gate()
        gate.close()
        let counter = CallCounter()
        let batcher = DynamicBatcher(model: CountingDoubler(gate: gate, calls: counter), maxBatchSize: 1, requestTimeout: .milliseconds(30))
        async let first: Void = { _ = try? await batcher.infer(["x": Tensor(unchecked: [1, 1], data: .fp32([1]))]) }()
        try await Task.sleep(for: .milliseconds(5))
        async let second: Void = { _ = try? await batcher.infer(["x": Tensor(unchecked: [1, 1], data: .fp32([2]))]) }()
        try await Task.sleep(for: .milliseconds(100))
        gate.open()
        _ = await (first, second)
        try await Task.sleep(for: .milliseconds(50))
        // The held call ran; the queued request that timed out meanwhile was dropped, not run.
        #expect(counter.value == 1)
    }

    @Test func aLargeRequestDoesNotStarveSmallOnes() async throws {
        let manager = try await TestServer.manager(repository: nil)
        var config = ModelConfig()
        config.maxBatchSize = 4
        try await manager.add(name: "double", version: "1", model: SlowDoubler(delay: 0.01), config: config)
        let served = try manager.resolve("double")
        let finish = FinishOrder()
        // 200 rows in chunks of 4: 50 engine calls of 10 ms each.
        let large = Task {
            let x = Tensor(unchecked: [200, 1], data: .fp32((0..<200).map(Float.init)))
            let y = try await served.infer(["x": x])["y"]?.floats
            finish.record("large")
            return y
        }
        try await Task.sleep(for: .milliseconds(30))
        let small = try await served.infer(["x": Tensor(unchecked: [1, 1], data: .fp32([21]))])["y"]?.floats
        finish.record("small")
        #expect(small == [42])
        #expect(try await large.value == (0..<200).map { Float(2 * $0) })
        #expect(finish.order == ["small", "large"])
    }

    static func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

/// A latch the test opens once the batcher's queue has filled.
final class Gate: Sendable {
    private let isOpen = Mutex(true)
    func close() { isOpen.withLock { $0 = false } }
    func open() { isOpen.withLock { $0 = true } }
    /// Blocks the calling thread until open (at most 10 s).
    func wait() {
        let deadline = ContinuousClock.now + .seconds(10)
        while !isOpen.withLock({ $0 }), ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.001) }
    }
}

/// Doubles FP32 rows; each call first waits for the gate.
struct GatedDoubler: LoadedModel {
    let gate: Gate
    let metadata = SlowDoubler(delay: 0).metadata

    func infer(_ inputs: [String: Tensor]) throws(KeelError) -> [String: Tensor] {
        gate.wait()
        return try SlowDoubler(delay: 0).infer(inputs)
    }
}

/// Counts engine calls.
final class CallCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// A gated doubler that counts its calls (the warm-up-free batcher tests call it directly).
struct CountingDoubler: LoadedModel {
    let gate: Gate
    let calls: CallCounter
    let metadata = SlowDoubler(delay: 0).metadata

    func infer(_ inputs: [String: Tensor]) throws(KeelError) -> [String: Tensor] {
        calls.increment()
        gate.wait()
        return try SlowDoubler(delay: 0).infer(inputs)
    }
}

/// The order in which tasks finished.
final class FinishOrder: Sendable {
    private let names = Mutex<[String]>([])
    func record(_ name: String) { names.withLock { $0.append(name) } }
    var order: [String] { names.withLock { $0 } }
}
