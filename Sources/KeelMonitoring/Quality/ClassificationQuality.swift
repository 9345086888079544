import Foundation

/// Classification quality from true labels, scores and predicted labels — the one
/// implementation behind holdout evaluation and live quality, equal to scikit-learn's
/// functions on the same pairs (undefined values are nil where scikit-learn warns).
public enum ClassificationQuality {
    /// NumPy's float64 machine epsilon: probabilities are clipped to [ε, 1 − ε] for log loss.
    static let epsilon = Double.ulpOfOne

    /// Binary: `labels` 0/1, `scores` the positive-class probability, `predicted` 0/1.
    /// accuracy, precision, recall, f1, roc_auc, pr_auc, log_loss, brier, confusion matrix
    /// [[tn, fp], [fn, tp]] and ten calibration bins.
    public static func binary(labels: [Int], scores: [Double], predicted: [Int]) throws(MonitoringError) -> QualityReport {
        guard labels.count == scores.count, labels.count == predicted.count else {
            throw MonitoringError("labels, scores and predicted labels differ in length (\(labels.count), \(scores.count), \(predicted.count))")
        }
        let n = labels.count
        var tp = 0, fp = 0, tn = 0, fn = 0
        var loss = 0.0, brier = 0.0
        for i in 0..<n {
            let y = labels[i] == 1, yhat = predicted[i] == 1
            switch (yhat, y) {
            case (true, true): tp += 1
            case (true, false): fp += 1
            case (false, false): tn += 1
            case (false, true): fn += 1
            }
            let p = scores[i]
            let q = y ? p : 1 - p
            loss -= log(min(max(q, epsilon), 1 - epsilon))
            brier += (p - (y ? 1 : 0)) * (p - (y ? 1 : 0))
        }
        let positives = labels.map { $0 == 1 }
        var m: [String: Double?] = [
            "accuracy": n > 0 ? Double(tp + tn) / Double(n) : nil,
            "precision": tp + fp > 0 ? Double(tp) / Double(tp + fp) : nil,
            "recall": tp + fn > 0 ? Double(tp) / Double(tp + fn) : nil,
            "f1": 2 * tp + fp + fn > 0 ? Double(2 * tp) / Double(2 * tp + fp + fn) : nil,
            "log_loss": n > 0 ? loss / Double(n) : nil,
            "brier": n > 0 ? brier / Double(n) : nil,
        ]
        m["roc_auc"] = RankingMetrics.rocAUC(scores: scores, positives: positives)
        m["pr_auc"] = RankingMetrics.averagePrecision(scores: scores, positives: positives)
        return QualityReport(
            metrics: m, count: n, confusionMatrix: [[tn, fp], [fn, tp]],
            calibration: calibration(scores: scores, positives: positives))
    }

    /// Multi-class: `probabilities` one row per prediction (one column per class), labels and
    /// predictions as class indexes. accuracy, macro precision/recall/f1 (over the classes where
    /// each is defined), one-vs-rest macro roc_auc, log_loss, confusion matrix.
    public static func multiclass(labels: [Int], probabilities: [[Double]], predicted: [Int]) throws(MonitoringError) -> QualityReport {
        guard labels.count == probabilities.count, labels.count == predicted.count else {
            throw MonitoringError("labels, probabilities and predicted labels differ in length")
        }
        let classes = probabilities.first?.count ?? 0
        guard classes >= 2, probabilities.allSatisfy({ $0.count == classes }) else {
            throw MonitoringError("every probability row needs the same number (≥ 2) of classes")
        }
        for (i, y) in labels.enumerated() where !(0..<classes).contains(y) || !(0..<classes).contains(predicted[i]) {
            throw MonitoringError("row \(i): class index out of range 0..<\(classes)")
        }
        let n = labels.count
        var matrix = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var loss = 0.0
        for i in 0..<n {
            matrix[labels[i]][predicted[i]] += 1
            loss -= log(min(max(probabilities[i][labels[i]], epsilon), 1 - epsilon))
        }
        var precisions: [Double] = [], recalls: [Double] = [], f1s: [Double] = []
        for c in 0..<classes {
            let tp = matrix[c][c]
            let predictedC = (0..<classes).reduce(0) { $0 + matrix[$1][c] }
            let actualC = matrix[c].reduce(0, +)
            if predictedC > 0 { precisions.append(Double(tp) / Double(predictedC)) }
            if actualC > 0 { recalls.append(Double(tp) / Double(actualC)) }
            if predictedC + actualC > 0 { f1s.append(Double(2 * tp) / Double(predictedC + actualC)) }
        }
        func mean(_ v: [Double]) -> Double? { v.isEmpty ? nil : v.reduce(0, +) / Double(v.count) }
        var aucs: [Double] = []
        for c in 0..<classes {
            guard let a = RankingMetrics.rocAUC(scores: probabilities.map { $0[c] }, positives: labels.map { $0 == c }) else {
                aucs = []
                break
            }
            aucs.append(a)
        }
        let correct = (0..<classes).reduce(0) { $0 + matrix[$1][$1] }
        return QualityReport(
            metrics: [
                "accuracy": n > 0 ? Double(correct) / Double(n) : nil, "precision": mean(precisions), "recall": mean(recalls),
                "f1": mean(f1s), "roc_auc": aucs.count == classes ? mean(aucs) : nil, "log_loss": n > 0 ? loss / Double(n) : nil,
            ],
            count: n, confusionMatrix: matrix)
    }

    /// Ten equal-width bins over [0, 1] (a probability on an inner edge falls in the lower bin).
    public static func calibration(scores: [Double], positives: [Bool]) -> [CalibrationBin] {
        let edges = (0...10).map { Double($0) * 0.1 }
        var count = [Int](repeating: 0, count: 10)
        var sum = [Double](repeating: 0, count: 10)
        var hits = [Double](repeating: 0, count: 10)
        for (p, y) in zip(scores, positives) {
            var bin = 0
            for k in 1..<10 where edges[k] < p { bin = k }
            count[bin] += 1
            sum[bin] += p
            if y { hits[bin] += 1 }
        }
        return (0..<10).map { b in
            CalibrationBin(
                lower: edges[b], upper: edges[b + 1], count: count[b],
                meanPredicted: count[b] > 0 ? sum[b] / Double(count[b]) : nil,
                observedRate: count[b] > 0 ? hits[b] / Double(count[b]) : nil)
        }
    }
}

/// Regression quality: mae, rmse and r2 (nil when the targets are constant).
public enum RegressionQuality {
    public static func compute(targets: [Double], predictions: [Double]) throws(MonitoringError) -> QualityReport {
        guard targets.count == predictions.count else {
            throw MonitoringError("\(targets.count) targets but \(predictions.count) predictions")
        }
        let n = Double(targets.count)
        guard n > 0 else { return QualityReport(metrics: ["mae": nil, "rmse": nil, "r2": nil], count: 0) }
        var absSum = 0.0, sqSum = 0.0
        for (p, y) in zip(predictions, targets) {
            absSum += abs(p - y)
            sqSum += (p - y) * (p - y)
        }
        let mean = targets.reduce(0, +) / n
        let total = targets.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return QualityReport(
            metrics: ["mae": absSum / n, "rmse": (sqSum / n).squareRoot(), "r2": total > 0 ? 1 - sqSum / total : nil],
            count: targets.count)
    }
}
