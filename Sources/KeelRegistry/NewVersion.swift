import Foundation

/// What a caller supplies when registering a version; the artifact's hash and size are
/// computed here, its format and signature by whoever read the model (KeelServing).
public struct NewVersion: Sendable {
    public var model: String
    public var bytes: [UInt8]
    public var filename: String
    public var format: String
    public var signature: String
    /// Metrics the client claims (e.g. from its own holdout): stored and shown as reported,
    /// never as measured; they satisfy only gates marked `reported-ok`.
    public var metrics: [String: Double] = [:]
    public var params: [String: String] = [:]
    public var tags: [String: String] = [:]
    public var description: String = ""
    public var trainingData: String?
    public var configYAML: String?

    public init(model: String, bytes: [UInt8], filename: String, format: String, signature: String) {
        self.model = model
        self.bytes = bytes
        self.filename = filename
        self.format = format
        self.signature = signature
    }
}
