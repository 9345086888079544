/// The drift verdict for one column (a raw field, an encoded model input or the prediction).
/// `method`, `score`, `threshold` and `drifted` are nil when the column had too little data.
public struct ColumnDrift: Sendable, Equatable {
    public var name: String
    public var kind: ColumnKind
    public var method: DriftMethod?
    public var score: Double?
    public var threshold: Double?
    public var drifted: Bool?
    public var referenceRows: Int
    public var currentRows: Int
    /// Why there is no verdict (e.g. "not enough data: 12 current values, at least 30 needed").
    public var note: String?

    public init(
        name: String, kind: ColumnKind, method: DriftMethod?, score: Double?, threshold: Double?, drifted: Bool?,
        referenceRows: Int, currentRows: Int, note: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.method = method
        self.score = score
        self.threshold = threshold
        self.drifted = drifted
        self.referenceRows = referenceRows
        self.currentRows = currentRows
        self.note = note
    }
}

/// How one column is tested when not by the default rule (from config.yaml or a request).
public struct DriftOverride: Sendable, Equatable {
    public var method: DriftMethod?
    public var threshold: Double?

    public init(method: DriftMethod? = nil, threshold: Double? = nil) {
        self.method = method
        self.threshold = threshold
    }
}
