import ArgumentParser
import Foundation
import KeelServing

/// `keel bench-router`: the cost of one routing decision, measured where a 2-core machine's
/// HTTP noise cannot hide it. Prints one JSON line per case.
struct RouterBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-router", abstract: "Measure the deployment router's cost per decision (JSON lines, ns per request).")

    @Option(help: "Decisions per case.") var iterations = 5_000_000

    func run() async throws {
        let n = max(1, iterations)
        let router = DeploymentRouter()
        let keys = (0..<4_096).map { "C-\(100_000 + $0)" }
        func measure(_ name: String, _ body: (Int) -> Int) {
            _ = body(min(n, 10_000))  // warm-up
            let start = ContinuousClock.now
            let hits = body(n)
            let (s, atto) = (ContinuousClock.now - start).components
            let ns = (Double(s) * 1e9 + Double(atto) / 1e9) / Double(n)
            print("{\"case\":\"\(name)\",\"iterations\":\(n),\"ns_per_decision\":\(String(format: "%.1f", ns)),\"canary_share\":\(String(format: "%.4f", Double(hits) / Double(n)))}")
        }
        measure("no_rollout") { count in
            var hits = 0
            for i in 0..<count where router.split(for: "churn") != nil { hits &+= i & 1 }
            return hits
        }
        router.install(["churn": TrafficSplit(rolloutID: 42, candidate: "2", stable: "1", weight: 10, sticky: true)])
        measure("canary_sticky_by_entity") { count in
            var hits = 0
            for i in 0..<count {
                if let split = router.split(for: "churn"), router.arm(split, key: keys[i & 4_095]) == .canary { hits &+= 1 }
            }
            return hits
        }
        router.install(["churn": TrafficSplit(rolloutID: 42, candidate: "2", stable: "1", weight: 10, sticky: false)])
        measure("canary_random") { count in
            var hits = 0
            for i in 0..<count {
                if let split = router.split(for: "churn"), router.arm(split, key: keys[i & 4_095]) == .canary { hits &+= 1 }
            }
            return hits
        }
        // An experiment of three arms; the share printed is the last arm's.
        router.install(["churn": TrafficSplit(
            rolloutID: 43, candidate: "2", stable: "1", weight: 0, sticky: true,
            arms: [SplitArm(name: "a", version: "1", weight: 50), SplitArm(name: "b", version: "2", weight: 30), SplitArm(name: "c", version: "3", weight: 20)])])
        measure("experiment_3_arms_sticky") { count in
            var hits = 0
            for i in 0..<count {
                if let split = router.split(for: "churn"), router.armIndex(split, key: keys[i & 4_095]) == 2 { hits &+= 1 }
            }
            return hits
        }
    }
}
