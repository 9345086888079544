import Foundation
import KeelCore

/// Reads the committed monitoring references (scripts/fixtures/make_monitoring_fixtures.py).
enum MonitoringFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let folder = root.appendingPathComponent("Tests/Fixtures/monitoring")

    static func json(_ name: String) throws -> JSONValue {
        try JSONParser.parse([UInt8](try Data(contentsOf: folder.appendingPathComponent(name))), errorCode: .invalidInput)
    }

    /// A number written by the fixture script: a JSON number, or "NaN"/"Infinity" strings, or null.
    static func number(_ v: JSONValue?) -> Double? {
        switch v {
        case .number(let d)?: return d
        case .string("NaN")?: return .nan
        case .string("Infinity")?: return .infinity
        case .string("-Infinity")?: return -.infinity
        default: return nil
        }
    }

    static func doubles(_ v: JSONValue?) -> [Double] { v?.doublesValue ?? [] }
    static func ints(_ v: JSONValue?) -> [Int] { v?.intsValue ?? [] }

    /// Whether two values agree to `tolerance` (relative above 1, absolute below).
    static func close(_ a: Double, _ b: Double, _ tolerance: Double) -> Bool {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
        if a.isInfinite || b.isInfinite { return a == b }
        return abs(a - b) <= tolerance * max(1, abs(b))
    }

    /// A CSV written by pandas (no quoted commas in these files): header and string rows.
    static func csv(_ url: URL) throws -> (header: [String], rows: [[String]]) {
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return (header, lines.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) })
    }
}
