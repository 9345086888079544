import KeelCore

/// A version's prediction cache (`cache:` in config.yaml; off when absent): how long an answer
/// stays fresh and how many answers, and bytes, it may hold.
public struct PredictionCacheSettings: Sendable, Equatable {
    public var ttl: Duration = .seconds(60)
    public var maxEntries = 10_000
    /// Most bytes the cached keys and answers may take (estimated from their tensors).
    public var maxBytes = 64 << 20

    public init() {}

    /// Largest `max_entries`.
    public static let maxEntriesLimit = 1_000_000
    /// Largest `max_bytes` (4 GiB).
    public static let maxBytesLimit = 1 << 32

    /// Reads the `cache:` mapping (nil when absent).
    static func parse(_ value: YAMLValue?, source: String) throws(KeelError) -> PredictionCacheSettings? {
        guard let value else { return nil }
        let f = try ConfigFields(value == .null ? .mapping([:]) : value, source: source, context: "cache", known: ["ttl_s", "max_entries", "max_bytes"])
        var s = PredictionCacheSettings()
        if let ttl = try f.number("ttl_s", in: 1...86_400) { s.ttl = .milliseconds(Int64((ttl * 1000).rounded())) }
        s.maxEntries = try f.int("max_entries", in: 1...maxEntriesLimit) ?? s.maxEntries
        s.maxBytes = try f.int("max_bytes", in: 1_024...maxBytesLimit) ?? s.maxBytes
        return s
    }
}
