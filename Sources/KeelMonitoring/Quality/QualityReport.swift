/// Quality of a model on labelled predictions: metric values (nil where a metric is undefined
/// on the data — one class only, no positive predictions — never a made-up number), and for
/// classifiers the confusion matrix and a calibration table.
public struct QualityReport: Sendable, Equatable {
    /// Metric name → value; every metric of the task is present, undefined ones as nil.
    public var metrics: [String: Double?]
    /// Pairs the metrics were computed on.
    public var count: Int
    /// rows = true class, columns = predicted class.
    public var confusionMatrix: [[Int]]?
    /// Ten equal-width bins over the positive-class probability (binary classifiers).
    public var calibration: [CalibrationBin]?

    public init(metrics: [String: Double?], count: Int, confusionMatrix: [[Int]]? = nil, calibration: [CalibrationBin]? = nil) {
        self.metrics = metrics
        self.count = count
        self.confusionMatrix = confusionMatrix
        self.calibration = calibration
    }

    /// The defined metrics only (what gates compare against).
    public var definedMetrics: [String: Double] {
        var out: [String: Double] = [:]
        for (k, v) in metrics { if let v { out[k] = v } }
        return out
    }
}

/// One bin of a calibration table: predictions whose probability falls in [lower, upper).
public struct CalibrationBin: Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    public var count: Int
    /// Mean predicted probability in the bin; nil for an empty bin.
    public var meanPredicted: Double?
    /// Share of positives in the bin; nil for an empty bin.
    public var observedRate: Double?
}
