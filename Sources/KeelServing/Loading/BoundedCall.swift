import Dispatch
import Foundation
import KeelCore
import Synchronization

/// Runs a synchronous, CPU-bound call (loading a model file, a warm-up inference) on its own
/// thread and waits for it at most `limit`. Past the limit the caller gets a `KeelError` at
/// once; the call itself cannot be interrupted and finishes in the background, its result
/// dropped. Keeps a slow or hostile model from holding registration, startup or an alias move.
public enum BoundedCall {
    public static func run<T: Sendable>(
        limit: Duration, what: String, _ body: @escaping @Sendable () throws(KeelError) -> T
    ) async throws(KeelError) -> T {
        let result: Result<T, KeelError> = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, KeelError>, Never>) in
            let once = Once(continuation)
            let thread = Thread {
                once.finish(Result { () throws(KeelError) -> T in try body() })
            }
            // Model files can nest deeply; give the parser room.
            thread.stackSize = 16 << 20
            thread.start()
            let (s, atto) = limit.components
            let nanos = Int(min(s, 86_400)) * 1_000_000_000 + Int(atto / 1_000_000_000)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanos)) {
                once.finish(.failure(KeelError(.invalidModel, "\(what) took longer than the load limit of \(limit); refused")))
            }
        }
        return try result.get()
    }

    /// Resumes a continuation exactly once, from whichever side finishes first.
    private final class Once<T: Sendable>: Sendable {
        private let continuation: Mutex<CheckedContinuation<Result<T, KeelError>, Never>?>

        init(_ continuation: CheckedContinuation<Result<T, KeelError>, Never>) {
            self.continuation = Mutex(continuation)
        }

        func finish(_ result: Result<T, KeelError>) {
            let c = continuation.withLock { c -> CheckedContinuation<Result<T, KeelError>, Never>? in
                defer { c = nil }
                return c
            }
            c?.resume(returning: result)
        }
    }
}
