/// CSV output helpers (RFC 4180).
public enum CSVWriter {
    /// Appends one field, quoted when it holds a comma, quote, \r or \n (quotes doubled).
    public static func field(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { field($0, into: &out) }
    }

    public static func field(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        if bytes.withContiguousStorageIfAvailable({ append($0, into: &out) }) != nil { return }
        append(Array(bytes), into: &out)
    }

    private static func append(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        var quote = false
        for b in bytes where b == ASCII.comma || b == ASCII.quote || b == ASCII.cr || b == ASCII.lf {
            quote = true
            break
        }
        guard quote else {
            out.append(contentsOf: bytes)
            return
        }
        out.append(ASCII.quote)
        for b in bytes {
            out.append(b)
            if b == ASCII.quote { out.append(ASCII.quote) }
        }
        out.append(ASCII.quote)
    }
}
