import Foundation
import KeelCore
import Testing

/// The text path (rows of CSV cells → vector layout) agrees with the records path on every
/// row: the same values for rows both accept, the same rows refused.
@Suite struct FeatureSchemaTextTests {
    static let schema = try! FeatureSchema(fields: [
        .init(name: "age", kind: .number),
        .init(name: "n", kind: .integer, defaultValue: .number(7)),
        .init(name: "plan", kind: .oneHot, categories: ["a", "b", "c"]),
        .init(name: "open", kind: .oneHot, categories: ["x", "y"], allowUnknown: true),
        .init(name: "vip", kind: .indicator, categories: ["Yes", "No"], positive: "Yes", defaultValue: .string("No")),
        .init(name: "flag", kind: .indicator, positive: "on"),
        .init(name: "gone", kind: .number, defaultValue: .number(2.5)),
    ])

    /// A CSV cell as the records path reads it (ModelEvaluator.records' typing).
    static func record(_ header: [String], _ cells: [String]) -> [String: JSONValue] {
        var r: [String: JSONValue] = [:]
        let numeric: Set = ["age", "n", "gone"]
        let fields = Set(schema.fields.map(\.name))
        for (name, cell) in zip(header, cells) where fields.contains(name) {
            if numeric.contains(name) {
                r[name] = cell.isEmpty ? .null : Double(cell).map { .number($0) } ?? .string(cell)
            } else if !cell.isEmpty {
                r[name] = .string(cell)
            }
        }
        return r
    }

    @Test func textAndRecordsAgreeRowByRowOnRandomCells() throws {
        // "gone" is not a column: its default applies; "extra" is not a field.
        let header = ["extra", "flag", "age", "plan", "open", "vip", "n"]
        let pools: [[String]] = [
            ["", "zz"], ["on", "off", ""], ["1", "2.5", "", "-0", "1e3", "abc", "nan", "Infinity"], ["a", "b", "c", "d", ""],
            ["x", "y", "q", ""], ["Yes", "No", "Maybe", ""], ["3", "", "x1", "4.0"],
        ]
        var rng = SystemRandomNumberGenerator()
        let rows = (0..<3000).map { _ in pools.map { $0.randomElement(using: &rng)! } }
        let plan = Self.schema.textColumns(header: header)
        let (inputs, kept, refused) = try Self.schema.encode(text: rows, columns: plan)
        let t = try #require(inputs["input"])
        let width = Self.schema.width
        #expect(t.shape == [kept.count, width])
        let values = try #require(t.floats)
        var k = 0
        var r = 0
        for (i, cells) in rows.enumerated() {
            let record = Self.record(header, cells)
            do throws(KeelError) {
                guard let one = try Self.schema.encode([record])["input"]?.floats else {
                    Issue.record("no input")
                    continue
                }
                #expect(k < kept.count && kept[k] == i, "row \(i) \(cells) is accepted by the records path")
                guard k < kept.count, kept[k] == i else { continue }
                let mine = Array(values[(k * width)..<((k + 1) * width)])
                #expect(zip(mine, one).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "row \(i) \(cells): \(mine) vs \(one)")
                k += 1
            } catch {
                #expect(r < refused.count && refused[r].0 == i, "row \(i) \(cells) is refused by the records path: \(error.message)")
                guard r < refused.count, refused[r].0 == i else { continue }
                #expect("instance 0: " + refused[r].1.replacingOccurrences(of: "; ", with: "; instance 0: ") == error.message)
                r += 1
            }
        }
        #expect(k == kept.count && r == refused.count)
        #expect(!kept.isEmpty && !refused.isEmpty)
    }

    /// The byte path (cells as ranges of a record's bytes, some quoted, some with doubled
    /// quotes, some non-ASCII) encodes every row exactly as the String path does.
    @Test func bytesAndTextAgreeRowByRow() throws {
        let header = ["flag", "age", "plan", "open", "vip", "n"]
        let pools: [[String]] = [
            ["on", "off", "", "o\"n"], ["1", "2.5", "", "-0", "1e3", "abc", "nan", "0.1", "123456789012345678901", "1e-30", ".5", "+7", "1.", "-"],
            ["a", "b", "c", "d", "", "é"], ["x", "y", "q", "", "ÿ"], ["Yes", "No", "Maybe", "", "Ye\"s"], ["3", "", "x1", "4.0", "9007199254740993"],
        ]
        let plan = Self.schema.textColumns(header: header)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let cells = pools.map { $0.randomElement(using: &rng)! }
            var bytes: [UInt8] = []
            var ranges: [TextCell] = []
            for (i, cell) in cells.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                let quoted = cell.contains("\"") || Bool.random(using: &rng)
                if quoted {
                    bytes.append(UInt8(ascii: "\""))
                    let start = bytes.count
                    for b in cell.utf8 {
                        bytes.append(b)
                        if b == UInt8(ascii: "\"") { bytes.append(b) }
                    }
                    ranges.append(TextCell(start: start, end: bytes.count, escaped: cell.contains("\"")))
                    bytes.append(UInt8(ascii: "\""))
                } else {
                    let start = bytes.count
                    bytes.append(contentsOf: cell.utf8)
                    ranges.append(TextCell(start: start, end: bytes.count, escaped: false))
                }
            }
            let width = Self.schema.width
            var viaBytes = [Float](repeating: 0, count: width)
            let problem = bytes.withUnsafeBufferPointer { b in
                ranges.withUnsafeBufferPointer { r in
                    viaBytes.withUnsafeMutableBufferPointer { Self.schema.encode(row: b, cells: r, columns: plan, into: $0.baseAddress!) }
                }
            }
            let (inputs, kept, refused) = try Self.schema.encode(text: [cells], columns: plan)
            if kept.isEmpty {
                #expect(problem == refused.first?.1, "\(cells)")
            } else {
                #expect(problem == nil, "\(cells): \(problem ?? "")")
                let viaText = try #require(inputs["input"]?.floats)
                #expect(zip(viaBytes, viaText).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }, "\(cells): \(viaBytes) vs \(viaText)")
            }
        }
    }

    @Test func plainDecimalsParseAsStrtodDoes() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let digits = Int.random(in: 1...17, using: &rng)
            var text = (0..<digits).map { _ in String(Int.random(in: 0...9, using: &rng)) }.joined()
            if Bool.random(using: &rng) { text.insert(".", at: text.index(text.startIndex, offsetBy: Int.random(in: 0...digits, using: &rng))) }
            if Bool.random(using: &rng) { text = "-" + text }
            if Int.random(in: 0..<4, using: &rng) == 0 { text += "e\(Int.random(in: -25...25, using: &rng))" }
            let a = Array(text.utf8).withUnsafeBufferPointer { FeatureSchema.decimalForTesting($0) }
            if let a { #expect(a.bitPattern == Double(text)?.bitPattern, "\(text)") }
        }
    }

    @Test func aMissingColumnWithoutDefaultRefusesEveryRowWithTheReason() throws {
        let plan = Self.schema.textColumns(header: ["age", "plan"])
        let (_, kept, refused) = try Self.schema.encode(text: [["1", "a"]], columns: plan)
        #expect(kept.isEmpty)
        #expect(refused.first?.1 == "missing field 'open'; missing field 'flag'")
    }
}
