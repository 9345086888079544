import Foundation
import KeelCore

/// Quality metrics over a holdout set; names are the ones gates refer to. Inputs come from a
/// model's outputs, so mismatched lengths and odd values are errors or ignored, never traps.
public enum QualityMetrics {
    /// Binary classification from positive-class probabilities and 0/1 labels (threshold 0.5):
    /// accuracy, precision, recall, f1, roc_auc, log_loss.
    public static func binary(probabilities p: [Double], labels y: [Int]) throws(KeelError) -> [String: Double] {
        try sameCount(p.count, y.count)
        var tp = 0.0, fp = 0.0, tn = 0.0, fn = 0.0, loss = 0.0
        for (prob, label) in zip(p, y) {
            let predicted = prob >= 0.5
            switch (predicted, label == 1) {
            case (true, true): tp += 1
            case (true, false): fp += 1
            case (false, false): tn += 1
            case (false, true): fn += 1
            }
            let clipped = min(max(prob, 1e-15), 1 - 1e-15)
            loss -= label == 1 ? log(clipped) : log(1 - clipped)
        }
        let n = Double(p.count)
        let precision = tp + fp > 0 ? tp / (tp + fp) : 0
        let recall = tp + fn > 0 ? tp / (tp + fn) : 0
        let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        var out: [String: Double] = [
            "accuracy": n > 0 ? (tp + tn) / n : 0, "precision": precision, "recall": recall, "f1": f1,
            "log_loss": n > 0 ? loss / n : 0,
        ]
        if let auc = rocAUC(scores: p, labels: y) { out["roc_auc"] = auc }
        return out
    }

    /// Multi-class: accuracy, macro precision/recall/F1 and log-loss from per-class probabilities.
    public static func multiclass(probabilities rows: [[Double]], labels y: [Int]) throws(KeelError) -> [String: Double] {
        try sameCount(rows.count, y.count)
        let classes = rows.first?.count ?? 0
        if let ragged = rows.firstIndex(where: { $0.count != classes }) {
            throw KeelError.invalidModel("probability row \(ragged) has \(rows[ragged].count) classes, row 0 has \(classes)")
        }
        var correct = 0.0, loss = 0.0
        var tp = [Double](repeating: 0, count: classes), fp = tp, fn = tp
        for (row, label) in zip(rows, y) {
            guard !row.isEmpty else { continue }
            let predicted = row.indices.max { row[$0] < row[$1] } ?? 0
            if predicted == label { correct += 1; tp[predicted] += 1 } else {
                fp[predicted] += 1
                if label >= 0, label < classes { fn[label] += 1 }
            }
            let p = label >= 0 && label < row.count ? row[label] : 0
            loss -= log(min(max(p, 1e-15), 1 - 1e-15))
        }
        var precision = 0.0, recall = 0.0, f1 = 0.0
        for c in 0..<classes {
            let pr = tp[c] + fp[c] > 0 ? tp[c] / (tp[c] + fp[c]) : 0
            let rc = tp[c] + fn[c] > 0 ? tp[c] / (tp[c] + fn[c]) : 0
            precision += pr
            recall += rc
            f1 += pr + rc > 0 ? 2 * pr * rc / (pr + rc) : 0
        }
        let n = Double(y.count), k = Double(max(classes, 1))
        return ["accuracy": n > 0 ? correct / n : 0, "precision": precision / k, "recall": recall / k, "f1": f1 / k, "log_loss": n > 0 ? loss / n : 0]
    }

    /// Area under the ROC curve by the rank-sum (Mann–Whitney) statistic, ties averaged;
    /// nil when only one class is present.
    public static func rocAUC(scores: [Double], labels: [Int]) -> Double? {
        guard scores.count == labels.count else { return nil }
        let positives = labels.filter { $0 == 1 }.count
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let averageRank = Double(i + j) / 2 + 1
            for k in i...j where labels[order[k]] == 1 { rankSum += averageRank }
            i = j + 1
        }
        let p = Double(positives), n = Double(negatives)
        return (rankSum - p * (p + 1) / 2) / (p * n)
    }

    /// Regression: mae, rmse, r2.
    public static func regression(predictions p: [Double], targets y: [Double]) -> [String: Double] {
        let n = Double(y.count)
        guard n > 0 else { return [:] }
        var absSum = 0.0, sqSum = 0.0
        for (a, b) in zip(p, y) {
            absSum += abs(a - b)
            sqSum += (a - b) * (a - b)
        }
        let mean = y.reduce(0, +) / n
        let total = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return ["mae": absSum / n, "rmse": (sqSum / n).squareRoot(), "r2": total > 0 ? 1 - sqSum / total : 0]
    }

    /// The q-quantile (0…1) of samples by nearest rank.
    public static func percentile(_ samples: [Double], _ q: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        let fraction = q.isFinite ? min(max(q, 0), 1) : 1
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    static func sameCount(_ predictions: Int, _ labels: Int) throws(KeelError) {
        guard predictions == labels else {
            throw KeelError.invalidModel("the model produced \(predictions) predictions for \(labels) holdout rows")
        }
    }
}
