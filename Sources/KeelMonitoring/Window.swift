import Foundation
import KeelCore

/// The stretch of recent predictions a drift or quality computation looks at: the last N
/// rows, or everything within a duration (`5000`, `30m`, `24h`, `7d`).
public enum Window: Sendable, Equatable, CustomStringConvertible {
    case rows(Int)
    case duration(TimeInterval)

    /// Most rows any window reads.
    public static let maxRows = 1_000_000

    public static func parse(_ text: String) throws(KeelError) -> Window {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let n = Int(t) {
            guard n >= 1, n <= maxRows else { throw .invalidInput("window \(n) must be between 1 and \(maxRows) rows") }
            return .rows(n)
        }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v.isFinite, v > 0, v * scale <= 366 * 86_400 else { break }
            return .duration(v * scale)
        }
        throw .invalidInput("window '\(text.prefix(40))' must be a row count (e.g. 5000) or a duration (e.g. 30m, 24h, 7d; at most a year)")
    }

    public var description: String {
        switch self {
        case .rows(let n): return "\(n)"
        case .duration(let d):
            if d.truncatingRemainder(dividingBy: 86_400) == 0 { return "\(Int(d / 86_400))d" }
            if d.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(d / 3600))h" }
            if d.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(d / 60))m" }
            return "\(d)s"
        }
    }

    /// The earliest time in the window (duration windows) and the row cap.
    func bounds(now: Date) -> (since: Date?, limit: Int) {
        switch self {
        case .rows(let n): return (nil, min(n, Self.maxRows))
        case .duration(let d): return (now.addingTimeInterval(-d), Self.maxRows)
        }
    }
}
