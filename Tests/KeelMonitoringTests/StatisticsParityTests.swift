import Foundation
import KeelCore
import Testing
@testable import KeelMonitoring

/// The distributions behind the drift tests equal SciPy's on the committed references.
@Suite struct StatisticsParityTests {
    @Test func kolmogorovSmirnovPValuesMatchSciPy() throws {
        let doc = try MonitoringFixtures.json("ks.json")
        let cases = doc["cases"]?.arrayValue ?? []
        #expect(cases.count > 40)
        for c in cases {
            let n1 = c["n1"]?.intValue ?? 0, n2 = c["n2"]?.intValue ?? 0
            let d = MonitoringFixtures.number(c["statistic"]) ?? .nan, want = MonitoringFixtures.number(c["p"]) ?? .nan
            let got = KolmogorovSmirnov.pValue(n1: n1, n2: n2, statistic: d)
            #expect(abs(got - want) <= 1e-9 + 1e-7 * want, "n1 \(n1) n2 \(n2) d \(d): Keel \(got), SciPy \(want)")
        }
        for c in doc["raw"]?.arrayValue ?? [] {
            let r = try #require(KolmogorovSmirnov.test(MonitoringFixtures.doubles(c["a"]), MonitoringFixtures.doubles(c["b"])))
            #expect(MonitoringFixtures.close(r.statistic, MonitoringFixtures.number(c["statistic"]) ?? .nan, 1e-12))
            #expect(MonitoringFixtures.close(r.pValue, MonitoringFixtures.number(c["p"]) ?? .nan, 1e-9))
        }
    }

    @Test func kolmogorovDistributionMatchesSciPysKstwo() throws {
        let doc = try MonitoringFixtures.json("ks.json")
        for c in doc["kstwo"]?.arrayValue ?? [] {
            let n = c["n"]?.intValue ?? 0, x = MonitoringFixtures.number(c["x"]) ?? .nan
            let want = MonitoringFixtures.number(c["sf"]) ?? .nan
            let got = KolmogorovDistribution.survival(n: n, x: x)
            #expect(abs(got - want) <= 1e-12 + 1e-9 * want, "kstwo.sf(\(x), \(n)): Keel \(got), SciPy \(want)")
        }
        for c in doc["smirnov"]?.arrayValue ?? [] {
            let n = c["n"]?.intValue ?? 0, x = MonitoringFixtures.number(c["x"]) ?? .nan
            let want = MonitoringFixtures.number(c["sf"]) ?? .nan
            let got = KolmogorovDistribution.smirnov(n: n, x: x)
            #expect(abs(got - want) <= 1e-12 + 1e-9 * want, "smirnov(\(n), \(x)): Keel \(got), SciPy \(want)")
        }
    }

    @Test func chiSquareSurvivalMatchesSciPy() throws {
        for c in try MonitoringFixtures.json("chi2.json").arrayValue ?? [] {
            let x = MonitoringFixtures.number(c["x"]) ?? .nan, dof = c["dof"]?.intValue ?? 0
            let want = MonitoringFixtures.number(c["sf"]) ?? .nan
            let got = ChiSquare.survival(x, dof: dof)
            #expect(abs(got - want) <= 1e-300 + 1e-10 * want, "chi2.sf(\(x), \(dof)): Keel \(got), SciPy \(want)")
        }
    }
}
