import Foundation
import KeelCore
import KeelTestSupport
import Testing
@testable import KeelMonitoring

/// The experiment verdicts on simulated arms whose true effect is known.
@Suite struct ExperimentAnalysisTests {
    typealias Draws = SeededDraws

    static func conversions(_ n: Int, rate: Double, _ g: inout Draws) -> [ArmObservation] {
        (0..<n).map { _ in ArmObservation(outcome: g.next() < rate ? 1 : 0, score: nil, correct: nil, predictedPositive: nil) }
    }

    static func analyse(_ metric: String, _ a: [ArmObservation], _ b: [ArmObservation], mde: Double?, maximize: Bool = true, min: Int = 100) -> ExperimentResult {
        ExperimentAnalysis.analyse(
            metric: metric, maximize: maximize, arms: [.init(name: "control", version: "1", observations: a), .init(name: "treatment", version: "2", observations: b)],
            minimumDetectableEffect: mde, alpha: 0.05, power: 0.8, minSamples: min)
    }

    @Test func aKnownLiftInConversionIsAWinnerAndTheIntervalHoldsIt() {
        var g = Draws(state: 7)
        let r = Self.analyse("label_mean", Self.conversions(4_000, rate: 0.20, &g), Self.conversions(4_000, rate: 0.26, &g), mde: 0.03)
        #expect(r.verdict == .winner && r.winner == "treatment", "\(r.reason)")
        let c = r.comparisons[0]
        #expect(c.comparison.test == "two-proportion z-test")
        #expect(c.comparison.pValue < 0.001)
        #expect(c.comparison.lower < 0.06 && c.comparison.upper > 0.06, "the true difference lies in the interval")
        // 0.20 → 0.23 at 80 % power: (1.96 + 0.84)² (0.2·0.8 + 0.23·0.77) / 0.03² ≈ 2 940 per arm.
        #expect((c.requiredSamples ?? 0) > 2_800 && (c.requiredSamples ?? 0) < 3_100, "\(String(describing: c.requiredSamples))")
        // Minimizing the same outcome makes the control the winner.
        g = Draws(state: 7)
        let m = Self.analyse("label_mean", Self.conversions(4_000, rate: 0.20, &g), Self.conversions(4_000, rate: 0.26, &g), mde: 0.03, maximize: false)
        #expect(m.verdict == .winner && m.winner == "control")
    }

    @Test func noTrueEffectIsNoDifferenceOnlyOnceThePowerIsThere() {
        var falsePositives = 0
        for seed in 1...40 {
            var g = Draws(state: UInt64(seed))
            let r = Self.analyse("label_mean", Self.conversions(1_400, rate: 0.25, &g), Self.conversions(1_400, rate: 0.25, &g), mde: 0.05)
            if r.verdict == .winner { falsePositives += 1 } else { #expect(r.verdict == .noDifference, "\(r.reason)") }
        }
        // About alpha = 5 % of null experiments show a winner; far more means the test is wrong.
        #expect(falsePositives <= 6)
        // Short of the sample size the effect needs: undecided, whatever p says.
        var g = Draws(state: 3)
        let early = Self.analyse("label_mean", Self.conversions(300, rate: 0.25, &g), Self.conversions(300, rate: 0.25, &g), mde: 0.05)
        #expect(early.verdict == .undecided && early.reason.contains("minimum detectable effect"), "\(early.reason)")
        // Without a minimum effect a null result never claims "no difference".
        g = Draws(state: 3)
        let open = Self.analyse("label_mean", Self.conversions(3_000, rate: 0.25, &g), Self.conversions(3_000, rate: 0.25, &g), mde: nil)
        #expect(open.verdict != .noDifference)
        // Below min_samples nothing is decided.
        let few = Self.analyse("label_mean", Self.conversions(50, rate: 0.1, &g), Self.conversions(50, rate: 0.9, &g), mde: nil)
        #expect(few.verdict == .undecided && few.reason.contains("50 of the 100"))
    }

    @Test func numericOutcomesUseWelchAndLossesAreMinimized() {
        var g = Draws(state: 11)
        let a = (0..<800).map { _ in ArmObservation(outcome: 10 + 4 * (g.next() - 0.5), score: nil, correct: nil, predictedPositive: nil) }
        let b = (0..<800).map { _ in ArmObservation(outcome: 10.5 + 4 * (g.next() - 0.5), score: nil, correct: nil, predictedPositive: nil) }
        let r = Self.analyse("label_mean", a, b, mde: 0.2)
        #expect(r.comparisons.first?.comparison.test == "Welch t-test")
        #expect(r.verdict == .winner && r.winner == "treatment")
        // Regression errors: the treatment's predictions are closer, so its MAE wins when minimized.
        let targets = (0..<600).map { _ in g.next() * 100 }
        let close = targets.map { ArmObservation(outcome: $0, score: $0 + (g.next() - 0.5) * 2, correct: nil, predictedPositive: nil) }
        let far = targets.map { ArmObservation(outcome: $0, score: $0 + (g.next() - 0.5) * 6, correct: nil, predictedPositive: nil) }
        let mae = Self.analyse("mae", far, close, mde: nil, maximize: false)
        #expect(mae.verdict == .winner && mae.winner == "treatment", "\(mae.reason)")
    }

    @Test func rocAUCComparesWithTheHanleyMcNeilError() {
        var g = Draws(state: 5)
        func arm(_ separation: Double) -> [ArmObservation] {
            (0..<1_000).map { i in
                let y: Double = i % 2 == 0 ? 1 : 0
                let s = min(1, max(0, 0.5 + (y - 0.5) * separation + (g.next() - 0.5)))
                return ArmObservation(outcome: y, score: s, correct: (s > 0.5) == (y == 1), predictedPositive: s > 0.5)
            }
        }
        let r = Self.analyse("roc_auc", arm(0.2), arm(0.8), mde: 0.05)
        #expect(r.comparisons.first?.comparison.test == "Hanley–McNeil z-test")
        #expect((r.arms[1].value ?? 0) > (r.arms[0].value ?? 1))
        #expect(r.verdict == .winner && r.winner == "treatment", "\(r.reason)")
        // The standard error of AUC 0.5 with 500 positives and 500 negatives is about 0.0183.
        #expect(abs(ExperimentAnalysis.aucStandardError(0.5, positives: 500, negatives: 500) - 0.018_27) < 2e-4)
        // Accuracy, precision and recall are rates.
        for metric in ["accuracy", "precision", "recall"] {
            #expect(Self.analyse(metric, arm(0.2), arm(0.8), mde: nil).comparisons.first?.comparison.test == "two-proportion z-test")
        }
    }

    @Test func threeArmsAreHeldToACorrectedLevel() {
        var g = Draws(state: 9)
        let r = ExperimentAnalysis.analyse(
            metric: "label_mean", maximize: true,
            arms: [
                .init(name: "a", version: "1", observations: Self.conversions(3_000, rate: 0.2, &g)),
                .init(name: "b", version: "2", observations: Self.conversions(3_000, rate: 0.2, &g)),
                .init(name: "c", version: "3", observations: Self.conversions(3_000, rate: 0.25, &g)),
            ],
            minimumDetectableEffect: 0.04, alpha: 0.05, power: 0.8, minSamples: 100)
        #expect(r.level == 0.025)
        #expect(r.comparisons.count == 2)
        #expect(r.verdict == .winner && r.winner == "c", "\(r.reason)")
        let json = r.json
        #expect(json["arms"]?.arrayValue?.count == 3 && json["comparisons"]?.arrayValue?.first?["vs"] == "a")
    }
}
