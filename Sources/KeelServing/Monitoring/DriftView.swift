import Foundation
import KeelCore
import KeelMonitoring

/// A drift report as the API (and the stored background result) shows it.
public enum DriftView {
    public static func json(_ report: DriftReport, model: String, version: String, window: Window, at: Date) -> JSONValue {
        guard case .object(var o) = report.json else { return report.json }
        o["model"] = .string(model)
        o["version"] = .string(version)
        o["window"] = .string(window.description)
        o["computed_at"] = .string(ISO8601DateFormatter().string(from: at))
        return .object(o)
    }
}
