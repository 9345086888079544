import Foundation

/// The distribution of the two-sided one-sample Kolmogorov statistic D_n for finite n, as
/// Simard & L'Ecuyer (2011) compute it (and SciPy's `kstwo` does): Ruben–Gambino closed forms
/// near the ends, the Durbin matrix (Marsaglia–Tsang–Wang) and Pomeranz recursions for
/// moderate n·x², the Pelz–Good expansion for large n, and twice the exact one-sided Smirnov
/// probability in the tail.
public enum KolmogorovDistribution {
    static let scaleExponent = 128
    static let big = Double(sign: .plus, exponent: 128, significand: 1)
    static let small = Double(sign: .plus, exponent: -128, significand: 1)

    /// P(D_n > x).
    public static func survival(n: Int, x: Double) -> Double {
        guard n > 0, !x.isNaN else { return .nan }
        if x >= 1 { return 0 }
        if x <= 0 { return 1 }
        let nd = Double(n)
        let t = nd * x
        if t <= 1 {
            if t <= 0.5 { return 1 }
            let cdf: Double
            if n <= 140 {
                var p = 1.0
                for i in 1...n { p *= Double(i) * (1 / nd) * (2 * t - 1) }
                cdf = p
            } else {
                cdf = exp(logFactorialOverPower(n) + nd * log(2 * t - 1))
            }
            return clip(1 - cdf)
        }
        if t >= nd - 1 { return clip(2 * pow(1 - x, nd)) }
        if x >= 0.5 { return clip(2 * smirnov(n: n, x: x)) }
        let nxSquared = t * x
        if n <= 140 {
            if nxSquared <= 0.754693 { return clip(1 - durbin(n: n, d: x)) }
            if nxSquared <= 4 { return clip(1 - pomeranz(n: n, x: x)) }
            return clip(2 * smirnov(n: n, x: x))
        }
        if nxSquared >= 370 { return 0 }
        if nxSquared >= 2.2 { return clip(2 * smirnov(n: n, x: x)) }
        let cdf: Double
        if nxSquared >= 18 {
            cdf = 1
        } else if n <= 100_000 && nd * pow(x, 1.5) <= 1.4 {
            cdf = durbin(n: n, d: x)
        } else {
            return clip(pelzGoodSurvival(n: n, x: x))
        }
        return clip(1 - cdf)
    }

    static func clip(_ p: Double) -> Double { min(max(p, 0), 1) }

    /// log(n! / n^n) by Stirling's series.
    static func logFactorialOverPower(_ n: Int) -> Double {
        let coefficients = [
            -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
            -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
        ]
        let nd = Double(n)
        let rn = 1 / nd
        var poly = 0.0
        for c in coefficients { poly = poly * (rn / nd) + c }
        return log(nd) / 2 - nd + log(2 * Double.pi) / 2 + rn * poly
    }

    /// P(D_n⁺ ≥ x), exactly, by the Birnbaum–Tingey sum (terms in logarithms).
    public static func smirnov(n: Int, x: Double) -> Double {
        guard n > 0, !x.isNaN else { return .nan }
        if x >= 1 { return 0 }
        if x <= 0 { return 1 }
        let nd = Double(n)
        if n == 1 { return 1 - x }
        let top = Int((nd * (1 - x)).rounded(.down))
        let logN = logGamma(nd + 1)
        var sum = 0.0
        var j = 0
        while j <= top {
            let jd = Double(j)
            let a = 1 - x - jd / nd
            let b = x + jd / nd
            if a > 0 {
                let logTerm = logN - logGamma(jd + 1) - logGamma(nd - jd + 1) + (nd - jd) * log(a) + (jd - 1) * log(b)
                sum += exp(logTerm)
            } else if a == 0, j == n {
                sum += exp((jd - 1) * log(b))
            }
            j += 1
        }
        return min(max(x * sum, 0), 1)
    }

