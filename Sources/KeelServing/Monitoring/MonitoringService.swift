import Foundation
import KeelCore
import KeelEngine
import KeelMonitoring
import KeelRegistry
import KeelStore
import Synchronization

/// A version as monitoring sees it: how to read its outputs, and its monitoring settings.
public struct MonitoredVersion: Sendable {
    public var model: String
    public var version: String
    public var profile: OutputProfile
    public var settings: MonitoringSettings
}

/// Quality, drift and reference profiles of served and registered versions, over the shared
/// store — any replica answers for all of them. Reference samples are decoded once and kept
/// (they are immutable) in a small cache.
public final class MonitoringService: Sendable {
    public let store: any Store
    public let manager: ModelManager
    public let registry: Registry?
    private let references = Mutex<[String: (id: Int64, columns: DriftColumns)]>([:])
    static let cachedReferences = 32

    public init(store: any Store, manager: ModelManager, registry: Registry?) {
        self.store = store
        self.manager = manager
        self.registry = registry
    }

    /// The version a request names (nil: what unversioned requests get), served or registered.
    public func version(_ model: String, _ version: String?) async throws(KeelError) -> MonitoredVersion {
        if let served = try? manager.resolve(model, version: version) {
            return MonitoredVersion(model: model, version: served.version, profile: served.outputProfile, settings: served.config.monitoring)
        }
        guard let registry else { _ = try manager.resolve(model, version: version); throw KeelError.notFound("unknown model '\(model)'") }
        let record: ModelVersionRecord
        if let version {
            record = try await registry.version(model, reference: version)
        } else if let production = try await registry.aliases(model).first(where: { $0.alias == Registry.production }) {
            record = try await registry.version(model, production.version)
        } else {
            throw KeelError.notFound("model '\(model)' has no production version; name one with ?version=")
        }
        let config = try record.configYAML.map { (t: String) throws(KeelError) in try ModelConfig.parse(yaml: t, source: "\(model) v\(record.version) schema") } ?? ModelConfig()
        let meta = try Self.metadata(signature: record.signature, format: record.format)
        let profile = OutputProfile.of(metadata: meta, config: config, classLabels: config.labels ?? meta.classLabels)
        return MonitoredVersion(model: model, version: String(record.version), profile: profile, settings: config.monitoring)
    }

    /// The stored signature of a registered version as model metadata.
    static func metadata(signature: String, format: String) throws(KeelError) -> ModelMetadata {
        let doc = (try? JSONParser.parse(Array(signature.utf8), errorCode: .internal)) ?? .object([:])
        func sigs(_ key: String) -> [TensorSignature] {
            (doc[key]?.arrayValue ?? []).compactMap { s in
                guard let name = s["name"]?.stringValue, let type = s["datatype"]?.stringValue.flatMap(DataType.init(v2Name:)),
                      let shape = s["shape"]?.intsValue else { return nil }
                return TensorSignature(name: name, dataType: type, shape: shape)
            }
        }
        return ModelMetadata(
            format: ModelFormat(rawValue: format) ?? .onnx, inputs: sigs("inputs"), outputs: sigs("outputs"),
            classLabels: doc["class_labels"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    public func quality(_ model: String, version: String?, window: Window?) async throws(KeelError) -> LiveQuality {
        let v = try await self.version(model, version)
        return try await LiveQuality.compute(store: store, model: model, version: v.version, window: window ?? v.settings.qualityWindow, profile: v.profile)
    }

    /// Drift of the window against the version's reference; nil when the version has none.
    public func drift(_ model: String, version: String?, window: Window?, method: DriftMethod? = nil) async throws(KeelError) -> (version: MonitoredVersion, window: Window, report: DriftReport)? {
        let v = try await self.version(model, version)
        guard let reference = try await referenceColumns(model, v.version) else { return nil }
        let w = window ?? v.settings.driftWindow
        let (current, _) = try await LiveDrift.currentColumns(
            store: store, model: model, version: v.version, window: w, schema: v.profile.schema, encodedNames: reference.encoded.map(\.name))
        var overrides = v.settings.driftOverrides
        if let method {
            // One method for every column, at its default threshold unless the config sets one.
            let names = reference.raw.map(\.name) + reference.encoded.map(\.name) + ["prediction"]
            for name in names { overrides[name] = DriftOverride(method: method, threshold: overrides[name]?.method == method ? overrides[name]?.threshold : nil) }
        }
        let analyzer = DriftAnalyzer(overrides: overrides, minimumRows: v.settings.driftMinimumRows, datasetShare: v.settings.datasetDriftShare)
        return (v, w, analyzer.report(reference: reference, current: current))
    }

    /// The decoded sample of the version's newest reference profile.
    public func referenceColumns(_ model: String, _ version: String) async throws(KeelError) -> DriftColumns? {
        guard let record = try await store.read({ db throws(KeelError) in try await db.referenceProfile(model: model, version: version) }) else {
            return nil
        }
        let key = model + "\u{0}" + version
        if let cached = references.withLock({ $0[key] }), cached.id == record.id { return cached.columns }
        guard let columns = ReferenceSampleCodec.decode(record.sample) else {
            throw KeelError(.internal, "the reference profile \(record.id) of \(model) v\(version) does not decode")
        }
        references.withLock { cache in
            if cache.count >= Self.cachedReferences { cache.removeAll() }
            cache[key] = (record.id, columns)
        }
        return columns
    }
}
