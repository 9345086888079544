import Dispatch
import Foundation
import GRDB
import Synchronization

/// Runs one async read unit of work on one of GRDB's reader connections, inside the read
/// transaction `DatabasePool.read` opens, so every statement sees the same snapshot and no
/// writer is held up (WAL readers run beside the writer).
///
/// GRDB hands its connection to a synchronous closure on the reader's own queue, while Keel's
/// units of work are async (PostgreSQL's are). So the closure stays on that queue serving the
/// statements the async body submits, one at a time, until the body is done. The body must
/// not start another read on the same store while it runs (readers are a bounded pool).
final class SQLiteSnapshotReader: Sendable {
    /// What a statement returns: rows by column name, or rows as arrays in column order.
    enum Rows: Sendable {
        case named([SQLRow])
        case positional([[SQLValue]])
    }

    private struct Job: Sendable {
        var sql: String
        var arguments: [SQLValue]
        var positional: Bool
        var reply: CheckedContinuation<Rows, any Error>
    }

    private struct State {
        var jobs: [Job] = []
        var finished = false
        var failure: (any Error)?
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    /// Runs `body` with a session whose statements execute on one reader connection.
    static func read<T: Sendable>(_ pool: DatabasePool, _ body: (any SQLSession) async throws -> T) async throws -> T {
        let reader = SQLiteSnapshotReader()
        let serving = Task {
            do {
                try await pool.read { db in reader.serve(db) }
            } catch {
                reader.finish(failing: error)
            }
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(Session(reader: reader)))
        } catch {
            result = .failure(error)
        }
        reader.finish(failing: nil)
        await serving.value
        return try result.get()
    }

    /// The statements of the body, handed to the serving connection.
    struct Session: SQLSession {
        let reader: SQLiteSnapshotReader

        func execute(_ sql: String, _ arguments: [SQLValue]) async throws {
            _ = try await reader.submit(sql, arguments, positional: false)
        }

        func query(_ sql: String, _ arguments: [SQLValue]) async throws -> [SQLRow] {
            guard case .named(let rows) = try await reader.submit(sql, arguments, positional: false) else { return [] }
            return rows
        }

        func queryRows(_ sql: String, _ arguments: [SQLValue], columns: [String]) async throws -> [[SQLValue]] {
            guard case .positional(let rows) = try await reader.submit(sql, arguments, positional: true) else { return [] }
            return rows
        }
    }

    private func submit(_ sql: String, _ arguments: [SQLValue], positional: Bool) async throws -> Rows {
        try await withCheckedThrowingContinuation { (reply: CheckedContinuation<Rows, any Error>) in
            let refusal = state.withLock { s -> (any Error)? in
                if s.finished { return s.failure ?? SQLiteReadError.finished }
                s.jobs.append(Job(sql: sql, arguments: arguments, positional: positional, reply: reply))
                return nil
            }
            if let refusal {
                reply.resume(throwing: refusal)
            } else {
                wakeUp.signal()
            }
        }
    }

    /// Ends the unit of work: the serving connection returns (ending its read transaction)
    /// and statements still queued or submitted later fail.
    private func finish(failing error: (any Error)?) {
        let orphans = state.withLock { s -> [Job] in
            if !s.finished {
                s.finished = true
                s.failure = error
            }
            defer { s.jobs.removeAll() }
            return s.jobs
        }
        for job in orphans { job.reply.resume(throwing: error ?? SQLiteReadError.finished) }
        wakeUp.signal()
    }

    /// On the reader's queue: runs submitted statements until the body finishes.
    private func serve(_ db: Database) {
        while true {
            wakeUp.wait()
            let next = state.withLock { s -> Job? in s.jobs.isEmpty ? nil : s.jobs.removeFirst() }
            guard let job = next else {
                if state.withLock({ $0.finished }) { return }
                continue
            }
            do {
                job.reply.resume(returning: job.positional
                    ? .positional(try SQLiteSession.fetchRows(db, job.sql, job.arguments))
                    : .named(try SQLiteSession.fetch(db, job.sql, job.arguments)))
            } catch {
                job.reply.resume(throwing: error)
            }
        }
    }
}

/// A statement submitted after its read unit of work ended.
struct SQLiteReadError: Error, CustomStringConvertible {
    static let finished = SQLiteReadError()
    var description: String { "the read transaction has already ended" }
}
