/// Rows of text cells (a CSV file's columns) straight into the vector layout, without a
/// record per row: the batch path, where records are millions. The semantics are the
/// records path's (a CSV cell is a number for number and integer fields, empty meaning
/// missing; text otherwise, empty meaning absent so the default applies), and each row's
/// problems are reported on its own so one bad row does not refuse the batch.
extension FeatureSchema {
    /// What encoding one field from a row of cells needs, flattened for the row loop: plain
    /// values only (no references to count), the texts in `TextColumns`.
    struct TextField: Sendable {
        enum Kind: UInt8, Sendable { case number, indicator, oneHot, none }
        var kind: Kind
        /// The field's cell, or -1 when the file has no such column.
        var column: Int
        /// Its first column in the vector layout.
        var offset: Int
        /// Whether values outside the categories are refused.
        var closed: Bool
        /// An absent value: what the default encodes to (a number, or a category's position;
        /// -1 for a category that is no column), unless `absentFails` (no default, or a bad one).
        var absentValue: Float
        var absentCategory: Int
        var absentFails: Bool
        /// The field's categories in `TextColumns.ranges`, and its positive value's range (-1: none).
        var firstCategory: Int
        var categoryCount: Int
        var positive: Int
    }

    /// Where each field's value lies in a row of cells, with the lookups the encoding needs.
    public struct TextColumns: Sendable {
        let fields: [TextField]
        /// Field names, for messages.
        let names: [String]
        let categories: [[String]]
        let positives: [String?]
        let absentProblems: [String?]
        /// Every category's and positive value's UTF-8, and their ranges in it.
        let bytes: [UInt8]
        let ranges: [Range<Int>]
    }

    /// Whether rows of cells can take the text path (the vector layout).
    public var takesText: Bool { layout == .vector }

    public func textColumns(header: [String]) -> TextColumns {
        var position: [String: Int] = [:]
        for (i, name) in header.enumerated() where position[name] == nil { position[name] = i }
        var out: [TextField] = []
        var problems: [String?] = []
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        func add(_ text: String) -> Int {
            let start = bytes.count
            bytes.append(contentsOf: text.utf8)
            ranges.append(start..<bytes.count)
            return ranges.count - 1
        }
        var offset = 0
        for f in fields {
            let categories = f.categories ?? []
            let first = ranges.count
            for c in categories { _ = add(c) }
            var t = TextField(
                kind: .none, column: position[f.name] ?? -1, offset: offset, closed: f.categories != nil && !f.allowUnknown, absentValue: 0,
                absentCategory: -1, absentFails: false, firstCategory: first, categoryCount: categories.count, positive: f.positive.map(add) ?? -1)
            offset += f.width
            var found = RecordProblems()
            switch f.kind {
            case .number, .integer:
                t.kind = .number
                if let d = f.defaultValue {
                    if let v = number(f, d, 0, &found) { t.absentValue = Float(v) }
                } else {
                    found.add("missing field '\(f.name)'")
                }
            case .indicator, .oneHot:
                t.kind = f.kind == .indicator ? .indicator : .oneHot
                if let d = f.defaultValue {
                    if f.kind == .indicator, case .bool(let b) = d, f.categories == nil {
                        t.absentValue = b ? 1 : 0
                    } else if let text = category(f, d, 0, &found) {
                        if f.kind == .indicator {
                            t.absentValue = text == f.positive ? 1 : 0
                        } else {
                            t.absentCategory = categories.firstIndex(of: text) ?? -1
                        }
                    }
                } else {
                    found.add("missing field '\(f.name)'")
                }
            case .string:
                t.kind = .none  // refused by init for this layout
            }
            t.absentFails = !found.isEmpty
            problems.append(found.isEmpty ? nil : Self.strip(found.messages.joined(separator: "; ")))
            out.append(t)
        }
        return TextColumns(
            fields: out, names: fields.map(\.name), categories: fields.map { $0.categories ?? [] }, positives: fields.map(\.positive),
            absentProblems: problems, bytes: bytes, ranges: ranges)
    }

    static func strip(_ message: String) -> String {
        message.hasPrefix("instance 0: ") ? String(message.dropFirst(12)) : message
    }

