import Foundation

/// Pearson's chi-square goodness-of-fit test and the chi-square distribution behind it.
public enum ChiSquare {
    /// P(X > x) for X ~ χ²(dof): the regularized upper incomplete gamma Q(dof/2, x/2).
    public static func survival(_ x: Double, dof: Int) -> Double {
        guard dof > 0, !x.isNaN else { return .nan }
        if x <= 0 { return 1 }
        if x.isInfinite { return 0 }
        return IncompleteGamma.upper(a: Double(dof) / 2, x: x / 2)
    }

    /// The statistic Σ (observed − expected)² / expected and its p-value with k − 1 degrees of
    /// freedom. An expected count of 0 with a non-zero observed one makes the statistic
    /// infinite and the p-value 0.
    public static func test(observed: [Double], expected: [Double]) -> (statistic: Double, pValue: Double) {
        var statistic = 0.0
        for (o, e) in zip(observed, expected) {
            let diff = o - e
            if e == 0 {
                if diff != 0 { statistic = .infinity } else { continue }
            } else {
                statistic += diff * diff / e
            }
        }
        let dof = observed.count - 1
        guard dof > 0 else { return (statistic, .nan) }
        return (statistic, survival(statistic, dof: dof))
    }
}

/// The regularized incomplete gamma functions P(a, x) and Q(a, x) = 1 − P(a, x): a power
/// series below x = a + 1, Legendre's continued fraction (modified Lentz) above, each computing
/// the smaller tail directly so neither loses precision by cancellation.
public enum IncompleteGamma {
    static let epsilon = 1e-16
    static let tiny = 1e-300

    public static func upper(a: Double, x: Double) -> Double {
        guard a > 0, x >= 0 else { return .nan }
        if x == 0 { return 1 }
        if x < a + 1 { return 1 - series(a: a, x: x) }
        return continuedFraction(a: a, x: x)
    }

    public static func lower(a: Double, x: Double) -> Double {
        guard a > 0, x >= 0 else { return .nan }
        if x == 0 { return 0 }
        if x < a + 1 { return series(a: a, x: x) }
        return 1 - continuedFraction(a: a, x: x)
    }

    /// log of the common factor x^a e^{−x} / Γ(a).
    private static func logPrefactor(a: Double, x: Double) -> Double {
        a * log(x) - x - logGamma(a)
    }

    /// P(a, x) = x^a e^{−x} / Γ(a+1) · Σ x^n / ((a+1)…(a+n)).
    private static func series(a: Double, x: Double) -> Double {
        var term = 1 / a
        var sum = term
        var ap = a
        for _ in 0..<10_000 {
            ap += 1
            term *= x / ap
            sum += term
            if abs(term) < abs(sum) * epsilon { break }
        }
        return min(max(sum * exp(logPrefactor(a: a, x: x)), 0), 1)
    }

    /// Q(a, x) = x^a e^{−x} / Γ(a) · 1 / (x + 1 − a − 1·(1−a) / (x + 3 − a − …)).
    private static func continuedFraction(a: Double, x: Double) -> Double {
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1..<10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return min(max(exp(logPrefactor(a: a, x: x)) * h, 0), 1)
    }
}

/// The standard normal distribution.
public enum Normal {
    /// Φ(x), as 0.5 · erfc(−x / √2).
    public static func cdf(_ x: Double) -> Double {
        0.5 * erfc(-x / 2.0.squareRoot())
    }
}

/// log Γ(x) (the libm function, which Foundation overloads with a tuple-returning variant).
func logGamma(_ x: Double) -> Double {
    let value: Double = lgamma(x)
    return value
}
