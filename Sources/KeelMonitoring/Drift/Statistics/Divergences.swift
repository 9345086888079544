import Foundation

/// Distances between two distributions given as shares per bin or category: Jensen–Shannon
/// distance, population stability index and Kullback–Leibler divergence.
public enum Divergences {
    /// √(½ KL(p‖m) + ½ KL(q‖m)) with m the mean of p and q (both normalised), natural log.
    public static func jensenShannon(_ p: [Double], _ q: [Double]) -> Double {
        let sp = p.reduce(0, +), sq = q.reduce(0, +)
        var left = 0.0, right = 0.0
        for (a, b) in zip(p, q) {
            let pa = a / sp, qb = b / sq
            let m = (pa + qb) / 2
            left += relativeEntropy(pa, m)
            right += relativeEntropy(qb, m)
        }
        return ((left + right) / 2).squareRoot()
    }

    /// Σ (r − c) · ln(r / c).
    public static func populationStability(_ reference: [Double], _ current: [Double]) -> Double {
        var sum = 0.0
        for (r, c) in zip(reference, current) { sum += (r - c) * log(r / c) }
        return sum
    }

    /// KL(p‖q) with both normalised to sum 1.
    public static func kullbackLeibler(_ p: [Double], _ q: [Double]) -> Double {
        let sp = p.reduce(0, +), sq = q.reduce(0, +)
        var sum = 0.0
        for (a, b) in zip(p, q) { sum += relativeEntropy(a / sp, b / sq) }
        return sum
    }

    /// x · ln(x / y), 0 for x = 0, +∞ when only y is 0.
    static func relativeEntropy(_ x: Double, _ y: Double) -> Double {
        if x > 0 && y > 0 { return x * log(x / y) }
        if x == 0 && y >= 0 { return 0 }
        return .infinity
    }

    /// Replaces zero shares so logarithms stay finite: by the smallest non-zero share / 10⁶ when
    /// that share is at most 0.0001, else by 0.0001.
    public static func fillZeroes(_ shares: [Double]) -> [Double] {
        guard let smallest = shares.filter({ $0 != 0 }).min() else { return shares }
        let fill = smallest <= 0.0001 ? smallest / 1_000_000 : 0.0001
        return shares.map { $0 == 0 ? fill : $0 }
    }
}