    /// Encodes `rows` (cells in header order); rows with problems are left out of the tensor.
    /// Returns the vector input of the kept rows, their positions, and each refused row's
    /// position with its problems ("missing field 'age'; field 'gender' has unknown …").
    public func encode(text rows: [[String]], columns plan: TextColumns) throws(KeelError) -> (inputs: [String: Tensor], kept: [Int], refused: [(Int, String)]) {
        guard layout == .vector else { throw KeelError(.internal, "the text path needs the vector layout") }
        let width = self.width
        var out = [Float](repeating: 0, count: try elementCount(rows: rows.count, columns: width))
        var kept: [Int] = []
        kept.reserveCapacity(rows.count)
        var refused: [(Int, String)] = []
        var row = 0  // rows written to `out`
        out.withUnsafeMutableBufferPointer { out in
            for (i, cells) in rows.enumerated() {
                var problems: [String] = []
                let base = row * width
                for k in 0..<plan.fields.count {
                    let column = plan.fields[k].column
                    let cell: String? = column >= 0 && column < cells.count ? cells[column] : nil
                    if let p = encodeField(k, cell, plan, out.baseAddress! + base) { problems.append(p) }
                }
                if problems.isEmpty {
                    kept.append(i)
                    row += 1
                } else {
                    for c in base..<(base + width) { out[c] = 0 }
                    refused.append((i, problems.joined(separator: "; ")))
                }
            }
        }
        out.removeLast(out.count - row * width)
        return ([inputName: try Tensor(shape: [row, width], data: .fp32(out))], kept, refused)
    }

    /// One field of one row from its cell's text (nil: no such column) into the row's
    /// columns at `out`; the problem, if any.
    func encodeField(_ k: Int, _ cell: String?, _ plan: TextColumns, _ out: UnsafeMutablePointer<Float>) -> String? {
        let f = plan.fields[k]
        let at = f.offset
        switch f.kind {
        case .number:
            guard let cell else {
                if f.absentFails { return plan.absentProblems[k] }
                out[at] = f.absentValue
                return nil
            }
            if cell.isEmpty {
                out[at] = .nan
            } else if let d = Double(cell) {
                out[at] = Float(d)
            } else {
                return "field '\(plan.names[k])' must be a number, got \(Self.describe(.string(cell)))"
            }
        case .indicator, .oneHot:
            guard let cell, !cell.isEmpty else {
                if f.absentFails { return plan.absentProblems[k] }
                if f.kind == .indicator {
                    out[at] = f.absentValue
                } else if f.absentCategory >= 0 {
                    out[at + f.absentCategory] = 1
                }
                return nil
            }
            let index = plan.categories[k].firstIndex(of: cell) ?? -1
            if index < 0, f.closed {
                var one = RecordProblems()
                _ = category(fields[k], .string(cell), 0, &one)  // the unknown-category message
                return Self.strip(one.messages.first ?? "field '\(plan.names[k])' has an unknown category")
            } else if f.kind == .indicator {
                out[at] = cell == plan.positives[k] ? 1 : 0
            } else if index >= 0 {
                out[at + index] = 1
            }
        case .none:
            break
        }
        return nil
    }
}

/// One cell of a record held as bytes: `[start, end)`, `escaped` when it holds doubled quotes.
public struct TextCell: Sendable, Equatable {
    public var start: Int
    public var end: Int
    public var escaped: Bool

    public init(start: Int, end: Int, escaped: Bool) {
        self.start = start
        self.end = end
        self.escaped = escaped
    }
}

extension FeatureSchema {
    /// One row given as a record's bytes and its cells (in header order) into `out`, the
    /// row's `width` columns (zeroed by the caller): the text path's semantics without making
    /// a String per cell. Numbers in plain decimal form are parsed here (exactly, by the
    /// fast path of Clinger's algorithm), anything else as `Double(String)` does; category
    /// cells are compared byte for byte, falling back to String comparison for non-ASCII
    /// text and doubled quotes. Returns the row's problems joined, or nil.
    public func encode(row bytes: UnsafeBufferPointer<UInt8>, cells: UnsafeBufferPointer<TextCell>, columns plan: TextColumns, into out: UnsafeMutablePointer<Float>) -> String? {
        var problems: String?
        plan.fields.withUnsafeBufferPointer { fields in
            plan.bytes.withUnsafeBufferPointer { texts in
                plan.ranges.withUnsafeBufferPointer { ranges in
                    for k in 0..<fields.count {
                        let column = fields[k].column
                        var problem: String?
                        if column < 0 || column >= cells.count {
                            problem = encodeField(k, nil, plan, out)
                        } else {
                            let c = cells[column]
                            let cell = UnsafeBufferPointer(rebasing: bytes[max(0, c.start)..<min(bytes.count, max(c.start, c.end))])
                            if c.escaped || !Self.encodeFast(fields[k], cell, texts, ranges, out) {
                                problem = encodeField(k, Self.text(cell, escaped: c.escaped), plan, out)
                            }
                        }
                        if let problem { problems = problems.map { $0 + "; " + problem } ?? problem }
                    }
                }
            }
        }
        return problems
    }

