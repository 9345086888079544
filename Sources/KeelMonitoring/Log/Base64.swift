/// Standard padded base64 (RFC 4648 §4) for the prediction log's packed columns, without the
/// intermediate `Data` values Foundation's codec builds: the writer encodes two columns per
/// logged row and a drift window decodes up to a million rows.
enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { encode($0) }
    }

    static func encode(_ b: UnsafeRawBufferPointer) -> String {
        let n = b.count
        let length = (n + 2) / 3 * 4
        guard length > 0 else { return "" }
        return alphabet.withUnsafeBufferPointer { a in
            String(unsafeUninitializedCapacity: length) { out in
                var i = 0, o = 0
                while i + 3 <= n {
                    let v = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
                    out[o] = a[Int(v >> 18 & 63)]
                    out[o + 1] = a[Int(v >> 12 & 63)]
                    out[o + 2] = a[Int(v >> 6 & 63)]
                    out[o + 3] = a[Int(v & 63)]
                    i += 3
                    o += 4
                }
                let rest = n - i
                if rest > 0 {
                    let v = UInt32(b[i]) << 16 | (rest == 2 ? UInt32(b[i + 1]) << 8 : 0)
                    out[o] = a[Int(v >> 18 & 63)]
                    out[o + 1] = a[Int(v >> 12 & 63)]
                    out[o + 2] = rest == 2 ? a[Int(v >> 6 & 63)] : UInt8(ascii: "=")
                    out[o + 3] = UInt8(ascii: "=")
                }
                return length
            }
        }
    }

    /// Calls `body` with the decoded bytes of `text`; nil (and `body` not called) when `text`
    /// is not padded standard base64.
    static func withDecoded<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        var text = text
        return text.withUTF8 { src -> R? in
            let n = src.count
            guard n % 4 == 0 else { return nil }
            guard n > 0 else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
            let pad = (src[n - 1] == UInt8(ascii: "=") ? 1 : 0) + (src[n - 2] == UInt8(ascii: "=") ? 1 : 0)
            let length = n / 4 * 3 - pad
            return table.withUnsafeBufferPointer { t -> R? in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n / 4 * 3) { out -> R? in
                    var i = 0, o = 0
                    while i < n {
                        let last = i + 4 == n
                        let c0 = t[Int(src[i])], c1 = t[Int(src[i + 1])]
                        let c2 = last && pad == 2 ? 0 : t[Int(src[i + 2])]
                        let c3 = last && pad >= 1 ? 0 : t[Int(src[i + 3])]
                        guard c0 | c1 | c2 | c3 < 64 else { return nil }
                        let v = UInt32(c0) << 18 | UInt32(c1) << 12 | UInt32(c2) << 6 | UInt32(c3)
                        out[o] = UInt8(truncatingIfNeeded: v >> 16)
                        out[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                        out[o + 2] = UInt8(truncatingIfNeeded: v)
                        i += 4
                        o += 3
                    }
                    return body(UnsafeBufferPointer(rebasing: out[0..<length]))
                }
            }
        }
    }
}