    /// P(D_n ≤ d) by the Durbin matrix, powered by squaring with explicit scaling.
    static func durbin(n: Int, d: Double) -> Double {
        if d >= 1 { return 1 }
        let nd = Double(n) * d
        if nd <= 0.5 { return 0 }
        let k = Int(nd.rounded(.up))
        let h = Double(k) - nd
        let m = 2 * k - 1
        var v = [Double](repeating: 0, count: m)
        var w = [Double](repeating: 0, count: m)
        var fac = 1.0
        for j in 1...m {
            w[j - 1] = fac
            fac /= Double(j)
            v[j - 1] = (1 - pow(h, Double(j))) * fac
        }
        let tt = pow(max(2 * h - 1, 0), Double(m)) - 2 * pow(h, Double(m))
        v[m - 1] = (1 + tt) * fac
        var hMatrix = [Double](repeating: 0, count: m * m)
        for i in 1..<max(m, 1) {
            for r in (i - 1)..<m where r - (i - 1) < m - i + 1 { hMatrix[r * m + i] = w[r - (i - 1)] }
        }
        for r in 0..<m { hMatrix[r * m] = v[r] }
        for c in 0..<m { hMatrix[(m - 1) * m + c] = v[m - 1 - c] }
        var power = [Double](repeating: 0, count: m * m)
        for i in 0..<m { power[i * m + i] = 1 }
        var nn = n
        var exponent = 0
        var hExponent = 0
        while nn > 0 {
            if nn % 2 == 1 {
                power = multiply(power, hMatrix, m)
                exponent += hExponent
            }
            hMatrix = multiply(hMatrix, hMatrix, m)
            hExponent *= 2
            if abs(hMatrix[(k - 1) * m + (k - 1)]) > big {
                for i in hMatrix.indices { hMatrix[i] /= big }
                hExponent += scaleExponent
            }
            nn /= 2
        }
        var p = power[(k - 1) * m + (k - 1)]
        for i in 1...n {
            p = Double(i) * p / Double(n)
            if abs(p) < small {
                p *= big
                exponent -= scaleExponent
            }
        }
        if exponent != 0 { p = scalbn(p, exponent) }
        return clip(p)
    }

    private static func multiply(_ a: [Double], _ b: [Double], _ m: Int) -> [Double] {
        var out = [Double](repeating: 0, count: m * m)
        for i in 0..<m {
            for k in 0..<m {
                let aik = a[i * m + k]
                if aik == 0 { continue }
                for j in 0..<m { out[i * m + j] += aik * b[k * m + j] }
            }
        }
        return out
    }

    /// Row interval endpoints of the Pomeranz recursion.
    private static func pomeranzRange(_ i: Int, _ n: Int, _ ll: Int, _ ceilf: Int, _ roundf: Int) -> (Int, Int) {
        var j1: Int, j2: Int
        if i == 0 {
            j1 = -ll - ceilf - 1
            j2 = ll + ceilf - 1
        } else {
            let half = (i + 1) / 2, odd = (i + 1) % 2
            if odd == 0 {
                if half == n + 1 {
                    j1 = n - ll - ceilf - 1
                    j2 = n + ll + ceilf - 1
                } else {
                    j1 = half - 1 - ll - roundf - 1
                    j2 = half + ll - 1 + ceilf - 1
                }
            } else {
                j1 = half - 1 - ll - 1
                j2 = half + ll + roundf - 1
            }
        }
        return (max(j1 + 2, 0), min(j2, n))
    }

