/// Threshold-free metrics over scores: ROC-AUC and average precision (PR-AUC), with ties in
/// the scores handled the way scikit-learn does (one curve point per distinct score).
public enum RankingMetrics {
    /// Area under the ROC curve; nil unless both classes are present.
    public static func rocAUC(scores: [Double], positives: [Bool]) -> Double? {
        let p = positives.filter { $0 }.count
        let n = positives.count - p
        guard p > 0, n > 0, scores.count == positives.count else { return nil }
        // Trapezoids over the distinct thresholds, from the highest score down.
        var tp = 0.0, fp = 0.0, lastTP = 0.0, lastFP = 0.0
        var area = 0.0
        forEachThreshold(scores, positives) { dtp, dfp in
            tp += dtp
            fp += dfp
            area += (fp - lastFP) * (tp + lastTP) / 2
            lastTP = tp
            lastFP = fp
        }
        return area / (Double(p) * Double(n))
    }

    /// Average precision Σ (R_k − R_{k−1}) · P_k over the distinct thresholds; nil without positives.
    public static func averagePrecision(scores: [Double], positives: [Bool]) -> Double? {
        let p = Double(positives.filter { $0 }.count)
        guard p > 0, scores.count == positives.count else { return nil }
        var tp = 0.0, fp = 0.0, lastRecall = 0.0
        var sum = 0.0
        forEachThreshold(scores, positives) { dtp, dfp in
            tp += dtp
            fp += dfp
            let recall = tp / p
            sum += (recall - lastRecall) * (tp / (tp + fp))
            lastRecall = recall
        }
        return sum
    }

    /// Calls `body(positives, negatives)` for each group of equal scores, highest first.
    static func forEachThreshold(_ scores: [Double], _ positives: [Bool], _ body: (Double, Double) -> Void) {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var i = 0
        while i < order.count {
            var dtp = 0.0, dfp = 0.0
            let s = scores[order[i]]
            while i < order.count, scores[order[i]] == s {
                if positives[order[i]] { dtp += 1 } else { dfp += 1 }
                i += 1
            }
            body(dtp, dfp)
        }
    }
}
