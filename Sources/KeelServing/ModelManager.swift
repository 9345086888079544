import Foundation
import KeelCore
import KeelEngine
import Logging
import Synchronization

/// Lifecycle state of a model in the repository, as the v2 repository extension reports it.
public enum ModelState: String, Sendable {
    case ready = "READY"
    case loading = "LOADING"
    case unavailable = "UNAVAILABLE"
}

/// A model's entry in the repository index.
public struct ModelStatus: Sendable, Equatable {
    public var name: String
    public var versions: [String]
    public var state: ModelState
    public var reason: String?
}

/// Loads, warms up, serves and unloads the models of a repository. Lookups on the request
/// path read an immutable snapshot under a lock held for a dictionary lookup only.
public final class ModelManager: Sendable {
    struct Entry {
        var versions: [String: ServedVersion] = [:]
        /// Version numbers, ascending; unversioned requests go to the last.
        var order: [String] = []
        var state: ModelState = .unavailable
        var reason: String?
        /// Registry aliases (`production`, `staging`, …) → version; set for models that
        /// follow the registry.
        var aliases: [String: String] = [:]
        /// Version unversioned requests go to (the `production` alias); nil: the highest
        /// version not in `retained`.
        var defaultVersion: String?
        /// Versions kept loaded after losing their last alias (the follower's grace period):
        /// served by number, never chosen for unversioned requests.
        var retained: Set<String> = []
        /// Served from the registry (by a `RegistryFollower`): the repository API may not
        /// load, replace or unload it.
        var fromRegistry = false
    }

    public let repository: ModelRepository?
    public let metrics: ServingMetrics
    let loader: ModelLoader
    let logger: Logger
    /// Longest a request may take from arrival to answer (queue and execution).
    let requestTimeout: Duration
    /// Longest loading and warming up one version may take.
    public let loadTimeout: Duration
    private let models = Mutex<[String: Entry]>([:])
    private let startupDone = Mutex(false)

    public init(
        repository: ModelRepository?, metrics: ServingMetrics, loader: ModelLoader = ModelLoader(),
        logger: Logger = Logger(label: "keel.models"), requestTimeout: Duration = .seconds(30), loadTimeout: Duration = .seconds(60)
    ) {
        self.repository = repository
        self.metrics = metrics
        self.loader = loader
        self.logger = logger
        self.requestTimeout = requestTimeout
        self.loadTimeout = loadTimeout
    }

    /// True once the startup load has finished (whatever each model's outcome).
    public var isReady: Bool { startupDone.withLock { $0 } }

    /// Loads every model of the repository; a model that fails is logged and left
    /// UNAVAILABLE with its reason, the others still serve.
    public func loadAll() async {
        if let repository {
            do {
                for entry in try repository.index() {
                    if isFromRegistry(entry.name) {
                        logger.warning("repository model shadowed by the registry model of the same name", metadata: ["model": "\(entry.name)"])
                        continue
                    }
                    do {
                        try await load(entry.name)
                    } catch {
                        logger.error("model failed to load", metadata: ["model": "\(entry.name)", "error": "\(error.message)"])
                    }
                }
            } catch {
                logger.error("cannot read model repository", metadata: ["error": "\(error.message)"])
            }
        }
        startupDone.withLock { $0 = true }
    }

    /// (Re)loads a model and all its versions from the repository, warming each up; the old
    /// versions keep serving until the new ones are ready, then are swapped out atomically.
    public func load(_ name: String) async throws(KeelError) {
        try ResourceName.validate(name, what: "model name")
        if isFromRegistry(name) {
            throw KeelError(.conflict, "model '\(name)' is served from the registry; the repository cannot load over it (move its aliases with the management API)")
        }
        guard let repository, let entry = repository.entry(named: name) else {
            throw .notFound("model '\(name)' is not in the model repository")
        }
        models.withLock { m in
            if m[name] == nil { m[name] = Entry(state: .loading) }
        }
        do throws(KeelError) {
            let config = try repository.config(for: entry)
            var loaded: [String: ServedVersion] = [:]
            for (version, file) in entry.versions {
                let v = try await loadVersion(name: name, version: String(version), file: file, config: config)
                loaded[v.version] = v
            }
            let order = entry.versions.map { String($0.version) }
            let replaced = models.withLock { m -> [ServedVersion]? in
                // A registry follower may have taken the name while this loaded: it wins.
                if m[name]?.fromRegistry == true { return nil }
                let previous = m[name].map { Array($0.versions.values) } ?? []
                m[name] = Entry(versions: loaded, order: order, state: .ready, reason: nil)
                return previous
            }
            guard let replaced else {
                throw KeelError(.conflict, "model '\(name)' is served from the registry; the repository cannot load over it")
            }
            Self.emptyCaches(replaced)
            publishReadiness(name)
            logger.info("model ready", metadata: ["model": "\(name)", "versions": "\(order.joined(separator: ","))"])
        } catch {
            models.withLock { m in
                var e = m[name] ?? Entry()
                guard !e.fromRegistry else { return }
                if e.versions.isEmpty { e.state = .unavailable }
                e.reason = error.message
                m[name] = e
            }
            publishReadiness(name)
            throw error
        }
    }

