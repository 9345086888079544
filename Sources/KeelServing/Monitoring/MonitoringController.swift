import Foundation
import KeelCore
import KeelMonitoring
import KeelStore
import Logging
import Synchronization

/// How long monitoring keeps its data.
public struct RetentionPolicy: Sendable, Equatable {
    /// Predictions and labels older than this are deleted (nil: kept by age).
    public var maxAge: TimeInterval?
    /// At most this many predictions are kept (nil: no row cap).
    public var maxRows: Int?

    public init(maxAge: TimeInterval? = 30 * 86_400, maxRows: Int? = 10_000_000) {
        self.maxAge = maxAge
        self.maxRows = maxRows
    }
}

/// The background half of monitoring. On the replica holding the `monitoring` lease it
/// computes, at every interval, each served version's drift (default window, against its
/// reference) and live quality, stores them for every replica to serve, raises events when
/// drift starts or ends, quality crosses a floor or labels stop joining, and prunes the log.
/// Every replica refreshes its Prometheus gauges from the stored results, so any /metrics
/// shows them.
public final class MonitoringController: Sendable {
    public let service: MonitoringService
    public let interval: Duration
    public let retention: RetentionPolicy
    public let holder: String
    let notifier: WebhookNotifier?
    let logger: Logger
    private let ticks = Atomic<Int>(0)

    public init(
        service: MonitoringService, interval: Duration = .seconds(60), retention: RetentionPolicy = RetentionPolicy(),
        notifier: WebhookNotifier? = nil, holder: String = MonitoringController.replicaID(), logger: Logger = Logger(label: "keel.monitoring")
    ) {
        self.service = service
        self.interval = interval
        self.retention = retention
        self.notifier = notifier
        self.holder = holder
        self.logger = logger
    }

    /// This process's name among replicas.
    public static func replicaID() -> String {
        var g = SystemRandomNumberGenerator()
        return "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(String(g.next() & 0xFFFF_FFFF, radix: 16))"
    }

    /// Runs until cancelled.
    public func run() async {
        while !Task.isCancelled {
            await tick()
            try? await Task.sleep(for: interval)
        }
        try? await service.store.write { tx throws(KeelError) in try await tx.releaseLease(named: "monitoring", holder: holder) }
    }

    /// Completed rounds (for tests).
    public var rounds: Int { ticks.load(ordering: .relaxed) }

    /// One round: the monitoring work when this replica holds the lease, then the gauges.
    public func tick(now: Date = Date()) async {
        do {
            let (s, atto) = interval.components
            let ttl = max(15, 3 * (Double(s) + Double(atto) / 1e18))
            let leader = try await service.store.write { tx throws(KeelError) in
                try await tx.acquireLease(named: "monitoring", holder: holder, until: now.addingTimeInterval(ttl), now: now)
            }
            if leader { try await work(now: now) }
            try await refreshGauges()
        } catch {
            logger.warning("monitoring round failed", metadata: ["error": "\(error)"])
        }
        ticks.wrappingAdd(1, ordering: .relaxed)
    }

    /// The served (model, version) pairs.
    func servedVersions() -> [(model: String, version: String)] {
        service.manager.index().filter { $0.state == .ready }.flatMap { status in status.versions.map { (status.name, $0) } }
    }

