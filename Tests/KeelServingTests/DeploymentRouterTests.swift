import KeelServing
import Testing

@Suite struct DeploymentRouterTests {
    static func split(_ weight: Double, sticky: Bool = true, id: Int64 = 7) -> TrafficSplit {
        TrafficSplit(rolloutID: id, candidate: "2", stable: "1", weight: weight, sticky: sticky)
    }

    @Test func stickyAssignmentIsThePureFunctionOfEntityAndRollout() {
        let a = DeploymentRouter()
        let b = DeploymentRouter()  // another replica: its own random seed
        let s = Self.split(30)
        for i in 0..<2_000 {
            let key = "C-\(i)"
            #expect(a.arm(s, key: key) == b.arm(s, key: key))
            #expect(a.arm(s, key: key) == a.arm(s, key: key))
        }
        // Another rollout reshuffles who is in the candidate's share.
        let other = Self.split(30, id: 8)
        let moved = (0..<2_000).filter { a.arm(s, key: "C-\($0)") != a.arm(other, key: "C-\($0)") }.count
        #expect(moved > 400)
    }

    @Test(arguments: [1.0, 5, 25, 50, 90]) func theCandidateGetsItsShare(_ weight: Double) {
        let r = DeploymentRouter()
        let n = 40_000
        for sticky in [true, false] {
            let s = Self.split(weight, sticky: sticky)
            let canary = (0..<n).filter { r.arm(s, key: "customer-\($0)") == .canary }.count
            let share = Double(canary) / Double(n) * 100
            // Binomial standard deviation at n = 40 000 is under 0.25 points; 1 point is four of them.
            #expect(abs(share - weight) < 1, "sticky \(sticky): \(share) % for weight \(weight) %")
        }
    }

    @Test func noShareAndTheWholeShareAreExact() {
        let r = DeploymentRouter()
        #expect((0..<1_000).allSatisfy { r.arm(Self.split(0), key: "k\($0)") == .stable })
        #expect((0..<1_000).allSatisfy { r.arm(Self.split(100), key: "k\($0)") == .canary })
        #expect((0..<1_000).allSatisfy { _ in r.arm(Self.split(100, sticky: false), key: "") == .canary })
    }

    @Test func installedSplitsReplaceEachOther() {
        let r = DeploymentRouter()
        #expect(r.split(for: "churn") == nil)
        r.install(["churn": Self.split(10)])
        #expect(r.split(for: "churn")?.weight == 10)
        #expect(r.split(for: "fraud") == nil)
        r.install([:])
        #expect(r.split(for: "churn") == nil)
    }
}
