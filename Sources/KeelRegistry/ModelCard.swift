import Foundation
import KeelStore

/// Renders a version's metadata as a markdown model card: measured and reported metrics in
/// separate tables, and each gate's result with the source of the value it used.
public enum ModelCard {
    public static func markdown(model: RegisteredModelRecord, version v: ModelVersionRecord, aliases: [AliasRecord], gates: [GateResult]) -> String {
        let date = ISO8601DateFormatter()
        var md = "# \(model.name) — version \(v.version)\n\n"
        if !model.description.isEmpty { md += "\(model.description)\n\n" }
        if !v.description.isEmpty { md += "\(v.description)\n\n" }
        md += "| | |\n|---|---|\n"
        md += "| status | \(v.status.rawValue) |\n"
        let pointing = aliases.filter { $0.version == v.version }.map(\.alias)
        md += "| aliases | \(pointing.isEmpty ? "—" : pointing.joined(separator: ", ")) |\n"
        md += "| format | \(v.format) |\n"
        md += "| artifact | `sha256:\(v.artifactSHA256)` (\(v.sizeBytes) bytes\(v.filename.isEmpty ? "" : ", \(v.filename)")) |\n"
        md += "| owner | \(model.owner.isEmpty ? "—" : model.owner) |\n"
        md += "| registered | \(date.string(from: v.createdAt)) by \(v.createdBy) |\n"
        md += "| training data | \(v.trainingData ?? "—") |\n"
        let tags = model.tags.merging(v.tags) { _, new in new }
        if !tags.isEmpty { md += "| tags | \(tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")) |\n" }
        md += "\n## Signature\n\n```json\n\(v.signature)\n```\n"
        md += "\n## Metrics (measured by Keel)\n\n"
        md += table(v.metrics, empty: "No metrics measured yet.")
        if !v.reportedMetrics.isEmpty {
            md += "\n## Reported metrics (supplied at registration, not measured by Keel)\n\n"
            md += table(v.reportedMetrics, empty: "")
        }
        if !v.params.isEmpty {
            md += "\n## Parameters\n\n| parameter | value |\n|---|---|\n"
            for (k, value) in v.params.sorted(by: { $0.key < $1.key }) { md += "| \(k) | \(value) |\n" }
        }
        md += "\n## Promotion gates\n\n"
        if gates.isEmpty {
            md += "No gates set.\n"
        } else {
            for g in gates { md += "- \(g.passed ? "✅" : "❌") \(g.reason)\n" }
        }
        if let config = v.configYAML {
            md += "\n## Serving configuration (feature schema, labels, risk bands)\n\n```yaml\n\(config.trimmingCharacters(in: .whitespacesAndNewlines))\n```\n"
        }
        return md
    }

    static func table(_ metrics: [String: Double], empty: String) -> String {
        guard !metrics.isEmpty else { return empty + "\n" }
        var md = "| metric | value |\n|---|---|\n"
        for (k, value) in metrics.sorted(by: { $0.key < $1.key }) { md += "| \(k) | \(String(format: "%.4f", value)) |\n" }
        return md
    }
}