    func work(now: Date) async throws(KeelError) {
        for (model, version) in servedVersions() {
            let v = try await service.version(model, version)
            if let drift = try await service.drift(model, version: version, window: nil) {
                let previous = try await stored(model, version, "drift")
                let doc = DriftView.json(drift.report, model: model, version: version, window: drift.window, at: now)
                try await save(model, version, "drift", doc, window: drift.window, now: now)
                let was = previous?["dataset_drift"] == .bool(true)
                if drift.report.datasetDrift != was, previous != nil || drift.report.datasetDrift {
                    let drifted = drift.report.columns.filter { $0.drifted == true }.map(\.name)
                    try await raise(
                        model, version, drift.report.datasetDrift ? .driftStarted : .driftEnded,
                        severity: drift.report.datasetDrift ? "warning" : "info",
                        message: drift.report.datasetDrift
                            ? "data drift in \(drift.report.driftedColumns) of \(drift.report.columns.count) columns (\(drifted.prefix(10).joined(separator: ", ")))"
                            : "data drift ended",
                        details: .object(["drift_share": .number(drift.report.driftShare), "drifted_columns": .array(drifted.map { .string($0) })]),
                        now: now)
                }
            }
            let quality = try await service.quality(model, version: version, window: nil)
            let previousQuality = try await stored(model, version, "quality")
            try await save(model, version, "quality", quality.json, window: quality.window, now: now)
            try await checkFloors(v, quality, previous: previousQuality, now: now)
            try await checkJoinRate(v, quality, now: now)
        }
        if retention.maxAge != nil || retention.maxRows != nil {
            let cutoff = retention.maxAge.map { now.addingTimeInterval(-$0) }
            let removed = try await service.store.write { tx throws(KeelError) in try await tx.pruneMonitoring(olderThan: cutoff, keepNewest: retention.maxRows) }
            if removed > 0 { logger.info("pruned the prediction log", metadata: ["rows": "\(removed)"]) }
        }
    }

    func checkFloors(_ v: MonitoredVersion, _ q: LiveQuality, previous: JSONValue?, now: Date) async throws(KeelError) {
        var failing: [String] = []
        for (metric, floor) in v.settings.qualityFloors.sorted(by: { $0.key < $1.key }) {
            if let value = q.report.metrics[metric] ?? nil, value < floor { failing.append("\(metric) \(Self.format(value)) < \(Self.format(floor))") }
        }
        for (metric, ceiling) in v.settings.qualityCeilings.sorted(by: { $0.key < $1.key }) {
            if let value = q.report.metrics[metric] ?? nil, value > ceiling { failing.append("\(metric) \(Self.format(value)) > \(Self.format(ceiling))") }
        }
        let wasFailing = previous?["failing_floors"]?.arrayValue.map { !$0.isEmpty } ?? false
        // Remember the verdict with the stored result, for the next round's comparison.
        if var doc = q.json.objectValue {
            doc["failing_floors"] = .array(failing.map { .string($0) })
            try await save(v.model, v.version, "quality", .object(doc), window: q.window, now: now)
        }
        if !failing.isEmpty, !wasFailing {
            try await raise(v.model, v.version, .qualityBelowFloor, severity: "critical",
                            message: "live quality outside its limits: \(failing.joined(separator: "; "))",
                            details: .object(["failing": .array(failing.map { .string($0) }), "labelled": .number(Double(q.labelled))]), now: now)
        } else if failing.isEmpty, wasFailing {
            try await raise(v.model, v.version, .qualityRecovered, severity: "info", message: "live quality back within its limits", details: nil, now: now)
        }
    }

    func checkJoinRate(_ v: MonitoredVersion, _ q: LiveQuality, now: Date) async throws(KeelError) {
        guard let minimum = v.settings.minimumJoinRate, q.labelled + q.unmatched >= 20 else { return }
        let rate = Double(q.labelled) / Double(q.labelled + q.unmatched)
        let key = "join_rate"
        let previous = try await stored(v.model, v.version, key)
        let wasLow = previous?["low"] == .bool(true)
        let low = rate < minimum
        try await save(v.model, v.version, key, .object(["rate": .number(rate), "low": .bool(low)]), window: q.window, now: now)
        if low, !wasLow {
            try await raise(v.model, v.version, .feedbackJoinRateLow, severity: "warning",
                            message: "only \(Int((rate * 100).rounded())) % of labels found their prediction (minimum \(Int((minimum * 100).rounded())) %)",
                            details: .object(["rate": .number(rate), "labelled": .number(Double(q.labelled)), "unmatched": .number(Double(q.unmatched))]), now: now)
        }
    }

    func stored(_ model: String, _ version: String, _ kind: String) async throws(KeelError) -> JSONValue? {
        guard let r = try await service.store.read({ db throws(KeelError) in try await db.monitoringResult(model: model, version: version, kind: kind) }) else {
            return nil
        }
        return try? JSONParser.parse(Array(r.report.utf8), errorCode: .internal)
    }

