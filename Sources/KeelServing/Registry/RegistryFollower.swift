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
/// A version that loses its last alias stays loaded for `grace` (blue-green: moving
/// `production` back to it is instant), served by its number only, then is dropped.
public final class RegistryFollower: Sendable {
    public let registry: Registry
    public let manager: ModelManager
    public let aliases: [String]
    public let interval: Duration
    /// How long a version that lost its last alias stays loaded; zero drops it at once.
    public let grace: Duration
    let logger: Logger
    private let seenMove = Mutex<Int64>(-1)
    /// Models this follower installed, so a model whose aliases all vanish is dropped.
    private let installed = Mutex<Set<String>>([])
    /// Model → version → end of its grace period, for loaded versions that lost their aliases.
    private let graceEnds = Mutex<[String: [String: ContinuousClock.Instant]]>([:])

    public init(
        registry: Registry, manager: ModelManager, aliases: [String] = ["production", "staging", Registry.candidate], interval: Duration = .seconds(1),
        grace: Duration = .seconds(300), logger: Logger = Logger(label: "keel.registry")
    ) {
        self.registry = registry
        self.manager = manager
        self.aliases = aliases
        self.interval = interval
        self.grace = max(grace, .zero)
        self.logger = logger
    }

    /// Polls until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            await syncIfChanged()
            try? await Task.sleep(for: interval)
        }
    }

    /// One poll: syncs when an alias moved since the last sync, or a grace period ended.
    public func syncIfChanged() async {
        do {
            let latest = try await registry.store.latestAliasMoveID()
            let now = ContinuousClock.now
            let graceEnded = graceEnds.withLock { $0.values.contains { $0.values.contains { $0 <= now } } }
            guard latest != seenMove.withLock({ $0 }) || graceEnded else { return }
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
            // No alias left at all: the model is retired, not switched, so nothing is kept.
            manager.install(name: model, versions: [], aliases: [:], defaultVersion: nil)
            installed.withLock { _ = $0.remove(model) }
            graceEnds.withLock { $0[model] = nil }
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
        let keep = Set(wanted.values)
        var versions = served.values.filter { keep.contains($0.version) }
        let retained = retain(model: model, keep: keep)
        for version in retained.sorted() {
            if let v = manager.served(model, version: version) { versions.append(v) }
        }
        let loaded = Set(manager.versions(of: model))
        guard wanted != current || Set(versions.map(\.version)) != loaded || retained != manager.retained(of: model) else { return }
        manager.install(name: model, versions: versions, aliases: wanted, defaultVersion: wanted[Registry.production], retained: retained)
        installed.withLock { _ = $0.insert(model) }
    }

    /// The loaded versions of `model` that no alias names any more but whose grace period
    /// runs: each starts its period the first time it is seen without an alias, and leaves
    /// it when an alias names it again or the period ends.
    private func retain(model: String, keep: Set<String>) -> Set<String> {
        guard grace > .zero, manager.isFromRegistry(model) else {
            graceEnds.withLock { $0[model] = nil }
            return []
        }
        let loaded = manager.versions(of: model)
        let now = ContinuousClock.now
        let grace = self.grace
        return graceEnds.withLock { ends in
            var mine = ends[model] ?? [:]
            for version in loaded where !keep.contains(version) && mine[version] == nil { mine[version] = now + grace }
            mine = mine.filter { !keep.contains($0.key) && $0.value > now && loaded.contains($0.key) }
            ends[model] = mine.isEmpty ? nil : mine
            return Set(mine.keys)
        }
    }

    /// Loads a version's artifact (hash-checked) and warms it up; the caller owns it (batch
    /// jobs score with versions no alias holds).
    public func load(model: String, version: Int) async throws(KeelError) -> ServedVersion {
        let record = try await registry.version(model, version)
        let bytes = try registry.artifact(of: record)
        let config = try record.configYAML.map { (text: String) throws(KeelError) in try ModelConfig.parse(yaml: text, source: "\(model) v\(version) schema") } ?? ModelConfig()
        return try await manager.prepare(name: model, version: String(version), bytes: bytes, filename: record.filename, config: config)
    }
}
