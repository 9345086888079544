import Foundation
import KeelCore

/// Runs blocking file work (a whole-file scan, assembling an output) on its own thread, so
/// it never holds one of Swift's few cooperative threads (two here) away from predictions.
func offload<T: Sendable>(_ work: @escaping @Sendable () throws(KeelError) -> T) async throws(KeelError) -> T {
    let result: Result<T, KeelError> = await withCheckedContinuation { continuation in
        let thread = Thread {
            do throws(KeelError) {
                continuation.resume(returning: .success(try work()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        thread.qualityOfService = .utility
        thread.start()
    }
    return try result.get()
}
