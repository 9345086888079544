import Foundation
import KeelCore
import KeelStore

/// Measured metrics of several versions side by side, with the best version per metric.
public struct VersionComparison: Sendable, Equatable {
    public var versions: [Int]
    public var metrics: [String]
    /// values[metric][version]
    public var values: [String: [Int: Double]]
    public var best: [String: Int]
}

extension Registry {
    /// Most versions one comparison names.
    public static let maximumCompared = 1_000

    /// Compares the measured metrics of the given versions (all when none), read in one snapshot.
    public func compare(_ model: String, versions numbers: [Int]) async throws(KeelError) -> VersionComparison {
        guard numbers.count <= Self.maximumCompared else {
            throw KeelError.invalidInput("compare takes at most \(Self.maximumCompared) versions, got \(numbers.count)")
        }
        let records = try await store.read { db throws(KeelError) in
            guard try await db.model(named: model) != nil else { throw KeelError.notFound("unknown model '\(model)'") }
            if numbers.isEmpty { return try await db.versions(model: model) }
            var out: [ModelVersionRecord] = []
            for n in numbers { out.append(try await Self.version(in: db, model, n)) }
            return out
        }
        let names = Set(records.flatMap { $0.metrics.keys }).sorted()
        var values: [String: [Int: Double]] = [:]
        var best: [String: Int] = [:]
        for name in names {
            var row: [Int: Double] = [:]
            for r in records { if let v = r.metrics[name] { row[r.version] = v } }
            values[name] = row
            // Bookkeeping, not quality: no "best" row count.
            if name == "holdout_rows" { continue }
            let lowerIsBetter = Self.lowerIsBetter(name)
            if let winner = row.min(by: { a, b in
                if a.value == b.value { return a.key < b.key }
                return lowerIsBetter ? a.value < b.value : a.value > b.value
            }) { best[name] = winner.key }
        }
        return VersionComparison(versions: records.map(\.version), metrics: names, values: values, best: best)
    }

    /// Losses, errors, latencies and sizes are better small; scores are better large.
    public static func lowerIsBetter(_ metric: String) -> Bool {
        ["loss", "mae", "rmse", "mse", "latency", "size", "error"].contains { metric.contains($0) }
    }
}
