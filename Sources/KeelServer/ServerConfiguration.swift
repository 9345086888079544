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

extension ServerConfiguration {
    /// Values given on the command line; nil where a flag was not passed.
    public struct Flags: Sendable {
        public var host: String?
        public var port: Int?
        public var modelRepository: String?
        public var dataDirectory: String?
        public var maxBodyBytes: Int?
        public var requestTimeoutMs: Int?
        public var logLevel: String?
        public var databaseURL: String?
        public var inferenceRequiresKey: Bool?
        public init() {}
    }

    /// Merges flags, `KEEL_*` environment variables and the keel.yaml mapping (in that order of
    /// precedence) over the defaults. `defaultRepositoryExists` decides whether ./models is used
    /// when no repository is named.
    public static func resolve(
        flags: Flags, environment env: [String: String], file: [String: Any], defaultRepositoryExists: Bool
    ) throws(KeelError) -> ServerConfiguration {
        func string(_ flag: String?, _ envKey: String, _ fileKey: String) -> String? {
            flag ?? env[envKey] ?? file[fileKey].map { "\($0)" }
        }
        func int(_ flag: Int?, _ envKey: String, _ fileKey: String) throws(KeelError) -> Int? {
            if let flag { return flag }
            guard let text = env[envKey] ?? file[fileKey].map({ "\($0)" }) else { return nil }
            guard let v = Int(text) else { throw .invalidInput("\(envKey) / \(fileKey) must be an integer, got '\(text)'") }
            return v
        }
        var s = ServerConfiguration()
        s.host = string(flags.host, "KEEL_HOST", "host") ?? s.host
        s.port = try int(flags.port, "KEEL_PORT", "port") ?? s.port
        guard (0...65535).contains(s.port) else { throw .invalidInput("port \(s.port) is out of range 0...65535") }
        if let dir = string(flags.dataDirectory, "KEEL_DATA_DIR", "data_dir") { s.dataDirectory = URL(fileURLWithPath: dir) }
        if let repo = string(flags.modelRepository, "KEEL_MODEL_REPOSITORY", "model_repository") {
            s.modelRepository = URL(fileURLWithPath: repo)
        } else if defaultRepositoryExists {
            s.modelRepository = URL(fileURLWithPath: "models")
        }
        s.maxBodyBytes = try int(flags.maxBodyBytes, "KEEL_MAX_BODY_BYTES", "max_body_bytes") ?? s.maxBodyBytes
        guard s.maxBodyBytes > 0 else { throw .invalidInput("max body bytes must be positive") }
        if let ms = try int(flags.requestTimeoutMs, "KEEL_REQUEST_TIMEOUT_MS", "request_timeout_ms") {
            guard ms > 0 else { throw .invalidInput("request timeout must be positive") }
            s.requestTimeout = .milliseconds(ms)
        }
        if let level = string(flags.logLevel, "KEEL_LOG_LEVEL", "log_level") {
            guard let l = Logger.Level(rawValue: level.lowercased()) else {
                throw .invalidInput("log level '\(level)' is not one of trace, debug, info, notice, warning, error, critical")
            }
            s.logLevel = l
        }
        s.databaseURL = string(flags.databaseURL, "KEEL_DATABASE_URL", "database_url").flatMap { $0.isEmpty ? nil : $0 }
        let requiresKey = flags.inferenceRequiresKey.map { $0 ? "true" : "false" }
            ?? string(nil, "KEEL_INFERENCE_REQUIRES_KEY", "inference_requires_key")
        s.inferenceRequiresKey = ["true", "1", "yes"].contains(requiresKey?.lowercased() ?? "")
        return s
    }
}
