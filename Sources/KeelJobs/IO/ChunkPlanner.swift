import KeelCore

/// Plans a batch input in one streaming pass: reads the CSV header, counts the rows and
/// cuts a chunk every `chunkRows` rows.
public enum ChunkPlanner {
    public static let maxChunkRows = 10_000_000

    /// One pass over the file (gzip decompressed on the fly). Blank lines are not rows. A row
    /// longer than `limits.maxRowBytes`, a quote open at the end of the file, a bad CSV header
    /// (too many, empty or duplicate names), a truncated or corrupt gzip stream, or a file with
    /// no header or row at all: a 400 naming the line. A header with no rows is a plan with
    /// no chunks.
    public static func plan(_ file: BatchFile, chunkRows: Int, limits: BatchLimits = BatchLimits()) throws(KeelError) -> ChunkPlan {
        guard chunkRows >= 1 && chunkRows <= maxChunkRows else {
            throw .invalidInput("chunk size must be between 1 and \(maxChunkRows) rows, got \(chunkRows)")
        }
        let scanner = try RecordScanner(ByteSource(file), format: file.format, limits: limits, offset: 0, line: 1)
        var header: [String]?
        if file.format == .csv {
            guard let record = try scanner.next() else {
                throw .invalidInput("CSV file '\(file.name.prefix(200))' is empty: expected a header row")
            }
            header = try readHeader(record, limits: limits)
        }
        var chunks: [ChunkRange] = []
        var total: Int64 = 0
        var open: ChunkRange?
        let gzip = file.gzip
        while let record = try scanner.next() {
            if open == nil {
                guard chunks.count < limits.chunks else {
                    throw KeelError(.payloadTooLarge, "the input has more than \(limits.chunks) chunks of \(chunkRows) rows: use larger chunks")
                }
                open = ChunkRange(
                    index: chunks.count, firstRow: total, rows: 0, firstLine: record.line,
                    byteStart: gzip ? nil : record.offset, byteEnd: nil)
            }
            open!.rows += 1
            total += 1
            if !gzip { open!.byteEnd = record.endOffset }
            if open!.rows == chunkRows {
                chunks.append(open!)
                open = nil
            }
        }
        if let open { chunks.append(open) }
        if header == nil && total == 0 {
            throw .invalidInput("JSONL file '\(file.name.prefix(200))' is empty: expected one JSON object per line")
        }
        return ChunkPlan(header: header, totalRows: total, chunks: chunks)
    }

    /// The header's names: at most `maxColumns`, none empty, none twice.
    static func readHeader(_ record: RawRecord, limits: BatchLimits) throws(KeelError) -> [String] {
        var splitter = CSVFields()
        if let problem = splitter.split(record.bytes) {
            throw .invalidInput("CSV line \(record.line): header: \(problem)")
        }
        guard splitter.fields.count <= limits.columns else {
            throw .invalidInput("CSV line \(record.line): the header has \(splitter.fields.count) columns, at most \(limits.columns) are allowed")
        }
        let names = splitter.strings(of: record.bytes)
        var seen = Set<String>()
        for (k, name) in names.enumerated() {
            guard !name.isEmpty else {
                throw .invalidInput("CSV line \(record.line): header column \(k + 1) has no name")
            }
            guard seen.insert(name).inserted else {
                throw .invalidInput("CSV line \(record.line): the header names column '\(name.prefix(64))' twice")
            }
        }
        return names
    }
}