    /// Whether a registry follower serves (or tried to serve) this name.
    public func isFromRegistry(_ name: String) -> Bool {
        models.withLock { $0[name]?.fromRegistry ?? false }
    }

    /// Registers an already loaded model (used by tests and embedders).
    public func add(name: String, version: String, model: any LoadedModel, config: ModelConfig = ModelConfig()) async throws(KeelError) {
        let served = try await prepare(name: name, version: version, model: model, config: config)
        let previous = models.withLock { m in
            var e = m[name] ?? Entry()
            let previous = Array(e.versions.values)
            e.versions[version] = served
            if !e.order.contains(version) {
                e.order.append(version)
                e.order.sort { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
            }
            e.state = .ready
            e.reason = nil
            m[name] = e
            return previous
        }
        Self.emptyCaches(previous)
        publishReadiness(name)
    }

    private func loadVersion(name: String, version: String, file: URL, config: ModelConfig) async throws(KeelError) -> ServedVersion {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw .invalidModel("cannot read the model file of \(name) version \(version)")
        }
        return try await prepare(name: name, version: version, bytes: [UInt8](data), filename: file.lastPathComponent, config: config)
    }

    /// Wraps an already loaded model for serving and warms it up, without serving it yet.
    public func prepare(name: String, version: String, model: any LoadedModel, config: ModelConfig = ModelConfig()) async throws(KeelError) -> ServedVersion {
        try ModelVetting.check(model: model, config: config, what: "\(name) version \(version)")
        let served = try ServedVersion(
            modelName: name, version: version, model: model, config: config,
            metrics: metrics.version(model: name, version: version), requestTimeout: requestTimeout)
        _ = try await served.batcher.infer(try ModelVetting.warmUpInputs(model.metadata))
        return served
    }

    /// Loads a model version from its bytes, checks its configuration against it and warms it
    /// up, all within the load limit; it serves nothing until `install` (or `add`) puts it in place.
    public func prepare(name: String, version: String, bytes: [UInt8], filename: String, config: ModelConfig) async throws(KeelError) -> ServedVersion {
        let t0 = ContinuousClock.now
        let loader = self.loader
        let what = "\(name) version \(version)"
        let model = try await BoundedCall.run(limit: loadTimeout, what: "loading \(what)") { () throws(KeelError) -> any LoadedModel in
            try ModelVetting.vet(bytes: bytes, filename: filename, config: config, loader: loader, what: what)
        }
        let metrics = self.metrics.version(model: name, version: version)
        let served = try ServedVersion(modelName: name, version: version, model: model, config: config, metrics: metrics, requestTimeout: requestTimeout)
        let (s, atto) = (ContinuousClock.now - t0).components
        metrics.loadSeconds.record(Double(s) + Double(atto) / 1e18)
        return served
    }

