import KeelCore

/// Reads one chunk's rows, streaming, in file order with their line numbers.
///
/// A plain file is read from `byteStart` to `byteEnd`; a gzip file (or a chunk without a byte
/// range) is decompressed from the start, skipping the header and `firstRow` rows. A CSV row
/// whose field count differs from the header's, or that is malformed, comes back `.invalid`
/// and reading goes on. Fewer rows than the chunk says means the file changed since it was
/// planned: a 409.
public final class ChunkReader {
    private let scanner: RecordScanner
    private let format: BatchFileFormat
    private let columns: Int
    private let chunk: ChunkRange
    private var left: Int64
    private var splitter = CSVFields()

    public init(_ file: BatchFile, header: [String]?, chunk: ChunkRange, limits: BatchLimits = BatchLimits()) throws(KeelError) {
        guard chunk.rows >= 0, chunk.firstRow >= 0, chunk.firstLine >= 1 else {
            throw .invalidInput("chunk \(chunk.index) has a negative row count, first row or line")
        }
        format = file.format
        if file.format == .csv {
            guard let header, !header.isEmpty else { throw .invalidInput("reading a CSV chunk needs the file's header") }
            columns = header.count
        } else {
            columns = 0
        }
        self.chunk = chunk
        left = chunk.rows
        if !file.gzip, let byteStart = chunk.byteStart, let byteEnd = chunk.byteEnd {
            guard byteStart >= 0, byteEnd >= byteStart else {
                throw .invalidInput("chunk \(chunk.index) has an invalid byte range \(byteStart)..<\(byteEnd)")
            }
            let source = try ByteSource(file, offset: byteStart, length: byteEnd - byteStart)
            scanner = try RecordScanner(source, format: file.format, limits: limits, offset: byteStart, line: chunk.firstLine)
        } else {
            scanner = try RecordScanner(ByteSource(file), format: file.format, limits: limits, offset: 0, line: 1)
            if file.format == .csv, try scanner.next() == nil { throw changed(0) }
            var skipped: Int64 = 0
            while skipped < chunk.firstRow {
                guard try scanner.next() != nil else { throw changed(0) }
                skipped += 1
            }
        }
    }

    /// Up to `max` rows (at least one while any is left); an empty array once the chunk is exhausted.
    public func next(max: Int) throws(KeelError) -> [InputRow] {
        var rows: [InputRow] = []
        let want = Swift.max(1, Swift.min(Int64(max), left))
        rows.reserveCapacity(Int(Swift.min(want, 4096)))
        while left > 0 && rows.count < want {
            guard let record = try scanner.next() else { throw changed(chunk.rows - left) }
            left -= 1
            rows.append(InputRow(line: record.line, values: values(record)))
        }
        return rows
    }

    /// The fast path for CSV: calls `row` for up to `max` rows with the record's bytes and its
    /// cells (valid during the call only), or `invalid` with the reason for a row that does
    /// not split into the header's fields. Returns the rows read (0 once the chunk is done).
    func forEachCSV(
        max: Int, row: (Int64, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<TextCell>) -> Void, invalid: (Int64, String) -> Void
    ) throws(KeelError) -> Int {
        let want = Swift.max(1, Swift.min(Int64(max), left))
        var read = 0
        while left > 0 && read < want {
            guard let record = try scanner.next() else { throw changed(chunk.rows - left) }
            left -= 1
            read += 1
            if let problem = splitter.split(record.bytes) {
                invalid(record.line, problem)
            } else if splitter.fields.count != columns {
                invalid(record.line, "expected \(columns) fields, found \(splitter.fields.count)")
            } else {
                splitter.fields.withUnsafeBufferPointer { row(record.line, record.bytes, $0) }
            }
        }
        return read
    }

    private func values(_ record: RawRecord) -> InputRow.Values {
        switch format {
        case .csv:
            if let problem = splitter.split(record.bytes) { return .invalid(problem) }
            guard splitter.fields.count == columns else {
                return .invalid("expected \(columns) fields, found \(splitter.fields.count)")
            }
            return .csv(splitter.strings(of: record.bytes))
        case .jsonl:
            let value: JSONValue
            do {
                value = try JSONParser.parse(Array(record.bytes), errorCode: .invalidInput, numericArrays: .values)
            } catch {
                return .invalid("invalid JSON: \(error.message)")
            }
            guard let object = value.objectValue else { return .invalid("not a JSON object") }
            return .json(object)
        }
    }

    private func changed(_ read: Int64) -> KeelError {
        KeelError(.conflict, "the input file changed after it was planned: chunk \(chunk.index) ends after \(read) of its \(chunk.rows) rows")
    }
}
