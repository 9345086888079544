import Foundation
import KeelCore

/// Keel's persistence, reached through a unit of work in the spirit of GRDB's
/// `dbQueue.write { db in … }`: `write` runs its closure in one transaction, committed when
/// the closure returns and rolled back when it throws; `read` runs its closure in one
/// read-only snapshot. A multi-step change (promote: gate check, alias move, status changes,
/// audit) is one `write`, so it lands whole or not at all.
///
/// Domain failures are `KeelError`s (404 unknown, 409 conflict, 400 invalid values); database
/// failures are a 503 whose message is generic and whose `logDetail` holds the database's words.
/// Do not call the store again from inside a closure: use the transaction it receives.
public protocol Store: Sendable {
    /// Applies the migrations not yet applied, in order.
    func migrate() async throws(KeelError)
    func close() async

    /// Runs `body` in one read-only snapshot.
    func read<T: Sendable>(_ body: (any StoreSnapshot) async throws(KeelError) -> T) async throws(KeelError) -> T

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func write<T: Sendable>(_ body: (any StoreTransaction) async throws(KeelError) -> T) async throws(KeelError) -> T
}
