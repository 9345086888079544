/// A statistical test or distance that decides whether one column drifted. Names and default
/// thresholds are Evidently's; p-value methods drift below their threshold (K-S at or below),
/// distances at or above.
public enum DriftMethod: String, Sendable, Codable, CaseIterable {
    /// Two-sample Kolmogorov–Smirnov p-value (numerical).
    case ks
    /// Pearson chi-square p-value over category counts.
    case chisquare
    /// Two-proportion z-test p-value (two values).
    case z
    /// Wasserstein distance divided by the reference's standard deviation (numerical).
    case wasserstein
    /// Jensen–Shannon distance between binned or category shares.
    case jensenshannon
    /// Population stability index over binned or category shares.
    case psi
    /// Kullback–Leibler divergence of the reference from the current shares.
    case klDiv = "kl_div"

    public var defaultThreshold: Double {
        switch self {
        case .ks, .chisquare, .z: return 0.05
        case .wasserstein, .jensenshannon, .psi, .klDiv: return 0.1
        }
    }

    /// Whether the score is a p-value (small = drift) rather than a distance (large = drift).
    public var isPValue: Bool { self == .ks || self == .chisquare || self == .z }

    public func drifted(score: Double, threshold: Double) -> Bool {
        switch self {
        case .ks: return score <= threshold
        case .chisquare, .z: return score < threshold
        case .wasserstein, .jensenshannon, .psi, .klDiv: return score >= threshold
        }
    }

    /// Evidently's display name of the method, for comparing reports.
    public var evidentlyName: String {
        switch self {
        case .ks: return "K-S p_value"
        case .chisquare: return "chi-square p_value"
        case .z: return "Z-test p_value"
        case .wasserstein: return "Wasserstein distance (normed)"
        case .jensenshannon: return "Jensen-Shannon distance"
        case .psi: return "PSI"
        case .klDiv: return "Kullback-Leibler divergence"
        }
    }
}

/// Whether a column is compared as numbers or as categories.
public enum ColumnKind: String, Sendable, Codable {
    case numerical
    case categorical
}

/// One column's values with the missing ones (null, NaN, ±∞) already left out.
public enum ColumnSample: Sendable, Equatable {
    case numerical([Double])
    case categorical([String])

    public var count: Int {
        switch self {
        case .numerical(let v): return v.count
        case .categorical(let v): return v.count
        }
    }

    /// Numbers in ascending order (categories unchanged).
    public var sorted: ColumnSample {
        if case .numerical(let v) = self { return .numerical(RadixSort.sorted(v)) }
        return self
    }

    /// Numbers from raw values, dropping NaN and infinities.
    public static func numbers(_ values: [Double]) -> ColumnSample {
        .numerical(values.filter { $0.isFinite })
    }
}
