import KeelCore

/// A CSV file with a header row (RFC 4180), for holdout data.
///
/// Quoted fields may hold commas, newlines and `""` (one quote); a quote inside an unquoted
/// field is literal; a UTF-8 byte-order mark and CR before LF are ignored; blank lines are
/// skipped. Every row must have the header's field count (the error names the line). Parsing
/// is one pass over the UTF-8 bytes, bounded by the limits below.
public struct CSVTable: Sendable {
    public var header: [String]
    public var rows: [[String]]

    /// The bounds a file must stay within; beyond them parsing stops with a 413.
    public struct Limits: Sendable {
        /// Most columns.
        public var maxColumns = 1024
        /// Most data rows.
        public var maxRows = 1_000_000
        /// Most cells (rows × columns): bounds the memory of the parsed table.
        public var maxCells = 10_000_000
        /// Largest single field, in bytes.
        public var maxFieldBytes = 65_536

        public init() {}
    }

    public init(header: [String], rows: [[String]]) {
        self.header = header
        self.rows = rows
    }

    public static func parse(_ text: String, limits: Limits = Limits()) throws(KeelError) -> CSVTable {
        // Native strings are contiguous UTF-8: read them in place, without a copy.
        let read = { (bytes: UnsafeBufferPointer<UInt8>) in CSVReader.read(bytes, limits: limits) }
        let result = text.utf8.withContiguousStorageIfAvailable(read) ?? Array(text.utf8).withUnsafeBufferPointer(read)
        return try result.get()
    }

    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }
}

/// The single pass behind `CSVTable.parse`.
private struct CSVReader {
    let bytes: UnsafeBufferPointer<UInt8>
    let limits: CSVTable.Limits
    var pos = 0
    var line = 1

    static func read(_ bytes: UnsafeBufferPointer<UInt8>, limits: CSVTable.Limits) -> Result<CSVTable, KeelError> {
        var reader = CSVReader(bytes, limits: limits)
        do {
            return .success(try reader.table())
        } catch {
            return .failure(error)
        }
    }

    init(_ bytes: UnsafeBufferPointer<UInt8>, limits: CSVTable.Limits) {
        self.bytes = bytes
        self.limits = limits
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { pos = 3 }
    }

    mutating func table() throws(KeelError) -> CSVTable {
        guard let (header, _) = try nextRecord(expected: nil) else {
            throw .invalidInput("CSV is empty: expected a header row")
        }
        var names = Set<String>()
        for name in header where !names.insert(name).inserted {
            throw .invalidInput("CSV header names column '\(name.prefix(64))' twice")
        }
        var rows: [[String]] = []
        while let (row, startLine) = try nextRecord(expected: header.count) {
            guard row.count == header.count else {
                throw .invalidInput("CSV line \(startLine) has \(row.count) fields, the header has \(header.count)")
            }
            guard rows.count < limits.maxRows else {
                throw KeelError(.payloadTooLarge, "CSV has more than \(limits.maxRows) rows")
            }
            guard (rows.count + 1) * header.count <= limits.maxCells else {
                throw KeelError(.payloadTooLarge, "CSV has more than \(limits.maxCells) cells")
            }
            rows.append(row)
        }
        return CSVTable(header: header, rows: rows)
    }

    /// The next non-blank record and the line it starts on, or nil at the end. With
    /// `expected`, a record longer than that stops early (the caller names the line).
    private mutating func nextRecord(expected: Int?) throws(KeelError) -> ([String], Int)? {
        while pos < bytes.count {
            let startLine = line
            var fields: [String] = []
            var blank = true
            while true {
                let (field, wasQuoted) = try nextField()
                if wasQuoted || !field.isEmpty { blank = false }
                fields.append(field)
                guard fields.count <= (expected ?? limits.maxColumns) else {
                    if let expected {
                        throw .invalidInput("CSV line \(startLine) has more than \(expected) fields, the header has \(expected)")
                    }
                    throw KeelError(.payloadTooLarge, "CSV header has more than \(limits.maxColumns) columns")
                }
                if pos < bytes.count, bytes[pos] == UInt8(ascii: ",") {
                    pos += 1
                    blank = false
                    continue
                }
                // End of line or of input.
                if pos < bytes.count { pos += 1; line += 1 }
                break
            }
            if blank && fields.count == 1 { continue }
            return (fields, startLine)
        }
        return nil
    }

    /// One field, leaving `pos` at the ',' or '\n' after it (or the end).
    private mutating func nextField() throws(KeelError) -> (String, Bool) {
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") {
            return (try quotedField(), true)
        }
        let start = pos
        var end = pos
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: ",") || c == UInt8(ascii: "\n") { break }
            pos += 1
            if c != UInt8(ascii: "\r") { end = pos }
        }
        guard end - start <= limits.maxFieldBytes else {
            throw KeelError(.payloadTooLarge, "CSV line \(line) has a field of more than \(limits.maxFieldBytes) bytes")
        }
        return (String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self), false)
    }

    private mutating func quotedField() throws(KeelError) -> String {
        let startLine = line
        pos += 1
        var out: [UInt8] = []
        while pos < bytes.count {
            let c = bytes[pos]
            pos += 1
            if c == UInt8(ascii: "\"") {
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") {
                    out.append(c)
                    pos += 1
                    continue
                }
                // Closing quote: only a separator, a line end (CR allowed) or the end may follow.
                while pos < bytes.count, bytes[pos] == UInt8(ascii: "\r") { pos += 1 }
                if pos < bytes.count, bytes[pos] != UInt8(ascii: ","), bytes[pos] != UInt8(ascii: "\n") {
                    throw .invalidInput("CSV line \(line): text after the closing quote of a field")
                }
                return String(decoding: out, as: UTF8.self)
            }
            if c == UInt8(ascii: "\n") { line += 1 }
            out.append(c)
            guard out.count <= limits.maxFieldBytes else {
                throw KeelError(.payloadTooLarge, "CSV line \(startLine) has a field of more than \(limits.maxFieldBytes) bytes")
            }
        }
        throw .invalidInput("CSV line \(startLine): quoted field is not closed")
    }
}