    /// The common cases on bytes; false when the String path must decide.
    private static func encodeFast(
        _ f: TextField, _ cell: UnsafeBufferPointer<UInt8>, _ texts: UnsafeBufferPointer<UInt8>, _ ranges: UnsafeBufferPointer<Range<Int>>,
        _ out: UnsafeMutablePointer<Float>
    ) -> Bool {
        func equal(_ r: Range<Int>) -> Bool {
            guard r.count == cell.count else { return false }
            var i = r.lowerBound
            for b in cell {
                if texts[i] != b { return false }
                i += 1
            }
            return true
        }
        switch f.kind {
        case .number:
            if cell.isEmpty {
                out[f.offset] = .nan
                return true
            }
            guard let d = decimal(cell) else { return false }
            out[f.offset] = Float(d)
            return true
        case .indicator, .oneHot:
            guard !cell.isEmpty else { return false }
            var index = -1
            for i in 0..<f.categoryCount where equal(ranges[f.firstCategory + i]) {
                index = i
                break
            }
            if index < 0 {
                // Unknown, or equal only under Unicode equivalence: the String path decides.
                if f.closed || cell.contains(where: { $0 >= 0x80 }) { return false }
            }
            if f.kind == .indicator {
                guard f.positive >= 0 else { return false }
                let same = equal(ranges[f.positive])
                if !same && cell.contains(where: { $0 >= 0x80 }) { return false }
                out[f.offset] = same ? 1 : 0
            } else if index >= 0 {
                out[f.offset + index] = 1
            }
            return true
        case .none:
            return true
        }
    }

    /// A quoted cell's text with its doubled quotes undoubled.
    public static func unescaped(_ cell: UnsafeBufferPointer<UInt8>) -> String { text(cell, escaped: true) }

    static func text(_ cell: UnsafeBufferPointer<UInt8>, escaped: Bool) -> String {
        guard escaped else { return String(decoding: cell, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(cell.count)
        var i = 0
        while i < cell.count {
            out.append(cell[i])
            i += cell[i] == UInt8(ascii: "\"") ? 2 : 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `[-+]?digits[.digits][(e|E)[-+]?digits]` with at most 19 significant digits whose value
    /// and power of ten are exact in a Double (Clinger's fast path): the correctly rounded
    /// Double, as strtod gives. Anything else: nil.
    static func decimal(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        var i = 0
        let n = b.count
        var negative = false
        if i < n, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var scale = 0
        var sawDigit = false
        while i < n, b[i] &- 48 < 10 {
            if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(b[i] &- 48); if mantissa > 0 { digits += 1 } } else { return nil }
            sawDigit = true
            i += 1
        }
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, b[i] &- 48 < 10 {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(b[i] &- 48); if mantissa > 0 { digits += 1 } } else { return nil }
                scale -= 1
                sawDigit = true
                i += 1
            }
        }
        guard sawDigit else { return nil }
        if i < n, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < n, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") {
                expNegative = b[i] == UInt8(ascii: "-")
                i += 1
            }
            var e = 0
            var sawExp = false
            while i < n, b[i] &- 48 < 10 {
                guard e < 10_000 else { return nil }
                e = e * 10 + Int(b[i] &- 48)
                sawExp = true
                i += 1
            }
            guard sawExp else { return nil }
            scale += expNegative ? -e : e
        }
        guard i == n, mantissa <= 1 << 53, scale >= -22, scale <= 22 else { return nil }
        var d = Double(mantissa)
        if scale >= 0 { d *= powersOfTen[scale] } else { d /= powersOfTen[-scale] }
        return negative ? -d : d
    }

    /// `decimal` for tests.
    public static func decimalForTesting(_ b: UnsafeBufferPointer<UInt8>) -> Double? { decimal(b) }

    private static let powersOfTen: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }
}

