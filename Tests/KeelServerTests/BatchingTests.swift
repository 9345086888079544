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

    @Test func queueTimeoutFailsWaitingRequests() async throws {
        let gate = Gate()
        gate.close()
        let batcher = DynamicBatcher(model: GatedDoubler(gate: gate), maxBatchSize: 1, queueTimeout: .milliseconds(10))
        // The first request holds the engine until the others have queued and outlived the timeout.
        let opener = Task {
            let deadline = ContinuousClock.now + .seconds(10)
            while batcher.queuedRequests < 3, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
            try await Task.sleep(for: .milliseconds(30))
            gate.open()
        }
        let results = await withTaskGroup(of: KeelError?.self) { group in
            for i in 0..<4 {
                group.addTask {
                    do {
                        _ = try await batcher.infer(["x": Tensor(unchecked: [1, 1], data: .fp32([Float(i)]))])
                        return nil
                    } catch {
                        return error as? KeelError
                    }
                }
            }
            var errors: [KeelError?] = []
            for await e in group { errors.append(e) }
            return errors
        }
        try await opener.value
        #expect(results.filter { $0 == nil }.count == 1)
        #expect(results.filter { $0?.code == .timeout }.count == 3)
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