    /// Atomically replaces what a registry-following model serves: exactly `versions`, with
    /// `aliases` naming some of them, unversioned requests going to `defaultVersion`, and
    /// `retained` ones (no longer aliased, kept for a switch back) served only by number.
    /// Requests already running on a replaced version finish on it. Every version's
    /// prediction cache is emptied: what a name or an alias answers may have changed.
    public func install(name: String, versions: [ServedVersion], aliases: [String: String], defaultVersion: String?, retained: Set<String> = []) {
        var byVersion: [String: ServedVersion] = [:]
        for v in versions { byVersion[v.version] = v }
        let order = byVersion.keys.sorted { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
        let previous = models.withLock { m in
            let previous = m[name].map { Array($0.versions.values) } ?? []
            if order.isEmpty {
                m[name] = nil
            } else {
                m[name] = Entry(
                    versions: byVersion, order: order, state: .ready, reason: nil, aliases: aliases, defaultVersion: defaultVersion,
                    retained: retained.intersection(order), fromRegistry: true)
            }
            return previous
        }
        Self.emptyCaches(previous + versions)
        publishReadiness(name)
        logger.info("model installed", metadata: [
            "model": "\(name)", "versions": "\(order.joined(separator: ","))",
            "aliases": "\(aliases.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))",
        ])
    }

    /// Empties the prediction caches of `versions` (their model's versions or aliases changed).
    private static func emptyCaches(_ versions: [ServedVersion]) {
        for v in versions { v.resilience.cache?.removeAll() }
    }

    /// Versions of a registry-following model kept loaded without an alias (grace period).
    public func retained(of name: String) -> Set<String> {
        models.withLock { $0[name]?.retained ?? [] }
    }

    /// The served version object of a model, if loaded (reused across installs).
    public func served(_ name: String, version: String) -> ServedVersion? {
        models.withLock { $0[name]?.versions[version] }
    }

    /// Every loaded version of `name` (of every model when nil), by model then version order,
    /// from one snapshot.
    public func servedVersions(of name: String? = nil) -> [ServedVersion] {
        models.withLock { m in
            let names = name.map { [$0] } ?? m.keys.sorted()
            return names.flatMap { n in m[n].map { e in e.order.compactMap { e.versions[$0] } } ?? [] }
        }
    }

    /// Alias → version of a registry-following model.
    public func aliases(of name: String) -> [String: String] {
        models.withLock { $0[name]?.aliases ?? [:] }
    }

    /// Marks a registry model that cannot serve any version (e.g. its production artifact
    /// fails to load at startup) as UNAVAILABLE with the reason; versions it still serves stay.
    public func markUnavailable(name: String, reason: String) {
        models.withLock { m in
            var e = m[name] ?? Entry()
            if !e.fromRegistry {
                // The registry claims the name: a repository model of that name stops serving.
                e = Entry(fromRegistry: true)
            }
            e.reason = reason
            if e.versions.isEmpty { e.state = .unavailable }
            m[name] = e
        }
        publishReadiness(name)
    }

    /// `keel_model_ready{model}`: 1 while the model can serve, 0 while it is known but cannot
    /// (failed to load, its versions unavailable); a model deliberately unloaded or removed
    /// from the registry loses the series, so an alert on 0 fires only for models that should serve.
    private func publishReadiness(_ name: String, unloaded: Bool = false) {
        let state = models.withLock { $0[name]?.state }
        let gauge = metrics.gauge("keel_model_ready", [("model", name)])
        if let state, !unloaded {
            gauge.record(state == .ready ? 1 : 0)
        } else {
            gauge.destroy()
        }
    }

    /// Stops serving a repository model. Requests already running on it finish normally.
    /// Registry models are refused: what they serve follows their aliases.
    public func unload(_ name: String) throws(KeelError) {
        let previous = try models.withLock { m throws(KeelError) -> [ServedVersion] in
            guard var e = m[name] else { throw .notFound("unknown model '\(name)'") }
            guard !e.fromRegistry else {
                throw KeelError(.conflict, "model '\(name)' is served from the registry; remove or move its aliases with the management API instead")
            }
            let previous = Array(e.versions.values)
            e.versions = [:]
            e.order = []
            e.state = .unavailable
            e.reason = "unloaded"
            m[name] = e
            return previous
        }
        Self.emptyCaches(previous)
        publishReadiness(name, unloaded: true)
        logger.info("model unloaded", metadata: ["model": "\(name)"])
    }

    /// The version serving a request: 404 for an unknown model or version, 503 for a model
    /// that is known but not ready.
    public func resolve(_ name: String, version: String? = nil) throws(KeelError) -> ServedVersion {
        let entry = models.withLock { $0[name] }
        guard let entry else { throw .notFound("unknown model '\(name)'") }
        guard entry.state == .ready, let latest = entry.order.last(where: { !entry.retained.contains($0) }) ?? entry.order.last else {
            throw KeelError(.unavailable, "model '\(name)' is not ready (\(entry.reason ?? entry.state.rawValue.lowercased()))")
        }
        if let version {
            guard let v = entry.versions[version] ?? entry.aliases[version].flatMap({ entry.versions[$0] }) else {
                throw .notFound("model '\(name)' has no version '\(version)' (versions: \(entry.order.joined(separator: ", ")))")
            }
            return v
        }
        if let preferred = entry.defaultVersion, let v = entry.versions[preferred] { return v }
        guard let v = entry.versions[latest] else {
            throw KeelError(.unavailable, "model '\(name)' is not ready (its versions are being replaced)")
        }
        return v
    }

    /// Version strings of a model, ascending.
    public func versions(of name: String) -> [String] {
        models.withLock { $0[name]?.order ?? [] }
    }

    /// Every known model with its state, sorted by name (the repository index).
    public func index() -> [ModelStatus] {
        var known = models.withLock { m in
            m.map { ModelStatus(name: $0.key, versions: $0.value.order, state: $0.value.state, reason: $0.value.reason) }
        }
        if let repository, let entries = try? repository.index() {
            for e in entries where !known.contains(where: { $0.name == e.name }) {
                known.append(ModelStatus(name: e.name, versions: e.versions.map { String($0.version) }, state: .unavailable, reason: "not loaded"))
            }
        }
        return known.sorted { $0.name < $1.name }
    }
}
