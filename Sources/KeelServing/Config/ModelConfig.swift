import Foundation
import KeelCore
import Yams

/// A model's serving configuration (`<repo>/<model>/config.yaml`): batching, class labels,
/// risk bands and the feature schema for records.
public struct ModelConfig: Sendable, Equatable {
    /// Most rows one engine call takes; larger requests run alone.
    public var maxBatchSize: Int = 256
    /// How long the first request of a batch may wait for company. 0: batch only what is
    /// already queued while the previous batch runs (no added latency).
    public var maxQueueDelayMicroseconds: Int = 0
    /// Engine calls of one version that may run at once.
    public var instanceCount: Int = 1
    /// Class labels in output column order (defaults to the model's own).
    public var labels: [String]?
    /// Index of the positive class whose probability the records API reports.
    public var positiveClass: Int?
    /// Ordered bands over the positive-class probability.
    public var riskBands: [RiskBand] = []
    /// Turns records into input tensors for `POST /v1/models/{m}:predict`.
    public var featureSchema: FeatureSchema?
    /// Record field echoed into each prediction (e.g. `customer_id`).
    public var idField: String?

    public init() {}

    /// One named band: probabilities below `upper` (and at or above the previous band's upper).
    public struct RiskBand: Sendable, Equatable {
        public var name: String
        public var upper: Double?
        public init(name: String, upper: Double?) {
            self.name = name
            self.upper = upper
        }
    }

    /// The band a probability falls in, or nil when no bands are configured.
    public func riskBand(for probability: Double) -> String? {
        guard !riskBands.isEmpty else { return nil }
        for band in riskBands {
            guard let upper = band.upper else { return band.name }
            if probability < upper { return band.name }
        }
        return riskBands.last?.name
    }

    /// Parses config.yaml text; every key is optional, unknown keys are refused by name.
    public static func parse(yaml text: String, source: String) throws(KeelError) -> ModelConfig {
        let node: Any?
        do {
            node = try Yams.load(yaml: text)
        } catch {
            throw .invalidModel("\(source): invalid YAML: \(error)")
        }
        guard let dict = (node ?? [String: Any]()) as? [String: Any] else {
            throw .invalidModel("\(source): expected a mapping at the top level")
        }
        return try parse(dict, source: source)
    }

    static func parse(_ dict: [String: Any], source: String) throws(KeelError) -> ModelConfig {
        let known: Set<String> = [
            "max_batch_size", "max_queue_delay_us", "instance_count", "labels", "positive_class",
            "risk_bands", "features", "layout", "input_name", "id_field", "platform", "name",
        ]
        if let unknown = dict.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidModel("\(source): unknown key '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        var config = ModelConfig()
        func int(_ key: String, min: Int) throws(KeelError) -> Int? {
            guard let v = dict[key] else { return nil }
            guard let i = v as? Int, i >= min else { throw .invalidModel("\(source): '\(key)' must be an integer >= \(min)") }
            return i
        }
        config.maxBatchSize = try int("max_batch_size", min: 1) ?? config.maxBatchSize
        config.maxQueueDelayMicroseconds = try int("max_queue_delay_us", min: 0) ?? 0
        config.instanceCount = try int("instance_count", min: 1) ?? 1
        if let labels = dict["labels"] {
            guard let list = labels as? [Any] else { throw .invalidModel("\(source): 'labels' must be a list") }
            config.labels = list.map { "\($0)" }
        }
        if let positive = dict["positive_class"] {
            if let i = positive as? Int {
                config.positiveClass = i
            } else if let name = positive as? String, let i = config.labels?.firstIndex(of: name) {
                config.positiveClass = i
            } else {
                throw .invalidModel("\(source): 'positive_class' must be a class index or one of 'labels'")
            }
        }
        if let bands = dict["risk_bands"] {
            guard let list = bands as? [[String: Any]] else {
                throw .invalidModel("\(source): 'risk_bands' must be a list of {name, below}")
            }
            var previous = -Double.infinity
            for (k, band) in list.enumerated() {
                guard let name = band["name"] as? String else { throw .invalidModel("\(source): risk band \(k) needs a 'name'") }
                let upper = (band["below"] as? Double) ?? (band["below"] as? Int).map(Double.init)
                if band["below"] != nil, upper == nil { throw .invalidModel("\(source): risk band '\(name)' 'below' must be a number") }
                if let upper {
                    guard upper > previous else { throw .invalidModel("\(source): risk bands must be in increasing order") }
                    previous = upper
                } else if k != list.count - 1 {
                    throw .invalidModel("\(source): only the last risk band may omit 'below'")
                }
                config.riskBands.append(RiskBand(name: name, upper: upper))
            }
        }
        config.idField = dict["id_field"] as? String
        if let features = dict["features"] {
            guard let list = features as? [[String: Any]] else {
                throw .invalidModel("\(source): 'features' must be a list of {name, type, …}")
            }
            var fields: [FeatureSchema.Field] = []
            for (k, f) in list.enumerated() {
                guard let name = f["name"] as? String else { throw .invalidModel("\(source): feature \(k) needs a 'name'") }
                let typeName = (f["type"] as? String) ?? "number"
                guard let kind = FeatureSchema.Kind(rawValue: typeName) else {
                    throw .invalidModel("\(source): feature '\(name)' has unknown type '\(typeName)' (expected \(FeatureSchema.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                let categories = (f["categories"] as? [Any])?.map { "\($0)" }
                let positive = f["positive"].map { "\($0)" }
                let defaultValue = f["default"].map(jsonValue)
                let allowUnknown = (f["allow_unknown"] as? Bool) ?? false
                fields.append(.init(name: name, kind: kind, categories: categories, positive: positive, defaultValue: defaultValue, allowUnknown: allowUnknown))
            }
            let layoutName = (dict["layout"] as? String) ?? "vector"
            guard let layout = FeatureSchema.Layout(rawValue: layoutName) else {
                throw .invalidModel("\(source): 'layout' must be 'vector' or 'per_field'")
            }
            config.featureSchema = try FeatureSchema(
                fields: fields, layout: layout, inputName: (dict["input_name"] as? String) ?? "input",
                passthrough: config.idField.map { [$0] } ?? [])
        }
        return config
    }

    /// Converts a YAML scalar/collection into a JSON value.
    static func jsonValue(_ v: Any) -> JSONValue {
        switch v {
        case let b as Bool: return .bool(b)
        case let i as Int: return .number(Double(i))
        case let d as Double: return .number(d)
        case let s as String: return .string(s)
        case let a as [Any]: return .array(a.map(jsonValue))
        case let o as [String: Any]: return .object(o.mapValues(jsonValue))
        default: return .null
        }
    }
}
