import Foundation

/// Quantiles and tails for significance tests: the standard normal quantile and Student's t
/// distribution (through the regularized incomplete beta function).
public enum Distributions {
    /// Φ⁻¹(p): Acklam's rational approximation refined by two Newton steps on erfc.
    public static func normalQuantile(_ p: Double) -> Double {
        guard p > 0, p < 1 else { return p <= 0 ? -.infinity : .infinity }
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        for _ in 0..<2 {
            let e = Normal.cdf(x) - p
            let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
            x -= u / (1 + x * u / 2)
        }
        return x
    }

    /// P(T ≤ t) for Student's t with `df` degrees of freedom (df > 0, fractional allowed).
    public static func studentCDF(_ t: Double, df: Double) -> Double {
        guard df > 0, !t.isNaN else { return .nan }
        if t.isInfinite { return t > 0 ? 1 : 0 }
        let x = df / (df + t * t)
        let tail = 0.5 * IncompleteBeta.regularized(x: x, a: df / 2, b: 0.5)
        return t > 0 ? 1 - tail : tail
    }

    /// The t value with P(T ≤ t) = p, by bisection then Newton on the CDF.
    public static func studentQuantile(_ p: Double, df: Double) -> Double {
        guard p > 0, p < 1, df > 0 else { return .nan }
        var lo = -1e3, hi = 1e3
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if studentCDF(mid, df: df) < p { lo = mid } else { hi = mid }
            if hi - lo < 1e-13 * max(1, abs(mid)) { break }
        }
        return (lo + hi) / 2
    }
}

/// The regularized incomplete beta function I_x(a, b) (Lentz's continued fraction, using the
/// symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges faster).
public enum IncompleteBeta {
    public static func regularized(x: Double, a: Double, b: Double) -> Double {
        guard a > 0, b > 0, x >= 0, x <= 1 else { return .nan }
        if x == 0 || x == 1 { return x }
        let front = exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * log(x) + b * log1p(-x))
        if x < (a + 1) / (a + b + 2) { return front * fraction(x: x, a: a, b: b) / a }
        return 1 - front * fraction(x: 1 - x, a: b, b: a) / b
    }

    private static func fraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let md = Double(m)
            var num = md * (b - md) * x / ((a + 2 * md - 1) * (a + 2 * md))
            d = 1 + num * d
            if abs(d) < tiny { d = tiny }
            c = 1 + num / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            num = -(a + md) * (a + b + md) * x / ((a + 2 * md) * (a + 2 * md + 1))
            d = 1 + num * d
            if abs(d) < tiny { d = tiny }
            c = 1 + num / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return h
    }
}
