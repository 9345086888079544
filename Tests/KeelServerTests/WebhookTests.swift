import Foundation
import Hummingbird
import KeelCore
import KeelMonitoring
import KeelStore
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Monitoring events reach a webhook as JSON, with retries when it fails, and a full queue
/// drops instead of blocking.
@Suite struct WebhookTests {
    final class Inbox: Sendable {
        let bodies = Mutex<[String]>([])
        let calls = Atomic<Int>(0)
    }

    @Test func eventsArePostedAndFailedDeliveriesRetried() async throws {
        let inbox = Inbox()
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            let n = inbox.calls.wrappingAdd(1, ordering: .relaxed).newValue
            var buffer = try await request.body.collect(upTo: 1 << 20)
            inbox.bodies.withLock { $0.append(buffer.readString(length: buffer.readableBytes) ?? "") }
            return n == 1 ? .internalServerError : .ok  // the first attempt fails
        }
        let port = PortBox()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { port.set($0.localAddress?.port ?? 0) }, logger: logger)
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        // Generous: in the full suite on 2 cores, CPU-bound tests can hold the cooperative pool
        // for tens of seconds before this test's server gets to bind.
        let deadline = ContinuousClock.now + .seconds(120)
        while port.value == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let bound = try #require(port.value)
        let url = try #require(URL(string: "http://127.0.0.1:\(bound)/hook"))
        let notifier = WebhookNotifier(url: url, capacity: 2, attempts: 3, firstBackoff: .milliseconds(20), logger: logger)
        let event = MonitoringEventRecord(id: 7, model: "churn", version: "2", kind: "drift_started", severity: "warning", message: "drift", details: #"{"drift_share":0.6}"#)
        #expect(notifier.notify(event))
        let delivery = Task { await notifier.run() }
        while notifier.counts.delivered == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        delivery.cancel()
        #expect(notifier.counts.delivered == 1)
        #expect(inbox.calls.load(ordering: .relaxed) == 2)
        let body = try JSONParser.parse(Array((inbox.bodies.withLock { $0.last } ?? "").utf8), errorCode: .invalidInput)
        #expect(body["kind"] == "drift_started" && body["model"] == "churn" && body["details"]?["drift_share"] == 0.6)
        // Nobody draining: the queue holds two, the third is dropped and counted.
        let idle = WebhookNotifier(url: url, capacity: 2)
        #expect(idle.notify(event) && idle.notify(event))
        #expect(!idle.notify(event))
        #expect(idle.counts.dropped == 1)
    }
}
