import Foundation

/// The first Wasserstein (earth mover's) distance between two empirical distributions:
/// ∫ |F_u(t) − F_v(t)| dt over the merged sample values, as SciPy's `wasserstein_distance`.
public enum Wasserstein {
    public static func distance(_ u: [Double], _ v: [Double]) -> Double? {
        guard !u.isEmpty, !v.isEmpty else { return nil }
        let us = u.sorted(), vs = v.sorted()
        var all = us + vs
        all.sort()
        let nu = Double(us.count), nv = Double(vs.count)
        var i = 0, j = 0
        var total = 0.0
        for k in 0..<(all.count - 1) {
            let t = all[k]
            while i < us.count && us[i] <= t { i += 1 }
            while j < vs.count && vs[j] <= t { j += 1 }
            let delta = all[k + 1] - t
            if delta != 0 { total += abs(Double(i) / nu - Double(j) / nv) * delta }
        }
        return total
    }

    /// Population standard deviation (NumPy's `np.std`, ddof = 0).
    public static func standardDeviation(_ x: [Double]) -> Double {
        guard !x.isEmpty else { return .nan }
        let mean = x.reduce(0, +) / Double(x.count)
        var sum = 0.0
        for v in x { sum += (v - mean) * (v - mean) }
        return (sum / Double(x.count)).squareRoot()
    }
}
