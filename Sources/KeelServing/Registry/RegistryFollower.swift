import Foundation
import KeelCore
import KeelRegistry
import KeelStore
import Logging
import Synchronization

/// Keeps a `ModelManager` serving what the registry's aliases say: each registered model's
/// `production` version (unversioned requests), `staging` version (`…/versions/staging`), a
/// rollout's `candidate` and an experiment's arms (`experiment-<arm>`).
/// It polls the store's alias-move counter (one cheap query a second, which works the same on
/// SQLite and PostgreSQL, so several servers on one database converge); on a change it loads
/// and warms the new versions in the background and swaps them in atomically. A version that
/// fails to load (e.g. a tampered artifact) is logged and the previous one keeps serving.
public final class RegistryFollower: Sendable {
    public let registry: Registry
    public let manager: ModelManager
    public let aliases: [String]
    public let interval: Duration
    let logger: Logger
    private let seenMove = Mutex<Int64>(-1)
    /// Models this follower installed, so a model whose aliases all vanish is dropped.
    private let installed = Mutex<Set<String>>([])

    public init(registry: Registry, manager: ModelManager, aliases: [String] = ["production", "staging", Registry.candidate], interval: Duration = .seconds(1), logger: Logger = Logger(label: "keel.registry")) {
        self.registry = registry
        self.manager = manager
        self.aliases = aliases
        self.interval = interval
        self.logger = logger
    }

    /// Polls until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            await syncIfChanged()
            try? await Task.sleep(for: interval)
        }
    }

    /// One poll: syncs when an alias moved since the last sync.
    public func syncIfChanged() async {
        do {
            let latest = try await registry.store.latestAliasMoveID()
            guard latest != seenMove.withLock({ $0 }) else { return }
            try await sync()
            seenMove.withLock { $0 = latest }
        } catch {
            logger.warning("registry sync failed", metadata: ["error": "\(error)"])
        }
    }

    /// Brings every registered model's served versions in line with its aliases.
    public func sync() async throws(KeelError) {
        let all = try await registry.store.allAliases().filter { aliases.contains($0.alias) || $0.alias.hasPrefix(Registry.experimentAliasPrefix) }
        let byModel = Dictionary(grouping: all, by: \.model)
        for (model, records) in byModel.sorted(by: { $0.key < $1.key }) {
            await follow(model: model, aliases: records)
        }
        let gone = installed.withLock { $0.subtracting(byModel.keys) }
        for model in gone {
            manager.install(name: model, versions: [], aliases: [:], defaultVersion: nil)
            installed.withLock { _ = $0.remove(model) }
        }
    }

    private func follow(model: String, aliases records: [AliasRecord]) async {
        let current = manager.aliases(of: model)
        var wanted: [String: String] = [:]
        var served: [String: ServedVersion] = [:]
        var failures: [String] = []
        for record in records {
            let version = String(record.version)
            if let existing = served[version] ?? manager.served(model, version: version) {
                served[version] = existing
                wanted[record.alias] = version
                continue
            }
            do {
                served[version] = try await load(model: model, version: record.version)
                wanted[record.alias] = version
            } catch {
                logger.error("cannot serve new version; the previous one keeps serving", metadata: [
                    "model": "\(model)", "alias": "\(record.alias)", "version": "\(version)", "error": "\(error.message)",
                ])
                failures.append("\(record.alias) (version \(version)) cannot be served: \(error.message)")
                if let old = current[record.alias], let v = manager.served(model, version: old) {
                    served[old] = v
                    wanted[record.alias] = old
                }
            }
        }
        if wanted.isEmpty {
            // Nothing can serve: say why in the repository index instead of serving nothing silently.
            manager.markUnavailable(name: model, reason: failures.joined(separator: "; "))
            installed.withLock { _ = $0.insert(model) }
            return
        }
        guard wanted != current || Set(served.keys) != Set(manager.versions(of: model)) else { return }
        let keep = Set(wanted.values)
        manager.install(name: model, versions: served.values.filter { keep.contains($0.version) }, aliases: wanted, defaultVersion: wanted[Registry.production])
        installed.withLock { _ = $0.insert(model) }
    }

    /// Loads a version's artifact (hash-checked) and warms it up.
    func load(model: String, version: Int) async throws(KeelError) -> ServedVersion {
        let record = try await registry.version(model, version)
        let bytes = try registry.artifact(of: record)
        let config = try record.configYAML.map { (text: String) throws(KeelError) in try ModelConfig.parse(yaml: text, source: "\(model) v\(version) schema") } ?? ModelConfig()
        return try await manager.prepare(name: model, version: String(version), bytes: bytes, filename: record.filename, config: config)
    }
}
