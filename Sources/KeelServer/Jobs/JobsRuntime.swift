import Foundation
import KeelCore
import KeelJobs
import KeelRegistry
import KeelServing
import Logging
import ServiceLifecycle
import Synchronization

/// Batch jobs as `keel serve` runs them: the shared queue (API), and this replica's worker
/// scoring chunks through the same inference service (batcher, cache, breaker, log) as online
/// traffic. A job's pinned version is served from the loaded ones, else loaded from the
/// registry for the job (kept while jobs use it).
public final class JobsRuntime: Sendable {
    public let queue: JobQueue
    public let worker: JobWorker
    public let maxUploadBytes: Int64
    let manager: ModelManager
    let follower: RegistryFollower?
    /// Registry versions loaded for jobs alone, by `model\0version`.
    private let loaded = Mutex<[String: ServedVersion]>([:])

    public init(
        registry: Registry, manager: ModelManager, follower: RegistryFollower?, monitoring: MonitoringRuntime?, configuration: ServerConfiguration,
        logger: Logger, poll: Duration = .milliseconds(500)
    ) throws(KeelError) {
        self.manager = manager
        self.follower = follower
        self.maxUploadBytes = configuration.maxUploadBytes
        let (s, atto) = configuration.jobLease.components
        queue = try JobQueue(
            store: registry.store, dataFolder: configuration.dataDirectory.standardizedFileURL.path, allowedFolders: configuration.batchFolders,
            holder: MonitoringController.replicaID(), lease: Double(s) + Double(atto) / 1e18)
        let service = InferenceService(
            manager: manager, monitor: monitoring?.monitor, router: monitoring?.router ?? DeploymentRouter(), shadow: monitoring?.shadow)
        let holder = Holder()
        worker = JobWorker(
            queue: queue, service: service, versions: { model, version throws(KeelError) in try await holder.versions(model, version) },
            concurrency: configuration.batchWorkers, poll: poll, metrics: JobMetrics(factory: manager.metrics.metricsFactory), logger: logger)
        holder.runtime.withLock { $0 = self }
    }

    /// Breaks the reference cycle between the worker's version source and the runtime.
    private final class Holder: Sendable {
        let runtime = Mutex<JobsRuntime?>(nil)
        func versions(_ model: String, _ version: String) async throws(KeelError) -> ServedVersion {
            guard let r = runtime.withLock({ $0 }) else { throw KeelError(.unavailable, "the server is stopping") }
            return try await r.version(model, version)
        }
    }

    /// The version a job scores with: loaded here, else from the registry.
    public func version(_ model: String, _ version: String) async throws(KeelError) -> ServedVersion {
        if let served = manager.served(model, version: version) { return served }
        let key = model + "\u{0}" + version
        if let served = loaded.withLock({ $0[key] }) { return served }
        guard let follower, let number = Int(version) else {
            throw KeelError(.unavailable, "model '\(model)' version \(version) is not loaded on this server")
        }
        let served = try await follower.load(model: model, version: number)
        loaded.withLock { cache in
            if cache.count >= 4 { cache.removeAll() }  // a few pinned versions at most
            cache[key] = served
        }
        return served
    }

    /// Resolves what a submit asks for (a version, an alias, or production) to a version number.
    public func resolve(_ model: String, _ asked: String?) async throws(KeelError) -> ServedVersion {
        do {
            return try manager.resolve(model, version: asked)
        } catch let error where error.code == .notFound || error.code == .unavailable {
            // A registry version no alias holds: scored by loading it for the job.
            guard let asked, let follower, let number = Int(asked), number > 0 else { throw error }
            _ = try await follower.registry.version(model, number)
            return try await version(model, String(number))
        }
    }

    public var services: [any Service] {
        [BackgroundService { [worker, manager] in
            // No chunk is claimed before the startup load is over: a chunk claimed while the
            // model is still loading would fail for nothing and spend one of its attempts.
            while !manager.isReady && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(100)) }
            await worker.run()
        }]
    }
}