    func save(_ model: String, _ version: String, _ kind: String, _ doc: JSONValue, window: Window, now: Date) async throws(KeelError) {
        var w = JSONWriter(nonFinite: .null)
        w.value(doc)
        let record = MonitoringResultRecord(
            model: model, version: version, kind: kind, computedAt: now, window: window.description, report: String(decoding: w.bytes, as: UTF8.self))
        try await service.store.write { tx throws(KeelError) in try await tx.saveMonitoringResult(record) }
    }

    func raise(_ model: String, _ version: String, _ kind: MonitoringEventKind, severity: String, message: String, details: JSONValue?, now: Date) async throws(KeelError) {
        var text: String?
        if let details {
            var w = JSONWriter(nonFinite: .null)
            w.value(details)
            text = String(decoding: w.bytes, as: UTF8.self)
        }
        var event = MonitoringEventRecord(at: now, model: model, version: version, kind: kind.rawValue, severity: severity, message: message, details: text)
        event.id = try await service.store.write { tx throws(KeelError) in try await tx.appendMonitoringEvent(event) }
        logger.notice("monitoring event", metadata: ["model": "\(model)", "version": "\(version)", "kind": "\(kind.rawValue)", "message": "\(message)"])
        notifier?.notify(event)
    }

    /// Sets the drift and quality gauges from the stored results (every replica).
    func refreshGauges() async throws(KeelError) {
        let metrics = service.manager.metrics
        for (model, version) in servedVersions() {
            if let drift = try await stored(model, version, "drift") {
                let dims = [("model", model), ("version", version)]
                if let share = drift["drift_share"]?.doubleValue { metrics.gauge("keel_drift_share", dims).record(share) }
                metrics.gauge("keel_dataset_drift", dims).record(drift["dataset_drift"] == .bool(true) ? 1 : 0)
                for (scope, key) in [("raw", "columns"), ("encoded", "encoded_columns")] {
                    for c in drift[key]?.arrayValue ?? [] {
                        guard let name = c["name"]?.stringValue, let score = c["score"]?.doubleValue else { continue }
                        let cd = dims + [("column", name), ("scope", scope), ("method", c["method"]?.stringValue ?? "")]
                        metrics.gauge("keel_drift_score", cd).record(score)
                        metrics.gauge("keel_drift_detected", cd).record(c["drifted"] == .bool(true) ? 1 : 0)
                    }
                }
                if let p = drift["prediction"], let score = p["score"]?.doubleValue {
                    let cd = dims + [("column", "prediction"), ("scope", "prediction"), ("method", p["method"]?.stringValue ?? "")]
                    metrics.gauge("keel_drift_score", cd).record(score)
                    metrics.gauge("keel_drift_detected", cd).record(p["drifted"] == .bool(true) ? 1 : 0)
                }
            }
            if let quality = try await stored(model, version, "quality") {
                let window = quality["window"]?.stringValue ?? ""
                let dims = [("model", model), ("version", version), ("window", window)]
                for (metric, value) in quality["metrics"]?.objectValue ?? [:] {
                    guard let v = value.doubleValue else { continue }
                    metrics.gauge("keel_quality", dims + [("metric", metric)]).record(v)
                }
                if let n = quality["labelled"]?.doubleValue { metrics.gauge("keel_labelled_predictions", dims).record(n) }
                if let n = quality["unmatched"]?.doubleValue { metrics.gauge("keel_feedback_unmatched", dims).record(n) }
                // 1 while a floor or ceiling of the model's monitoring settings is broken (the
                // `quality_below_floor` event's state), for alerting without repeating the limits.
                if let failing = quality["failing_floors"]?.arrayValue {
                    metrics.gauge("keel_quality_below_floor", [("model", model), ("version", version)]).record(failing.isEmpty ? 0 : 1)
                }
            }
        }
    }

    static func format(_ d: Double) -> String { String(format: "%.4g", d) }
}
