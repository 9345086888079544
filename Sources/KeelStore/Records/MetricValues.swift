import KeelCore

/// The rules every metric obeys before it enters the store, wherever it comes from
/// (registration, evaluation): a bounded number of named, finite values.
public enum MetricValues {
    /// Most metrics one version may carry in one set (measured or reported).
    public static let maximumCount = 256
    /// Longest metric name, in characters.
    public static let maximumNameLength = 128

    /// Refuses (400) a set with too many entries, a bad name, or a NaN or infinite value,
    /// naming the metric; `source` says where the set came from ("reported metrics", …).
    public static func validate(_ metrics: [String: Double], source: String) throws(KeelError) {
        guard metrics.count <= maximumCount else {
            throw KeelError.invalidInput("\(source): \(metrics.count) metrics, at most \(maximumCount) are accepted")
        }
        for (name, value) in metrics.sorted(by: { $0.key < $1.key }) {
            guard !name.isEmpty, name.count <= maximumNameLength, name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
                throw KeelError.invalidInput("\(source): metric name '\(name.prefix(maximumNameLength))' must be 1–\(maximumNameLength) printable characters")
            }
            guard value.isFinite else {
                throw KeelError.invalidInput("\(source): metric '\(name)' is \(value), expected a finite number")
            }
        }
    }
}
