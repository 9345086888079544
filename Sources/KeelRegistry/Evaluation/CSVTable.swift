import KeelCore

/// A CSV file with a header row (RFC 4180 quoting), for holdout data.
public struct CSVTable: Sendable {
    public var header: [String]
    public var rows: [[String]]

    public static func parse(_ text: String) throws(KeelError) -> CSVTable {
        var records: [[String]] = []
        var field = ""
        var record: [String] = []
        var quoted = false
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if quoted {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = n }
                    } else { quoted = false }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"": quoted = true
            case ",": record.append(field); field = ""
            case "\r": break
            case "\n":
                record.append(field)
                field = ""
                if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
                record = []
            default: field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        guard let header = records.first else { throw KeelError.invalidInput("CSV is empty: expected a header row") }
        let rows = Array(records.dropFirst())
        for (i, row) in rows.enumerated() where row.count != header.count {
            throw KeelError.invalidInput("CSV row \(i + 2) has \(row.count) fields, the header has \(header.count)")
        }
        return CSVTable(header: header, rows: rows)
    }

    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }
}
