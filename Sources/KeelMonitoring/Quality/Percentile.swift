/// Percentiles of samples.
public enum Percentile {
    /// The q-quantile (0…1) by nearest rank; 0 for no samples.
    public static func nearestRank(_ samples: [Double], _ q: Double) -> Double {
        guard !samples.isEmpty, q.isFinite else { return 0 }
        let sorted = samples.sorted()
        let rank = Int((min(max(q, 0), 1) * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
