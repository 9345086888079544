import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelMonitoring
import KeelRegistry
import KeelServer
import KeelServing
import KeelStore
import KeelTestSupport
import Logging

/// A server serving the registry's churn (production v1, optionally evaluated on its holdout
/// so it has a reference profile), logging every prediction.
struct MonitoredServer {
    let registry: Registry
    let manager: ModelManager
    let writer: PredictionLogWriter
    let service: MonitoringService
    let keys: TestKeys
    let follower: RegistryFollower
    let router: DeploymentRouter
    let shadow: ShadowRunner
    let app: Application<RouterResponder<KeelRequestContext>>
    let writerTask: Task<Void, Never>

    /// A server; with `database` (and the shared `artifacts` folder) a further replica on a
    /// database another server already set up (`register: false`).
    static func start(
        _ kind: StoreKind = .sqlite, evaluate: Bool = false, config: String? = nil, database: TestDatabase? = nil, artifacts: URL? = nil,
        register: Bool = true, router: DeploymentRouter = DeploymentRouter()
    ) async throws -> MonitoredServer {
        let registry: Registry
        if let database {
            registry = Registry(store: try await database.open(), artifacts: ArtifactStore(dataDirectory: artifacts ?? TestStores.temporaryDirectory()))
        } else {
            registry = try await TestRegistry.make(kind)
        }
        let keys = register ? try await TestKeys.make(registry) : TestKeys(admin: "", deployer: "", predictor: "", viewer: "")
        if register {
            let new = try RegistryImport.inspect(
                model: "churn", bytes: try TestRegistry.churnModelBytes(), filename: "model.json", configYAML: try config ?? TestRegistry.churnConfigYAML())
            let v = try await registry.register(new, by: .system)
            try await registry.setAlias("churn", alias: Registry.production, version: v.version, force: true, by: .system)
            if evaluate {
                _ = try await ModelEvaluator(registry: registry).evaluate(model: "churn", version: v.version, csv: try TestRegistry.churnHoldoutCSV(), label: "churn", by: .system)
            }
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let manager = ModelManager(repository: nil, metrics: ServingMetrics(), logger: logger, requestTimeout: .seconds(60))
        let follower = RegistryFollower(registry: registry, manager: manager, logger: logger)
        try await follower.sync()
        let writer = PredictionLogWriter(store: registry.store, logger: logger)
        var configuration = ServerConfiguration()
        configuration.maxBodyBytes = 16 << 20
        let monitor = PredictionMonitor(writer: writer)
        let shadow = ShadowRunner(router: router, monitor: monitor, logger: logger)
        let built = KeelApplication.build(manager: manager, configuration: configuration, registry: registry, monitor: monitor, deploymentRouter: router, shadow: shadow)
        let writerTask = Task {
            async let shadows: Void = shadow.run()
            await writer.run()
            await shadows
        }
        return MonitoredServer(
            registry: registry, manager: manager, writer: writer, service: MonitoringService(store: registry.store, manager: manager, registry: registry),
            keys: keys, follower: follower, router: router, shadow: shadow, app: Application(router: built.router), writerTask: writerTask)
    }

    func stop() async {
        writerTask.cancel()
        _ = await writerTask.value
    }
}

/// Churn records built from the holdout CSV (schema fields only), with their labels.
enum ChurnRows {
    static func load(_ csv: String) -> (records: [[String: JSONValue]], labels: [String]) {
        let lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        let numeric: Set<String> = ["age", "income", "tenure_months", "monthly_charges", "total_charges"]
        var records: [[String: JSONValue]] = []
        var labels: [String] = []
        for row in lines.dropFirst() where row.count == header.count {
            var r: [String: JSONValue] = [:]
            for (i, name) in header.enumerated() {
                if name == "churn" { labels.append(row[i]); continue }
                r[name] = numeric.contains(name) ? (Double(row[i]).map { .number($0) } ?? .null) : .string(row[i])
            }
            records.append(r)
        }
        return (records, labels)
    }

    /// Older customers on month-to-month fibre contracts, paying by electronic check and 50 %
    /// more: inputs that drift from the training data.
    static func shifted(_ records: ArraySlice<[String: JSONValue]>) -> [[String: JSONValue]] {
        records.map { r in
            var r = r
            r["age"] = .number((r["age"]?.doubleValue ?? 40) + 15)
            r["monthly_charges"] = .number((r["monthly_charges"]?.doubleValue ?? 50) * 1.5)
            r["contract_type"] = "month-to-month"
            r["internet_service"] = "Fiber optic"
            r["payment_method"] = "electronic check"
            return r
        }
    }

    static func body(_ records: ArraySlice<[String: JSONValue]>) -> ByteBuffer {
        var w = JSONWriter()
        w.value(.object(["instances": .array(records.map { .object($0) })]))
        return ByteBuffer(bytes: w.bytes)
    }
}
