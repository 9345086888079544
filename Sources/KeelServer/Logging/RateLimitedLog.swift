import Logging
import Synchronization

/// Writes at most `linesPerWindow` warnings per window and, when the next window opens,
/// one line saying how many were suppressed — so a flood of bad requests cannot flood the log.
final class RateLimitedLog: Sendable {
    private struct State {
        var windowStart: ContinuousClock.Instant
        var written = 0
        var suppressed = 0
    }

    let logger: Logger
    let linesPerWindow: Int
    let window: Duration
    private let state: Mutex<State>

    init(logger: Logger, linesPerWindow: Int, window: Duration) {
        self.logger = logger
        self.linesPerWindow = linesPerWindow
        self.window = window
        state = Mutex(State(windowStart: .now))
    }

    func warning(_ message: Logger.Message, metadata: Logger.Metadata) {
        let now = ContinuousClock.now
        let (write, suppressedBefore) = state.withLock { s -> (Bool, Int) in
            var reported = 0
            if now - s.windowStart >= window {
                reported = s.suppressed
                s = State(windowStart: now)
            }
            guard s.written < linesPerWindow else {
                s.suppressed += 1
                return (false, reported)
            }
            s.written += 1
            return (true, reported)
        }
        if suppressedBefore > 0 {
            logger.warning("suppressed similar log lines", metadata: ["suppressed": .stringConvertible(suppressedBefore), "of": .string(message.description)])
        }
        if write { logger.warning(message, metadata: metadata) }
    }
}
