/// Where a batch job is in its life. `queued` → `running` → `done` | `failed` | `cancelled`;
/// a failed or cancelled job can be retried (back to `queued`, keeping its committed chunks).
public enum JobState: String, Sendable, Codable, CaseIterable {
    case queued
    case running
    case done
    case failed
    case cancelled

    /// No more work will be done unless the job is retried.
    public var isFinished: Bool { self == .done || self == .failed || self == .cancelled }
}

/// A job's place in the queue: higher runs first, then older first.
public enum JobPriority: String, Sendable, Codable, CaseIterable {
    case high
    case normal
    case low

    /// Sort key stored with the job (larger runs first).
    public var rank: Int {
        switch self {
        case .high: return 2
        case .normal: return 1
        case .low: return 0
        }
    }
}
