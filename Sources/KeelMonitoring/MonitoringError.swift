import KeelCore

/// A monitoring computation that cannot proceed on its input, with the reason.
public struct MonitoringError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// The same problem as a 400 for a client.
    public var keelError: KeelError { KeelError.invalidInput(message) }
}
