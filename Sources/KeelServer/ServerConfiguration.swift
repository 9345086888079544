import Foundation
import KeelCore
import Logging

/// Settings of `keel serve`; each comes from a flag, a `KEEL_*` environment variable or
/// `keel.yaml`, in that order of precedence.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Triton-style model folder; nil serves nothing from disk.
    public var modelRepository: URL?
    public var dataDirectory = URL(fileURLWithPath: "keel-data")
    /// Largest accepted request body.
    public var maxBodyBytes = 64 * 1024 * 1024
    /// Longest a request may wait in a model's queue before it fails with 504.
    public var requestTimeout: Duration = .seconds(30)
    public var logLevel: Logger.Level = .info
    /// `postgres://…` selects PostgreSQL for the registry; nil: SQLite under the data folder.
    public var databaseURL: String?
    /// Inference routes require a `predictor` (or higher) API key.
    public var inferenceRequiresKey = false

    public init() {}
}
