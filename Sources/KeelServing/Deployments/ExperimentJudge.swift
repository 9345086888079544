import Foundation
import KeelCore
import KeelMonitoring
import KeelRegistry
import KeelStore

/// Reads an experiment's labelled predictions — those each arm served as `experiment` since
/// the experiment started, from every replica through the shared log — and judges them.
public struct ExperimentJudge: Sendable {
    public let monitoring: MonitoringService
    /// Most labelled predictions read per arm.
    public var maxRowsPerArm = 500_000

    public init(monitoring: MonitoringService) {
        self.monitoring = monitoring
    }

    public func analyse(_ r: Rollout) async throws(KeelError) -> ExperimentResult {
        guard let arms = r.arms, let design = r.design else { throw KeelError(.conflict, "rollout \(r.id) is not an experiment") }
        var inputs: [ExperimentAnalysis.Arm] = []
        for arm in arms {
            let version = String(arm.version)
            let profile = try await monitoring.version(r.model, version).profile
            var observations: [ArmObservation] = []
            var before: Int64?
            var read = 0
            while read < maxRowsPerArm {
                let pageSize = min(50_000, maxRowsPerArm - read)
                let page = try await monitoring.store.read { db throws(KeelError) in
                    try await db.labelledPredictions(model: r.model, version: version, since: r.stepStartedAt, beforeID: before, limit: pageSize, withOutputs: false)
                }
                read += page.count
                for row in page where row.arm == DeploymentArm.experiment.rawValue {
                    if let o = ArmObservation.of(row, profile: profile) { observations.append(o) }
                }
                guard let last = page.last, page.count == pageSize else { break }
                before = last.predictionID
            }
            inputs.append(ExperimentAnalysis.Arm(name: arm.name, version: version, observations: observations))
        }
        return ExperimentAnalysis.analyse(
            metric: design.metric, maximize: design.goal == .maximize, arms: inputs, minimumDetectableEffect: design.minimumDetectableEffect,
            alpha: design.alpha, power: design.power, minSamples: design.minSamples)
    }
}