    /// P(D_n ≤ x) by Pomeranz's recursion.
    static func pomeranz(n: Int, x: Double) -> Double {
        let t = Double(n) * x
        let ll = Int(t.rounded(.down))
        let f = t - Double(ll)
        let g = min(f, 1 - f)
        let ceilf = f > 0 ? 1 : 0
        let roundf = f > 0.5 ? 1 : 0
        let count = 2 * (ll + 1)
        var gPower = [Double](repeating: 1, count: count)
        var twoGPower = gPower, oneMinusTwoGPower = gPower
        let nd = Double(n)
        for m in 1..<max(count, 1) {
            gPower[m] = gPower[m - 1] * (g / nd) / Double(m)
            twoGPower[m] = twoGPower[m - 1] * (2 * g / nd) / Double(m)
            oneMinusTwoGPower[m] = oneMinusTwoGPower[m - 1] * ((1 - 2 * g) / nd) / Double(m)
        }
        var v0 = [Double](repeating: 0, count: count)
        var v1 = [Double](repeating: 0, count: count)
        v1[0] = 1
        var v0s = 0, v1s = 0
        var exponent = 0
        var (j1, j2) = pomeranzRange(0, n, ll, ceilf, roundf)
        for i in 1..<(2 * n + 2) {
            let k1 = j1
            swap(&v0, &v1)
            swap(&v0s, &v1s)
            for z in v1.indices { v1[z] = 0 }
            (j1, j2) = pomeranzRange(i, n, ll, ceilf, roundf)
            let powers = (i == 1 || i == 2 * n + 1) ? gPower : (i % 2 == 1 ? twoGPower : oneMinusTwoGPower)
            let length = j2 - k1 + 1
            if length > 0 {
                // Full convolution of v0[k1 − v0s ..< + length] with powers[..< length]
                // (both cut at the arrays' ends, as slicing does).
                let start = max(k1 - v0s, 0)
                let aLength = max(min(length, count - start), 0)
                let bLength = min(length, count)
                let convStart = j1 - k1
                let convLength = j2 - j1 + 1
                let fullLength = aLength + bLength - 1
                for c in 0..<max(convLength, 0) {
                    let index = convStart + c
                    guard index >= 0, index < fullLength else { continue }
                    var acc = 0.0
                    let lower = max(0, index - (bLength - 1)), upper = min(index, aLength - 1)
                    if lower <= upper {
                        for a in lower...upper { acc += v0[start + a] * powers[index - a] }
                    }
                    v1[c] = acc
                }
                let top = v1.max() ?? 0
                if top > 0 && top < small {
                    for z in v1.indices { v1[z] *= big }
                    exponent -= scaleExponent
                }
                v1s = v0s + j1 - k1
            }
        }
        var answer = v1[n - v1s]
        for m in 1...n {
            if abs(answer) > big {
                answer *= small
                exponent += scaleExponent
            }
            answer *= Double(m)
        }
        if exponent != 0 { answer = scalbn(answer, exponent) }
        return clip(answer)
    }

    /// P(D_n > x) by the Pelz–Good expansion (large n).
    static func pelzGoodSurvival(n: Int, x: Double) -> Double {
        let piSquared = Double.pi * Double.pi, piFour = piSquared * piSquared, piSix = piFour * piSquared
        let sqrt2pi = (2 * Double.pi).squareRoot()
        let z = Double(n).squareRoot() * x
        let z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2
        let qlog = -piSquared / 8 / z2
        if qlog < -708 { return 1 }
        let q = exp(qlog)
        let k1a = -z2, k1b = piSquared / 4
        let k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * piSquared / 4, k2c = piFour * (1 - 2 * z2) / 16
        let k3d = piSix * (5 - 30 * z2) / 64, k3c = piFour * (-60 * z2 + 212 * z4) / 16
        let k3b = piSquared * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * pow(z, 8)
        var k = [0.0, 0.0, 0.0, 0.0]
        let maxk = Int((16 * z / Double.pi).rounded(.up))
        if maxk >= 1 {
            for kk in stride(from: maxk, through: 1, by: -1) {
                let m = Double(2 * kk - 1)
                let m2 = m * m, m4 = m2 * m2, m6 = m4 * m2
                let qpower = pow(q, Double(8 * kk))
                let coefficients = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6]
                for i in 0..<4 { k[i] = k[i] * qpower + coefficients[i] }
            }
        }
        let divisors = [z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)]
        for i in 0..<4 { k[i] = k[i] * q * sqrt2pi / divisors[i] }
        let q2 = exp(-piSquared / 2 / z2)
        var k2extra = 0.0, k3extra = 0.0
        if maxk >= 1 {
            let sqrt3z = 3.0.squareRoot() * z
            for kk in stride(from: maxk, through: 1, by: -1) {
                let kd = Double(kk)
                let qp = pow(q2, kd * kd)
                k2extra += kd * kd * qp
                let kspi = Double.pi * kd
                k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * kd * kd * qp
            }
        }
        k[2] += k2extra * piSquared * sqrt2pi / (-36 * z3)
        k[3] += k3extra * piSquared * sqrt2pi / (216 * z6)
        for i in 0..<4 { k[i] /= pow(Double(n), Double(i) / 2) }
        // Survival: 1 − K0 − K1 − K2 − K3.
        k = k.map { -$0 }
        k[0] += 1
        return k.reduce(0, +)
    }
}
