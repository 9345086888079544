#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeelCore

/// Splits one CSV record into fields (RFC 4180): a field that starts with a quote runs to the
/// closing quote, `""` inside it is one quote and only a comma or the record's end may follow
/// it; a quote inside an unquoted field is literal; a \r before the line end is dropped.
struct CSVFields {
    /// One field's bytes within the record; `escaped` when it holds `""` to undouble.
    typealias Field = TextCell

    private(set) var fields: [Field] = []

    /// Splits `record` (without its \n): nil when well formed, else why it is not.
    mutating func split(_ record: UnsafeBufferPointer<UInt8>) -> String? {
        fields.removeAll(keepingCapacity: true)
        guard let p = record.baseAddress else {
            fields.append(Field(start: 0, end: 0, escaped: false))
            return nil
        }
        var n = record.count
        if n > 0 && p[n - 1] == ASCII.cr { n -= 1 }
        var i = 0
        while true {
            if i < n && p[i] == ASCII.quote {
                var j = i + 1
                var escaped = false
                while true {
                    guard let q = Self.find(ASCII.quote, p, from: j, to: n) else {
                        return "field \(fields.count + 1) has a quote that is not closed"
                    }
                    if q + 1 < n && p[q + 1] == ASCII.quote {
                        escaped = true
                        j = q + 2
                        continue
                    }
                    fields.append(Field(start: i + 1, end: q, escaped: escaped))
                    i = q + 1
                    break
                }
                if i < n && p[i] != ASCII.comma {
                    return "text after the closing quote of field \(fields.count)"
                }
            } else {
                let comma = Self.find(ASCII.comma, p, from: i, to: n) ?? n
                fields.append(Field(start: i, end: comma, escaped: false))
                i = comma
            }
            guard i < n else { return nil }
            i += 1  // the comma
        }
    }

    /// The text of field `k` of `record` (as last split).
    func string(_ k: Int, of record: UnsafeBufferPointer<UInt8>) -> String {
        let f = fields[k]
        let bytes = UnsafeBufferPointer(rebasing: record[f.start..<f.end])
        guard f.escaped else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            out.append(bytes[i])
            // Inside a closed quoted field every quote is doubled.
            i += bytes[i] == ASCII.quote ? 2 : 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Every field's text, in order.
    func strings(of record: UnsafeBufferPointer<UInt8>) -> [String] {
        var out: [String] = []
        out.reserveCapacity(fields.count)
        for k in fields.indices { out.append(string(k, of: record)) }
        return out
    }

    private static func find(_ byte: UInt8, _ p: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        guard from < to, let hit = memchr(p + from, Int32(byte), to - from) else { return nil }
        return UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) - p
    }
}
