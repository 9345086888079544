#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, or a CIDR block of them (`10.0.0.0/8`, `fd00::/8`), as 16 bytes
/// (IPv4 as an IPv4-mapped IPv6 address, so `127.0.0.1` and `::ffff:127.0.0.1` are one).
public struct IPRange: Sendable, Equatable, CustomStringConvertible {
    let bytes: [UInt8]
    let prefix: Int
    public let description: String

    /// Parses `ADDRESS` or `ADDRESS/PREFIX`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.parse(String(parts[0])) else { return nil }
        let isV4 = !parts[0].contains(":")
        var prefix = 128
        if parts.count == 2 {
            guard parts[1].utf8.count <= 3, let p = Int(parts[1]), p >= 0, p <= (isV4 ? 32 : 128) else { return nil }
            prefix = isV4 ? 96 + p : p
        }
        bytes = address
        self.prefix = prefix
        description = text
    }

    public func contains(_ address: [UInt8]) -> Bool {
        guard address.count == 16 else { return false }
        var bits = prefix
        for i in 0..<16 where bits > 0 {
            let take = min(8, bits)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - take))
            if address[i] & mask != bytes[i] & mask { return false }
            bits -= take
        }
        return true
    }

    public func contains(_ text: String) -> Bool {
        guard let address = Self.parse(text) else { return false }
        return contains(address)
    }

    /// The 16 bytes of an IPv4 or IPv6 address in text (at most 64 characters; a zone id such
    /// as `%eth0` is ignored); nil when it is not one.
    public static func parse(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        var t = Substring(text)
        if let zone = t.firstIndex(of: "%") { t = t[..<zone] }
        let plain = String(t)
        var out = [UInt8](repeating: 0, count: 16)
        if !plain.contains(":") {
            var v4 = in_addr()
            guard inet_pton(AF_INET, plain, &v4) == 1 else { return nil }
            let value = UInt32(bigEndian: v4.s_addr)
            out[10] = 0xFF
            out[11] = 0xFF
            out[12] = UInt8(truncatingIfNeeded: value >> 24)
            out[13] = UInt8(truncatingIfNeeded: value >> 16)
            out[14] = UInt8(truncatingIfNeeded: value >> 8)
            out[15] = UInt8(truncatingIfNeeded: value)
            return out
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, plain, &v6) == 1 else { return nil }
        withUnsafeBytes(of: &v6) { raw in
            for i in 0..<16 { out[i] = raw[i] }
        }
        return out
    }
}
