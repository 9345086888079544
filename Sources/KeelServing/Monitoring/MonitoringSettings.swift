import KeelCore
import KeelMonitoring

/// A model's monitoring settings (`monitoring:` in config.yaml): how much traffic is logged,
/// the drift and quality windows, per-column drift methods, quality floors and ceilings, and
/// the lowest acceptable share of labels that find their prediction.
public struct MonitoringSettings: Sendable, Equatable {
    /// Share of requests logged (0…1).
    public var sampleRate = 1.0
    public var driftWindow: Window = .rows(10_000)
    public var driftMinimumRows = DriftTest.defaultMinimumRows
    public var datasetDriftShare = DriftReport.defaultDatasetShare
    /// Column (raw field, encoded input or `prediction`) → method and threshold.
    public var driftOverrides: [String: DriftOverride] = [:]
    public var qualityWindow: Window = .rows(10_000)
    /// Metric → lowest acceptable value (accuracy, roc_auc, …).
    public var qualityFloors: [String: Double] = [:]
    /// Metric → highest acceptable value (log_loss, brier, mae, rmse, …).
    public var qualityCeilings: [String: Double] = [:]
    /// Lowest acceptable share of labels joined to a prediction.
    public var minimumJoinRate: Double?

    public init() {}

    /// Reads the `monitoring:` mapping; every value is checked and named in the error.
    static func parse(_ value: YAMLValue?, source: String) throws(KeelError) -> MonitoringSettings {
        var s = MonitoringSettings()
        guard let value, value != .null else { return s }
        let top = try ConfigFields(value, source: source, context: "monitoring", known: ["sample_rate", "drift", "quality", "feedback"])
        s.sampleRate = try top.number("sample_rate", in: 0...1) ?? s.sampleRate
        if let drift = top.values["drift"] {
            let d = try ConfigFields(drift, source: source, context: "monitoring.drift", known: ["window", "minimum_rows", "dataset_share", "columns"])
            if let w = d.values["window"] { s.driftWindow = try window(w, d, "window") }
            s.driftMinimumRows = try d.int("minimum_rows", in: 1...1_000_000) ?? s.driftMinimumRows
            s.datasetDriftShare = try d.number("dataset_share", in: 0...1) ?? s.datasetDriftShare
            if let columns = d.values["columns"] {
                guard case .mapping(let c) = columns, c.count <= 10_000 else { throw d.fail("'columns' must map column names to {method, threshold}") }
                for (name, spec) in c {
                    let o = try ConfigFields(spec, source: source, context: "monitoring.drift.columns.\(name.prefix(64))", known: ["method", "threshold"])
                    var override = DriftOverride()
                    if let text = try o.string("method") {
                        guard let method = DriftMethod(rawValue: text) else {
                            throw o.fail("'method' must be one of \(DriftMethod.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text.prefix(40))'")
                        }
                        override.method = method
                    }
                    override.threshold = try o.number("threshold", in: 0...1e6)
                    s.driftOverrides[name] = override
                }
            }
        }
        if let quality = top.values["quality"] {
            let q = try ConfigFields(quality, source: source, context: "monitoring.quality", known: ["window", "floors", "ceilings"])
            if let w = q.values["window"] { s.qualityWindow = try window(w, q, "window") }
            s.qualityFloors = try metrics(q, "floors")
            s.qualityCeilings = try metrics(q, "ceilings")
        }
        if let feedback = top.values["feedback"] {
            let f = try ConfigFields(feedback, source: source, context: "monitoring.feedback", known: ["min_join_rate"])
            s.minimumJoinRate = try f.number("min_join_rate", in: 0...1)
        }
        return s
    }

    static func window(_ v: YAMLValue, _ fields: ConfigFields, _ key: String) throws(KeelError) -> Window {
        let text: String
        switch v {
        case .int(let i): text = String(i)
        case .string(let t): text = t
        default: throw fields.fail("'\(key)' must be a row count or a duration such as 24h")
        }
        do { return try Window.parse(text) } catch { throw fields.fail("'\(key)': \(error.message)") }
    }

    static func metrics(_ fields: ConfigFields, _ key: String) throws(KeelError) -> [String: Double] {
        guard let v = fields.values[key] else { return [:] }
        let m = try ConfigFields(v, source: fields.source, context: "\(fields.context).\(key)", known: nil)
        var out: [String: Double] = [:]
        for k in m.values.keys { out[k] = try m.number(k, in: -1e12...1e12) }
        return out
    }
}
