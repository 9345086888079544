import Foundation

/// The result of comparing a treatment arm with a control arm on one metric.
public struct Comparison: Sendable, Equatable {
    public var control: Double
    public var treatment: Double
    /// treatment − control.
    public var difference: Double
    public var lower: Double
    public var upper: Double
    public var pValue: Double
    public var test: String
}

/// Significance tests for A/B experiments: the two-proportion z-test for rates, Welch's
/// t-test for means, with a confidence interval of the difference and the sample size a given
/// minimum detectable effect needs.
public enum SignificanceTests {
    /// Rates `x1/n1` (control) and `x2/n2` (treatment): pooled two-sided z-test; the interval
    /// of the difference uses the unpooled standard error.
    public static func proportions(successes x1: Int, trials n1: Int, successes x2: Int, trials n2: Int, alpha: Double = 0.05) -> Comparison? {
        guard n1 > 0, n2 > 0 else { return nil }
        let p1 = Double(x1) / Double(n1), p2 = Double(x2) / Double(n2)
        let pooled = Double(x1 + x2) / Double(n1 + n2)
        let se = (pooled * (1 - pooled) * (1 / Double(n1) + 1 / Double(n2))).squareRoot()
        let z = se > 0 ? (p2 - p1) / se : 0
        let p = se > 0 ? 2 * (1 - Normal.cdf(abs(z))) : 1
        let seDiff = (p1 * (1 - p1) / Double(n1) + p2 * (1 - p2) / Double(n2)).squareRoot()
        let q = Distributions.normalQuantile(1 - alpha / 2)
        return Comparison(control: p1, treatment: p2, difference: p2 - p1, lower: p2 - p1 - q * seDiff, upper: p2 - p1 + q * seDiff, pValue: p, test: "two-proportion z-test")
    }

    /// Means of two samples (control, treatment): Welch's unequal-variance t-test with
    /// Welch–Satterthwaite degrees of freedom.
    public static func welch(_ a: [Double], _ b: [Double], alpha: Double = 0.05) -> Comparison? {
        guard a.count >= 2, b.count >= 2 else { return nil }
        func meanVar(_ x: [Double]) -> (Double, Double) {
            let m = x.reduce(0, +) / Double(x.count)
            let v = x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)
            return (m, v)
        }
        let (m1, v1) = meanVar(a), (m2, v2) = meanVar(b)
        let n1 = Double(a.count), n2 = Double(b.count)
        let se2 = v1 / n1 + v2 / n2
        guard se2 > 0 else {
            return Comparison(control: m1, treatment: m2, difference: m2 - m1, lower: m2 - m1, upper: m2 - m1, pValue: m1 == m2 ? 1 : 0, test: "Welch t-test")
        }
        let se = se2.squareRoot()
        let t = (m2 - m1) / se
        let df = se2 * se2 / ((v1 / n1) * (v1 / n1) / (n1 - 1) + (v2 / n2) * (v2 / n2) / (n2 - 1))
        let p = 2 * (1 - Distributions.studentCDF(abs(t), df: df))
        let q = Distributions.studentQuantile(1 - alpha / 2, df: df)
        return Comparison(control: m1, treatment: m2, difference: m2 - m1, lower: m2 - m1 - q * se, upper: m2 - m1 + q * se, pValue: p, test: "Welch t-test")
    }

    /// Per-arm sample size to detect an absolute change `effect` of a rate `baseline` with
    /// two-sided level `alpha` and `power`.
    public static func sampleSize(baselineRate p1: Double, effect: Double, alpha: Double = 0.05, power: Double = 0.8) -> Int? {
        let p2 = p1 + effect
        guard effect != 0, p1 > 0, p1 < 1, p2 > 0, p2 < 1 else { return nil }
        let z = Distributions.normalQuantile(1 - alpha / 2) + Distributions.normalQuantile(power)
        let n = z * z * (p1 * (1 - p1) + p2 * (1 - p2)) / (effect * effect)
        return n.isFinite ? Int(n.rounded(.up)) : nil
    }

    /// Per-arm sample size to detect a change `effect` of a mean with standard deviation `sd`.
    public static func sampleSize(standardDeviation sd: Double, effect: Double, alpha: Double = 0.05, power: Double = 0.8) -> Int? {
        guard effect != 0, sd > 0, sd.isFinite else { return nil }
        let z = Distributions.normalQuantile(1 - alpha / 2) + Distributions.normalQuantile(power)
        let n = 2 * z * z * sd * sd / (effect * effect)
        return n.isFinite ? Int(n.rounded(.up)) : nil
    }
}
