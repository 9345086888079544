import KeelCore

/// One data row as read from a chunk.
public struct InputRow: Sendable, Equatable {
    /// 1-based physical line number where the row starts (the CSV header is line 1).
    public var line: Int64
    public var values: Values

    public enum Values: Sendable, Equatable {
        /// Fields in header order; count == header count.
        case csv([String])
        /// One JSON object.
        case json([String: JSONValue])
        /// Why the row cannot be used, e.g. "expected 17 fields, found 16", "not a JSON object".
        case invalid(String)
    }

    public init(line: Int64, values: Values) {
        self.line = line
        self.values = values
    }
}

/// A slice of the input, scored and committed as one unit.
public struct ChunkRange: Sendable, Equatable, Codable {
    public var index: Int
    /// 0-based index of its first data row in the file.
    public var firstRow: Int64
    /// Data rows in it (blank lines are not rows).
    public var rows: Int64
    /// Physical line number of its first row.
    public var firstLine: Int64
    /// Plain files: [byteStart, byteEnd) of the file, starting at a row. Nil for gzip files,
    /// whose chunk is rows [firstRow, firstRow + rows).
    public var byteStart: Int64?
    public var byteEnd: Int64?

    public init(index: Int, firstRow: Int64, rows: Int64, firstLine: Int64, byteStart: Int64?, byteEnd: Int64?) {
        self.index = index
        self.firstRow = firstRow
        self.rows = rows
        self.firstLine = firstLine
        self.byteStart = byteStart
        self.byteEnd = byteEnd
    }
}

/// How a batch input splits into chunks: the header, the row count and the chunks in order.
public struct ChunkPlan: Sendable, Equatable, Codable {
    /// CSV: the header's column names (unique, non-empty). Nil for JSON Lines.
    public var header: [String]?
    public var totalRows: Int64
    public var chunks: [ChunkRange]

    public init(header: [String]?, totalRows: Int64, chunks: [ChunkRange]) {
        self.header = header
        self.totalRows = totalRows
        self.chunks = chunks
    }
}
