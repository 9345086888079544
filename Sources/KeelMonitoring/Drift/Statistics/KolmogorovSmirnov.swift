import Foundation

/// The two-sample Kolmogorov–Smirnov test, two-sided, with SciPy's `ks_2samp(method='auto')`
/// semantics: the exact distribution of the statistic while both samples have at most 10 000
/// values (lattice paths), Kolmogorov's distribution for the effective sample size beyond.
public enum KolmogorovSmirnov {
    /// Samples up to this size get the exact p-value.
    public static let maxExactSize = 10_000

    public struct Result: Sendable, Equatable {
        public var statistic: Double
        public var pValue: Double
    }

    /// The test on two samples (NaN-free); nil when either is empty.
    public static func test(_ a: [Double], _ b: [Double]) -> Result? {
        guard !a.isEmpty, !b.isEmpty else { return nil }
        let x = a.sorted(), y = b.sorted()
        let d = statistic(sorted: x, sorted: y)
        return Result(statistic: d, pValue: pValue(n1: x.count, n2: y.count, statistic: d))
    }

    /// sup |F1 − F2| over every sample value, both empirical distribution functions taken
    /// right-continuous (ties in either sample counted together).
    public static func statistic(sorted x: [Double], sorted y: [Double]) -> Double {
        let n1 = Double(x.count), n2 = Double(y.count)
        var i = 0, j = 0
        var d = 0.0
        while i < x.count || j < y.count {
            let v: Double
            if j >= y.count || (i < x.count && x[i] <= y[j]) { v = x[i] } else { v = y[j] }
            while i < x.count && x[i] <= v { i += 1 }
            while j < y.count && y[j] <= v { j += 1 }
            d = max(d, abs(Double(i) / n1 - Double(j) / n2))
        }
        return min(d, 1)
    }

    /// Two-sided p-value of statistic `d` for samples of sizes `n1` and `n2`.
    public static func pValue(n1: Int, n2: Int, statistic d: Double) -> Double {
        guard n1 > 0, n2 > 0, d.isFinite else { return .nan }
        if max(n1, n2) <= maxExactSize {
            let g = gcd(n1, n2)
            let lcm = Double(n1 / g) * Double(n2)
            let h = Int((d * lcm).rounded(.toNearestOrEven))
            let dRounded = Double(h) / lcm
            if h == 0 { return 1 }
            let p = n1 == n2 ? outsideSquare(n: n1, h: h) : outsideBand(n1, n2, g: g, h: h)
            if p >= 0, p <= 1 { return p }
            return asymptotic(n1: n1, n2: n2, d: dRounded)
        }
        return asymptotic(n1: n1, n2: n2, d: d)
    }

    /// Kolmogorov's two-sided distribution at the effective sample size n1·n2/(n1+n2).
    static func asymptotic(n1: Int, n2: Int, d: Double) -> Double {
        let m = Double(max(n1, n2)), n = Double(min(n1, n2))
        let en = (m * n / (m + n)).rounded(.toNearestOrEven)
        return min(max(KolmogorovDistribution.survival(n: Int(en), x: d), 0), 1)
    }

    /// Equal sizes: the share of lattice paths leaving the band |x − y| < h, by the reflection
    /// sum (a closed form; may exceed 1 by rounding, which the caller treats as a failure).
    static func outsideSquare(n: Int, h: Int) -> Double {
        var total = 0.0
        var k = n / h
        while k >= 0 {
            var p1 = 1.0
            for j in 0..<h {
                p1 = Double(n - k * h - j) * p1 / Double(n + k * h + j + 1)
            }
            total = p1 * (1 - total)
            k -= 1
        }
        return 2 * total
    }

    /// Unequal sizes: 1 − the share of monotone lattice paths from (0, 0) to (m, n) that keep
    /// |x·n/g − y·m/g| < h at every point. The share of paths to (x, y) staying inside obeys
    /// P(x, y) = (x·P(x−1, y) + y·P(x, y−1)) / (x + y), so no count ever overflows.
    static func outsideBand(_ a: Int, _ b: Int, g: Int, h: Int) -> Double {
        let m = max(a, b), n = min(a, b)
        let mg = m / g, ng = n / g
        // Inside at (x, y) iff |x·ng − y·mg| < h.
        func low(_ x: Int) -> Int {  // smallest y inside at column x
            let num = x * ng - h  // y·mg > num
            let y = num >= 0 ? num / mg + 1 : -((-num) / mg) + ((-num) % mg == 0 ? 1 : 0)
            return max(y, 0)
        }
        func high(_ x: Int) -> Int {  // largest y inside at column x
            let num = x * ng + h  // y·mg < num
            let y = num > 0 ? (num - 1) / mg : -1
            return min(y, n)
        }
        var column = [Double](repeating: 0, count: n + 1)
        // Column x = 0: only y = 0 (and points up the axis that stay inside) are reachable.
        var lo = low(0), hi = high(0)
        guard lo == 0 else { return 1 }
        for y in 0...max(hi, 0) where y <= n { column[y] = 1 }
        for x in 1...m {
            let newLo = low(x), newHi = high(x)
            if newLo > newHi { return 1 }
            var below = 0.0  // P(x, y − 1)
            var y = newLo
            var updated: [Double] = []
            updated.reserveCapacity(newHi - newLo + 1)
            while y <= newHi {
                let left = (y >= lo && y <= hi) ? column[y] : 0  // P(x − 1, y)
                let up = y > newLo ? below : 0
                let value = (Double(x) * left + Double(y) * up) / Double(x + y)
                updated.append(value)
                below = value
                y += 1
            }
            if hi >= lo { for k in lo...hi { column[k] = 0 } }
            for (k, v) in updated.enumerated() { column[newLo + k] = v }
            lo = newLo
            hi = newHi
        }
        guard hi >= n, lo <= n else { return 1 }
        return 1 - column[n]
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
