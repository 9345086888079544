#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeelCore

/// One record found by `RecordScanner`; `bytes` is valid until the scanner's next call.
struct RawRecord {
    /// The record without its line end (a trailing \r is still there).
    var bytes: UnsafeBufferPointer<UInt8>
    /// Physical line the record starts on.
    var line: Int64
    /// Offset of its first byte in the (decompressed) file.
    var offset: Int64
    /// Offset just past its line end.
    var endOffset: Int64
}

/// Splits a byte stream into records through a fixed buffer: JSON lines end at \n; a CSV
/// record ends at the first \n outside a quoted field (a quote opens a field only at its
/// start, `""` inside is one quote). Blank lines (empty or only \r) are skipped. A record
/// longer than the row limit, or a quote still open at the end of the data, is an error
/// naming its line.
final class RecordScanner {
    private let source: ByteSource
    private let csv: Bool
    private let maxRowBytes: Int
    private let label: String
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    /// Unread data is buffer[start..<end].
    private var start = 0
    private var end = 0
    /// File offset of buffer[0].
    private var base: Int64
    private var ended = false
    /// The line `start` is on.
    private(set) var line: Int64

    init(_ source: ByteSource, format: BatchFileFormat, limits: BatchLimits, offset: Int64, line: Int64) throws(KeelError) {
        self.source = source
        csv = format == .csv
        maxRowBytes = limits.rowBytes
        label = format == .csv ? "CSV" : "JSONL"
        capacity = max(maxRowBytes + limits.blockBytes, 4)  // room for a byte-order mark
        buffer = .allocate(capacity: capacity)
        base = offset
        self.line = line
        if offset == 0 { try skipByteOrderMark() }
    }

    deinit { buffer.deallocate() }

    /// The next non-blank record, or nil at the end of the data.
    func next() throws(KeelError) -> RawRecord? {
        while let record = try nextRecord() {
            if !Self.isBlank(record.bytes) { return record }
        }
        return nil
    }

    /// An error about the record starting at the current line.
    func error(_ what: String) -> KeelError { .invalidInput("\(label) line \(line): \(what)") }

    private static func isBlank(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in bytes where b != ASCII.cr { return false }
        return true
    }

    private func skipByteOrderMark() throws(KeelError) {
        while end < 3 && !ended { try refill() }
        if end >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { start = 3 }
    }

    private func nextRecord() throws(KeelError) -> RawRecord? {
        while true {
            if start == end && ended { return nil }
            switch csv ? scanCSV() : scanLine() {
            case .found(let recordEnd, let newlines):
                progress = Progress()
                let length = recordEnd - start
                guard length <= maxRowBytes else { throw tooLong() }
                let terminated = recordEnd < end
                let after = terminated ? recordEnd + 1 : recordEnd
                let record = RawRecord(
                    bytes: UnsafeBufferPointer(start: buffer + start, count: length),
                    line: line, offset: base + Int64(start), endOffset: base + Int64(after))
                line += Int64(newlines) + (terminated ? 1 : 0)
                start = after
                return record
            case .needMore:
                guard end - start <= maxRowBytes else { throw tooLong() }
                try refill()
            case .unclosedQuote:
                throw error("a quoted field is not closed by the end of the file")
            }
        }
    }

    private func tooLong() -> KeelError {
        error("row is longer than \(maxRowBytes) bytes" + (csv ? " (is a quote not closed?)" : ""))
    }

    /// Moves the unread bytes to the front and reads more after them.
    private func refill() throws(KeelError) {
        if start > 0 {
            let count = end - start
            if count > 0 { memmove(buffer, buffer + start, count) }
            base += Int64(start)
            start = 0
            end = count
        }
        do {
            let n = try source.read(into: buffer + end, capacity: capacity - end)
            if n == 0 { ended = true }
            end += n
        } catch {
            throw KeelError(error.code, "\(label) line \(line): \(error.message)", logDetail: error.logDetail)
        }
    }

    private enum Scan {
        /// The record ends at buffer[end] (a \n, or the end of the data) and holds `newlines` \n.
        case found(end: Int, newlines: Int)
        case needMore
        case unclosedQuote
    }

    /// How far the scan of the record at `start` got before the data ran out, so a record
    /// crossing a refill is scanned once, not again from its start.
    private struct Progress {
        /// Scanned bytes from `start`.
        var offset = 0
        var newlines = 0
        var fieldStart = true
        var quoted = false
    }

    private var progress = Progress()

    private func scanLine() -> Scan {
        if let nl = find(ASCII.lf, from: start + progress.offset, to: end) {
            return .found(end: nl, newlines: 0)
        }
        if ended { return .found(end: end, newlines: 0) }
        progress.offset = end - start
        return .needMore
    }

    private func scanCSV() -> Scan {
        var i = start + progress.offset
        var newlines = progress.newlines
        var fieldStart = progress.fieldStart
        var quoted = progress.quoted
        func suspend(at offset: Int) -> Scan {
            progress = Progress(offset: offset - start, newlines: newlines, fieldStart: fieldStart, quoted: quoted)
            return .needMore
        }
        if !quoted {
            // Most rows hold no quote before their \n: two memchr calls settle them.
            let nl = find(ASCII.lf, from: i, to: end)
            if find(ASCII.quote, from: i, to: nl ?? end) == nil {
                if let nl {
                    return .found(end: nl, newlines: newlines)
                }
                if ended { return .found(end: end, newlines: newlines) }
                if end > i { fieldStart = buffer[end - 1] == ASCII.comma }
                return suspend(at: end)
            }
        }
        while true {
            if quoted {
                guard let q = find(ASCII.quote, from: i, to: end) else {
                    newlines += count(ASCII.lf, from: i, to: end)
                    return ended ? .unclosedQuote : suspend(at: end)
                }
                newlines += count(ASCII.lf, from: i, to: q)
                if q + 1 < end {
                    if buffer[q + 1] == ASCII.quote {
                        i = q + 2
                        continue
                    }
                } else if !ended {
                    return suspend(at: q)  // a doubled quote may follow in the next block
                }
                i = q + 1
                quoted = false
                fieldStart = false
                continue
            }
            guard i < end else { break }
            let c = buffer[i]
            if c == ASCII.quote && fieldStart {
                quoted = true
            } else if c == ASCII.lf {
                return .found(end: i, newlines: newlines)
            } else {
                fieldStart = c == ASCII.comma
            }
            i += 1
        }
        return ended ? .found(end: end, newlines: newlines) : suspend(at: end)
    }

    private func find(_ byte: UInt8, from: Int, to: Int) -> Int? {
        guard from < to, let hit = memchr(buffer + from, Int32(byte), to - from) else { return nil }
        return hit.assumingMemoryBound(to: UInt8.self) - buffer
    }

    private func count(_ byte: UInt8, from: Int, to: Int) -> Int {
        var n = 0
        var i = from
        while let hit = find(byte, from: i, to: to) {
            n += 1
            i = hit + 1
        }
        return n
    }
}

/// The bytes the CSV and JSON Lines code looks for.
enum ASCII {
    static let lf = UInt8(ascii: "\n")
    static let cr = UInt8(ascii: "\r")
    static let quote = UInt8(ascii: "\"")
    static let comma = UInt8(ascii: ",")
}
