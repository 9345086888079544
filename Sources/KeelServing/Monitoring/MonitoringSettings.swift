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

    static let keys: Set<String> = ["sample_rate", "drift", "quality", "feedback"]

    /// Reads the `monitoring:` mapping; every value is checked and named in the error.
    public static func parse(_ value: Any?, source: String) throws(KeelError) -> MonitoringSettings {
        var s = MonitoringSettings()
        guard let value else { return s }
        guard let dict = value as? [String: Any] else { throw .invalidModel("\(source): 'monitoring' must be a mapping") }
        try refuseUnknown(dict, keys, "\(source): monitoring")
        if let rate = dict["sample_rate"] {
            s.sampleRate = try number(rate, "\(source): monitoring.sample_rate", 0...1)
        }
        if let drift = dict["drift"] {
            guard let d = drift as? [String: Any] else { throw .invalidModel("\(source): monitoring.drift must be a mapping") }
            try refuseUnknown(d, ["window", "minimum_rows", "dataset_share", "columns"], "\(source): monitoring.drift")
            if let w = d["window"] { s.driftWindow = try window(w, "\(source): monitoring.drift.window") }
            if let m = d["minimum_rows"] { s.driftMinimumRows = Int(try number(m, "\(source): monitoring.drift.minimum_rows", 1...1_000_000)) }
            if let share = d["dataset_share"] { s.datasetDriftShare = try number(share, "\(source): monitoring.drift.dataset_share", 0...1) }
            if let columns = d["columns"] {
                guard let c = columns as? [String: Any] else { throw .invalidModel("\(source): monitoring.drift.columns must map column names to {method, threshold}") }
                for (name, spec) in c {
                    guard let o = spec as? [String: Any] else { throw .invalidModel("\(source): monitoring.drift.columns.\(name) must be {method, threshold}") }
                    try refuseUnknown(o, ["method", "threshold"], "\(source): monitoring.drift.columns.\(name)")
                    var override = DriftOverride()
                    if let m = o["method"] {
                        guard let text = m as? String, let method = DriftMethod(rawValue: text) else {
                            throw .invalidModel("\(source): monitoring.drift.columns.\(name).method must be one of \(DriftMethod.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        override.method = method
                    }
                    if let t = o["threshold"] { override.threshold = try number(t, "\(source): monitoring.drift.columns.\(name).threshold", 0...1e6) }
                    s.driftOverrides[name] = override
                }
            }
        }
        if let quality = dict["quality"] {
            guard let q = quality as? [String: Any] else { throw .invalidModel("\(source): monitoring.quality must be a mapping") }
            try refuseUnknown(q, ["window", "floors", "ceilings"], "\(source): monitoring.quality")
            if let w = q["window"] { s.qualityWindow = try window(w, "\(source): monitoring.quality.window") }
            s.qualityFloors = try metrics(q["floors"], "\(source): monitoring.quality.floors")
            s.qualityCeilings = try metrics(q["ceilings"], "\(source): monitoring.quality.ceilings")
        }
        if let feedback = dict["feedback"] {
            guard let f = feedback as? [String: Any] else { throw .invalidModel("\(source): monitoring.feedback must be a mapping") }
            try refuseUnknown(f, ["min_join_rate"], "\(source): monitoring.feedback")
            if let r = f["min_join_rate"] { s.minimumJoinRate = try number(r, "\(source): monitoring.feedback.min_join_rate", 0...1) }
        }
        return s
    }

    static func refuseUnknown(_ d: [String: Any], _ known: Set<String>, _ what: String) throws(KeelError) {
        if let bad = d.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidModel("\(what): unknown key '\(bad)' (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    static func number(_ v: Any, _ what: String, _ range: ClosedRange<Double>) throws(KeelError) -> Double {
        let d: Double
        switch v {
        case let i as Int: d = Double(i)
        case let x as Double: d = x
        default: throw .invalidModel("\(what) must be a number")
        }
        guard d.isFinite, range.contains(d) else { throw .invalidModel("\(what) must be a number in \(range.lowerBound)…\(range.upperBound)") }
        return d
    }

    static func window(_ v: Any, _ what: String) throws(KeelError) -> Window {
        let text: String
        switch v {
        case let i as Int: text = String(i)
        case let s as String: text = s
        default: throw .invalidModel("\(what) must be a row count or a duration such as 24h")
        }
        do { return try Window.parse(text) } catch { throw .invalidModel("\(what): \(error.message)") }
    }

    static func metrics(_ v: Any?, _ what: String) throws(KeelError) -> [String: Double] {
        guard let v else { return [:] }
        guard let d = v as? [String: Any] else { throw .invalidModel("\(what) must map metric names to numbers") }
        var out: [String: Double] = [:]
        for (k, x) in d { out[k] = try number(x, "\(what).\(k)", -1e12...1e12) }
        return out
    }
}
