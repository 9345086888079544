import Foundation
import KeelCore

/// What a batch job scores and how: stored as the job's document, so every replica (and the
/// same one after a restart) carries it on exactly as submitted.
public struct JobSpec: Sendable, Codable, Equatable {
    /// How input rows become the model's inputs.
    public enum InputKind: String, Sendable, Codable {
        /// Raw records mapped through the version's feature schema.
        case records
        /// Columns of already-encoded features: every CSV column but the id and passthrough
        /// ones, in file order, as the model's single FP32 input.
        case encoded
    }

    public var input: BatchFile
    public var output: BatchFile
    /// Where rows that could not be scored go (CSV: line, reason).
    public var errorsOutput: String
    public var inputKind: InputKind
    /// The version or alias asked for at submit (nil: what production served then).
    public var requested: String?
    /// Input columns copied to the output, in input order.
    public var passthrough: [String]
    /// The column (or JSON field) naming each row's entity; the schema's `id_field` by default.
    public var idColumn: String?
    public var chunkRows: Int
    /// Share of rows that may fail before the job fails (0…1).
    public var maxErrorRate: Double
    /// Whether the predictions go to the prediction log (monitoring).
    public var log: Bool
    /// The input's CSV header, found when the job is planned.
    public var header: [String]?
    /// Set when the input was uploaded through the API (it lives in the data folder).
    public var uploaded: Bool
    /// The output's CSV header line, fixed when the job is planned.
    public var outputHeader: String?

    public static let defaultChunkRows = 50_000
    public static let maxChunkRows = 10_000_000
    public static let defaultMaxErrorRate = 0.01

    public init(
        input: BatchFile, output: BatchFile, errorsOutput: String, inputKind: InputKind = .records, requested: String? = nil, passthrough: [String] = [],
        idColumn: String? = nil, chunkRows: Int = Self.defaultChunkRows, maxErrorRate: Double = Self.defaultMaxErrorRate, log: Bool = false,
        header: [String]? = nil, uploaded: Bool = false
    ) {
        self.input = input
        self.output = output
        self.errorsOutput = errorsOutput
        self.inputKind = inputKind
        self.requested = requested
        self.passthrough = passthrough
        self.idColumn = idColumn
        self.chunkRows = chunkRows
        self.maxErrorRate = maxErrorRate
        self.log = log
        self.header = header
        self.uploaded = uploaded
    }

    /// The errors file beside an output: `scores.csv.gz` → `scores.errors.csv`.
    public static func errorsPath(for output: String) -> String {
        var base = output
        for ext in [".gz", ".csv", ".jsonl", ".ndjson"] where base.lowercased().hasSuffix(ext) {
            base.removeLast(ext.count)
        }
        return base + ".errors.csv"
    }

    func encoded() throws(KeelError) -> String {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            throw KeelError(.internal, "could not encode the job's specification: \(error)")
        }
    }

    static func decode(_ text: String) throws(KeelError) -> JobSpec {
        do {
            return try JSONDecoder().decode(JobSpec.self, from: Data(text.utf8))
        } catch {
            throw KeelError(.internal, "the job's stored specification is unreadable: \(error)")
        }
    }
}
