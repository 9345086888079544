import Foundation
import KeelCore
import KeelEngine
import KeelJobs
import KeelRegistry
import KeelServing
import KeelStore
import KeelTestSupport

/// The bundled churn model served by a manager, a store, and a queue over a fresh data folder.
struct JobFixture {
    let manager: ModelManager
    let store: any Store
    let data: String
    let queue: JobQueue
    let worker: JobWorker

    static func make(_ kind: StoreKind, store given: (any Store)? = nil, holder: String = "replica-a", lease: TimeInterval = 30, allowed: [String] = [])
        async throws -> JobFixture
    {
        let manager = ModelManager(repository: nil, metrics: ServingMetrics())
        let config = try ModelConfig.parse(yaml: try TestRegistry.churnConfigYAML(), source: "churn config")
        let model = try ModelLoader().load(ModelArtifact(bytes: try TestRegistry.churnModelBytes(), filename: "model.json"))
        try await manager.add(name: "churn", version: "1", model: model, config: config)
        let store: any Store
        if let given { store = given } else { store = try await TestStores.make(kind) }
        let data = TestStores.temporaryDirectory().path
        let queue = try JobQueue(store: store, dataFolder: data, allowedFolders: allowed, holder: holder, lease: lease)
        let service = InferenceService(manager: manager)
        let worker = JobWorker(
            queue: queue, service: service, versions: { model, version throws(KeelError) in
                guard let served = manager.served(model, version: version) else { throw KeelError(.unavailable, "no \(model) v\(version)") }
                return served
            }, batchRows: 128, maxAttempts: 3)
        return JobFixture(manager: manager, store: store, data: data, queue: queue, worker: worker)
    }

    /// A second replica on the same store and data folder.
    func replica(_ holder: String, lease: TimeInterval = 30) throws -> (JobQueue, JobWorker) {
        let queue = try JobQueue(store: store, dataFolder: data, holder: holder, lease: lease)
        let manager = self.manager
        let worker = JobWorker(
            queue: queue, service: InferenceService(manager: manager), versions: { model, version throws(KeelError) in
                guard let served = manager.served(model, version: version) else { throw KeelError(.unavailable, "no \(model) v\(version)") }
                return served
            }, batchRows: 128)
        return (queue, worker)
    }

    /// The churn holdout (2 000 customers) written into the data folder, optionally with
    /// lines replaced by bad rows: line number (2 = first data row) → text.
    func holdout(_ name: String = "customers.csv", replacing: [Int: String] = [:]) throws -> String {
        var lines = try TestRegistry.churnHoldoutCSV().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        for (line, text) in replacing { lines[line - 1] = text }
        let path = data + "/" + name
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func submit(_ input: String, output: String? = nil, chunkRows: Int = 300, priority: JobPriority = .normal, maxErrorRate: Double? = nil,
                passthrough: [String] = []) async throws -> JobStatus {
        var s = JobQueue.Submission(model: "churn", input: input)
        s.output = output
        s.chunkRows = chunkRows
        s.priority = priority
        s.passthrough = passthrough
        if let maxErrorRate { s.maxErrorRate = maxErrorRate }
        return try await queue.submit(s, version: "1", idField: "customer_id", actor: .test)
    }

    /// The output's data lines (header dropped).
    static func lines(_ path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return Array(text.split(separator: "\n").dropFirst().map(String.init))
    }
}

extension Principal {
    /// The caller the job tests submit, cancel and retry as.
    static let test = Principal(keyID: "test", name: "test", role: .admin)
}
