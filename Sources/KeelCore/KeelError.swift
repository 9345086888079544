/// An error Keel reports to a caller: a stable code, a message naming what was wrong and what
/// was expected, and the HTTP status it maps to.
public struct KeelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; decides the HTTP status.
    public enum Code: String, Sendable, Codable {
        case invalidInput = "invalid_input"
        case invalidModel = "invalid_model"
        case unsupported = "unsupported"
        case notFound = "not_found"
        case conflict = "conflict"
        case payloadTooLarge = "payload_too_large"
        case unavailable = "unavailable"
        case unauthorized = "unauthorized"
        case forbidden = "forbidden"
        case timeout = "timeout"
        case `internal` = "internal"
    }

    public var code: Code
    /// What the caller is told; never carries internal type names, file paths or database errors.
    public var message: String
    /// What only the server log gets (a database error, a path): nil for most errors.
    public var logDetail: String?

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// An error whose `message` is for the caller and whose `logDetail` is for the log only.
    public init(_ code: Code, _ message: String, logDetail: String?) {
        self.code = code
        self.message = message
        self.logDetail = logDetail
    }

    /// HTTP status for this error.
    public var httpStatus: Int {
        switch code {
        case .invalidInput, .invalidModel, .unsupported: return 400
        case .unauthorized: return 401
        case .forbidden: return 403
        case .notFound: return 404
        case .conflict: return 409
        case .payloadTooLarge: return 413
        case .unavailable: return 503
        case .timeout: return 504
        case .internal: return 500
        }
    }

    /// For logs: the code, the message and, when there is one, the log-only detail.
    public var description: String {
        guard let logDetail else { return "\(code.rawValue): \(message)" }
        return "\(code.rawValue): \(message) [\(logDetail)]"
    }

    public static func invalidInput(_ message: String) -> KeelError { KeelError(.invalidInput, message) }
    public static func invalidModel(_ message: String) -> KeelError { KeelError(.invalidModel, message) }
    public static func unsupported(_ message: String) -> KeelError { KeelError(.unsupported, message) }
    public static func notFound(_ message: String) -> KeelError { KeelError(.notFound, message) }
}
