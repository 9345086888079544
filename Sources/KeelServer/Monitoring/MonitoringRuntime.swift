import Foundation
import KeelMonitoring
import KeelRegistry
import KeelServing
import Logging
import ServiceLifecycle

/// Monitoring and rollouts as `keel serve` runs them: the prediction log writer (with its
/// metrics), the sampling monitor the inference service hands answers to, the background
/// monitoring controller, the deployment router with the rollout controller that feeds it,
/// and, when configured, the webhook notifier — each a service of the application.
public struct MonitoringRuntime: Sendable {
    public let writer: PredictionLogWriter
    public let monitor: PredictionMonitor
    public let service: MonitoringService
    public let controller: MonitoringController
    public let notifier: WebhookNotifier?
    public let router: DeploymentRouter
    public let rollouts: RolloutController
    public let shadow: ShadowRunner

    public init(registry: Registry, manager: ModelManager, configuration: ServerConfiguration, logger: Logger) {
        let m = manager.metrics
        writer = PredictionLogWriter(
            store: registry.store, capacity: configuration.logQueueRows,
            metrics: PredictionLogMetrics(
                written: m.counter("keel_prediction_log_written_total"), dropped: m.counter("keel_prediction_log_dropped_total"),
                lag: m.gauge("keel_prediction_log_lag_seconds", []), queued: m.gauge("keel_prediction_log_queued", [])),
            logger: logger)
        monitor = PredictionMonitor(writer: writer)
        service = MonitoringService(store: registry.store, manager: manager, registry: registry)
        notifier = configuration.webhookURL.map { WebhookNotifier(url: $0, logger: logger) }
        controller = MonitoringController(
            service: service, interval: configuration.monitoringInterval,
            retention: RetentionPolicy(maxAge: configuration.logRetention, maxRows: configuration.logMaxRows), notifier: notifier, logger: logger)
        router = DeploymentRouter()
        rollouts = RolloutController(registry: registry, router: router, monitoring: service, metrics: m, logger: logger)
        shadow = ShadowRunner(router: router, monitor: monitor, dropped: m.counter("keel_shadow_dropped_total"), logger: logger)
    }

    /// The background services: the log writer (flushed on shutdown), the controller, the webhook.
    public var services: [any Service] {
        var out: [any Service] = [
            BackgroundService { await writer.run() },
            BackgroundService { await controller.run() },
            BackgroundService { await rollouts.run() },
            BackgroundService { await shadow.run() },
        ]
        if let notifier { out.append(BackgroundService { await notifier.run() }) }
        return out
    }
}

/// A long-running task as an application service: cancelled at graceful shutdown.
struct BackgroundService: Service {
    let body: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown { await body() }
    }
}
