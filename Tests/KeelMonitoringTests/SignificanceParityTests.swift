import Foundation
import KeelCore
import Testing
@testable import KeelMonitoring

/// The experiment statistics equal SciPy's: normal and t quantiles, the t distribution, and
/// Welch's t-test with its interval.
@Suite struct SignificanceParityTests {
    static func doc() throws -> JSONValue { try MonitoringFixtures.json("experiments.json") }

    @Test func quantilesAndTheTDistributionMatchSciPy() throws {
        let d = try Self.doc()
        for c in d["normal_ppf"]?.arrayValue ?? [] {
            let p = MonitoringFixtures.number(c["p"]) ?? .nan, want = MonitoringFixtures.number(c["x"]) ?? .nan
            #expect(abs(Distributions.normalQuantile(p) - want) < 1e-9 * max(1, abs(want)), "ppf(\(p))")
        }
        for c in d["t_cdf"]?.arrayValue ?? [] {
            let t = MonitoringFixtures.number(c["t"]) ?? .nan, df = MonitoringFixtures.number(c["df"]) ?? .nan
            let want = MonitoringFixtures.number(c["cdf"]) ?? .nan
            let got = Distributions.studentCDF(t, df: df)
            #expect(abs(got - want) < 1e-10 + 1e-9 * want, "t.cdf(\(t), \(df)): Keel \(got), SciPy \(want)")
        }
        for c in d["t_ppf"]?.arrayValue ?? [] {
            let p = MonitoringFixtures.number(c["p"]) ?? .nan, df = MonitoringFixtures.number(c["df"]) ?? .nan
            let want = MonitoringFixtures.number(c["t"]) ?? .nan
            #expect(abs(Distributions.studentQuantile(p, df: df) - want) < 1e-8 * max(1, abs(want)), "t.ppf(\(p), \(df))")
        }
    }

    @Test func welchMatchesSciPy() throws {
        for c in try Self.doc()["welch"]?.arrayValue ?? [] {
            let r = try #require(SignificanceTests.welch(MonitoringFixtures.doubles(c["a"]), MonitoringFixtures.doubles(c["b"])))
            let p = MonitoringFixtures.number(c["p"]) ?? .nan
            #expect(abs(r.pValue - p) < 1e-10 + 1e-8 * p, "p: Keel \(r.pValue), SciPy \(p)")
            #expect(abs(r.lower - (MonitoringFixtures.number(c["lower"]) ?? .nan)) < 1e-9)
            #expect(abs(r.upper - (MonitoringFixtures.number(c["upper"]) ?? .nan)) < 1e-9)
        }
    }

    @Test func proportionsAndSampleSizesOnWorkedExamples() throws {
        // 120/1000 vs 150/1000: pooled p = 0.135, se = 0.015281, z = 1.9632, p = 0.0496.
        let r = try #require(SignificanceTests.proportions(successes: 120, trials: 1000, successes: 150, trials: 1000))
        #expect(abs(r.pValue - 0.04962) < 1e-4)
        #expect(abs(r.difference - 0.03) < 1e-12 && r.lower < 0.03 && r.upper > 0.03)
        // 10 % baseline, +2 points, α 0.05, power 0.8: (1.95996 + 0.84162)² · (0.09 + 0.0996) / 0.0004 ≈ 3839.
        #expect(SignificanceTests.sampleSize(baselineRate: 0.10, effect: 0.02) == 3839)
        #expect(SignificanceTests.sampleSize(standardDeviation: 1, effect: 0.1) == 1570)
        #expect(SignificanceTests.proportions(successes: 0, trials: 0, successes: 1, trials: 2) == nil)
    }
}
