import Foundation
import HTTPTypes

/// The address a request came from: the peer's, or — only when the peer is a trusted proxy —
/// the one the proxies say they forwarded for (`Forwarded: for=…`, else `X-Forwarded-For`),
/// read from the right past every trusted hop, so a client cannot choose its own address by
/// sending the header itself.
public struct TrustedProxies: Sendable {
    public let ranges: [IPRange]
    static let forwarded = HTTPField.Name("Forwarded")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    /// Hops read from a forwarding header at most; the rest is ignored.
    static let maxHops = 32

    public init(_ ranges: [IPRange]) { self.ranges = ranges }

    func trusts(_ address: String) -> Bool {
        guard !ranges.isEmpty, let bytes = IPRange.parse(address) else { return false }
        return ranges.contains { $0.contains(bytes) }
    }

    /// The client of a request whose peer is `peer` (nil: unknown, in-process tests).
    public func client(peer: String?, headers: HTTPFields) -> String {
        guard let peer else { return "unknown" }
        return forwarded(peer: peer, headers: headers) ?? peer
    }

    /// The address a trusted peer forwarded for; nil when the peer is not trusted or named none.
    public func forwarded(peer: String, headers: HTTPFields) -> String? {
        guard trusts(peer) else { return nil }
        let hops = Self.hops(headers)
        if hops.isEmpty { return nil }
        // From the nearest hop outwards: the first address no trusted proxy accounts for.
        for hop in hops.reversed() where !trusts(hop) {
            return IPRange.parse(hop) == nil ? peer : hop
        }
        return hops.first ?? peer
    }

    /// The forwarded-for addresses, nearest last, from `Forwarded` if present, else `X-Forwarded-For`.
    static func hops(_ headers: HTTPFields) -> [String] {
        let forwarded = headers[values: Self.forwarded]
        if !forwarded.isEmpty {
            var out: [String] = []
            for line in forwarded where line.utf8.count <= 4096 {
                for element in line.split(separator: ",") {
                    for pair in element.split(separator: ";") {
                        let kv = pair.split(separator: "=", maxSplits: 1)
                        guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == "for" else { continue }
                        out.append(Self.node(kv[1]))
                    }
                }
            }
            return Array(out.suffix(maxHops))
        }
        var out: [String] = []
        for line in headers[values: Self.forwardedFor] where line.utf8.count <= 4096 {
            out += line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        return Array(out.suffix(maxHops))
    }

    /// `for=` node: unquoted, `[v6]:port` and `v4:port` reduced to the address.
    static func node(_ raw: Substring) -> String {
        var s = raw.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("\""), s.hasSuffix("\""), s.count >= 2 { s = String(s.dropFirst().dropLast()) }
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return s }
            return String(s[s.index(after: s.startIndex)..<close])
        }
        if s.filter({ $0 == ":" }).count == 1, let colon = s.firstIndex(of: ":") { return String(s[..<colon]) }
        return s
    }
}
