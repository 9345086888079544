import KeelCore

/// The row format of a batch input or output file.
public enum BatchFileFormat: String, Sendable, Codable { case csv, jsonl }

/// A batch input or output file; its format and compression come from its name:
/// .csv, .csv.gz, .jsonl, .ndjson, .jsonl.gz, .ndjson.gz (case-insensitive).
public struct BatchFile: Sendable, Equatable, Codable {
    public var path: String
    public var format: BatchFileFormat
    public var gzip: Bool

    public init(path: String) throws(KeelError) {
        let name = Self.fileName(path)
        var lower = Substring(name.lowercased())
        let gzip = lower.hasSuffix(".gz")
        if gzip { lower = lower.dropLast(3) }
        if lower.hasSuffix(".csv") {
            format = .csv
        } else if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") {
            format = .jsonl
        } else {
            throw .invalidInput("batch file '\(name.prefix(200))' must end in .csv, .jsonl or .ndjson, optionally .gz")
        }
        self.path = path
        self.gzip = gzip
    }

    /// The last path component: what error messages name (never the full path).
    var name: String { Self.fileName(path) }

    static func fileName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// How error messages name the format.
    var label: String { format == .csv ? "CSV" : "JSONL" }
}

/// The bounds every size read from a batch file is checked against.
public struct BatchLimits: Sendable {
    /// Longest row (a CSV record or a JSON line), in bytes before its line end.
    public var maxRowBytes = 1 << 20
    /// Most CSV header columns.
    public var maxColumns = 4096
    /// Most chunks in one plan: bounds the plan's memory (raise the chunk size instead).
    public var maxChunks = 1_000_000
    /// How many bytes one read asks for, beyond room for the longest row (tests and the fuzz
    /// harness make it tiny to cross buffer boundaries often).
    public var readBlockBytes = 1 << 20

    public init() {}

    /// The limits clamped to what the buffers can hold (1 GiB rows at most).
    var rowBytes: Int { min(max(maxRowBytes, 1), 1 << 30) }
    var columns: Int { max(maxColumns, 1) }
    var chunks: Int { max(maxChunks, 1) }
    var blockBytes: Int { min(max(readBlockBytes, 1), 1 << 30) }
}
