import Foundation
import KeelCore
import KeelStore
import Logging
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// POSTs monitoring events as JSON to a webhook, off the monitoring path: a bounded queue
/// (full: dropped and counted), retries with exponential backoff, and a failing endpoint never
/// holds anything else up.
public final class WebhookNotifier: Sendable {
    private struct State {
        var queue: [MonitoringEventRecord] = []
        var waiter: CheckedContinuation<Void, Never>?
        var dropped = 0
        var delivered = 0
        var failed = 0
    }

    public let url: URL
    public let capacity: Int
    public let attempts: Int
    public let firstBackoff: Duration
    let logger: Logger
    private let state = Mutex(State())

    public init(url: URL, capacity: Int = 1000, attempts: Int = 5, firstBackoff: Duration = .seconds(1), logger: Logger = Logger(label: "keel.webhook")) {
        self.url = url
        self.capacity = max(1, capacity)
        self.attempts = max(1, attempts)
        self.firstBackoff = firstBackoff
        self.logger = logger
    }

    /// Queues an event; false when the queue is full.
    @discardableResult
    public func notify(_ event: MonitoringEventRecord) -> Bool {
        let (ok, wake) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
            guard s.queue.count < capacity else {
                s.dropped += 1
                return (false, nil)
            }
            s.queue.append(event)
            defer { s.waiter = nil }
            return (true, s.waiter)
        }
        wake?.resume()
        return ok
    }

    public var counts: (delivered: Int, failed: Int, dropped: Int) { state.withLock { ($0.delivered, $0.failed, $0.dropped) } }

    /// Delivers until cancelled.
    public func run() async {
        while !Task.isCancelled {
            let next = await nextEvent()
            guard let event = next else { continue }
            await deliver(event)
        }
    }

    private func nextEvent() async -> MonitoringEventRecord? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if !s.queue.isEmpty { return true }
                    s.waiter = c
                    return false
                }
                if ready { c.resume() }
            }
            return state.withLock { s -> MonitoringEventRecord? in s.queue.isEmpty ? nil : s.queue.removeFirst() }
        } onCancel: {
            let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            w?.resume()
        }
    }

    private func deliver(_ event: MonitoringEventRecord) async {
        var w = JSONWriter()
        w.value(event.json)
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(w.bytes)
        request.timeoutInterval = 10
        var backoff = firstBackoff
        for attempt in 1...attempts {
            if Task.isCancelled { return }
            do {
                let (_, response) = try await URLSession.shared.data(for: request)
                if let http = response as? HTTPURLResponse, (200..<300).contains(http.statusCode) {
                    state.withLock { $0.delivered += 1 }
                    return
                }
            } catch {}
            if attempt < attempts {
                try? await Task.sleep(for: backoff)
                backoff = backoff * 2
            }
        }
        state.withLock { $0.failed += 1 }
        logger.warning("webhook delivery failed", metadata: ["event": "\(event.kind)", "model": "\(event.model)", "attempts": "\(attempts)"])
    }
}
