import Foundation
import KeelCore
import KeelStore

/// A job as the API, the CLI and the metrics report it.
public struct JobStatus: Sendable, Equatable {
    public var id: Int64
    public var model: String
    public var version: String
    public var state: JobState
    public var phase: String
    public var priority: JobPriority
    public var rowsDone: Int64
    public var rowsTotal: Int64?
    public var errors: Int64
    public var chunksDone: Int
    public var chunksTotal: Int
    public var rowsPerSecond: Double?
    public var etaSeconds: Double?
    public var input: String
    public var output: String
    public var errorsOutput: String
    public var reason: String?
    public var createdBy: String
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?

    /// The job's record with the partial progress of its running chunks.
    public init(_ r: BatchJobRecord, running: (rows: Int64, errors: Int64) = (0, 0), now: Date = Date()) throws(KeelError) {
        let spec = try JobSpec.decode(r.spec)
        id = r.id
        model = r.model
        version = r.version
        state = JobState(rawValue: r.state) ?? .failed
        phase = r.phase
        priority = JobPriority.allCases.first { $0.rank == r.priority } ?? .normal
        rowsDone = r.rowsDone + (state == .running ? running.rows : 0)
        rowsTotal = r.rowsTotal
        errors = r.errors + (state == .running ? running.errors : 0)
        chunksDone = r.chunksDone
        chunksTotal = r.chunksTotal
        input = spec.input.path
        output = spec.output.path
        errorsOutput = spec.errorsOutput
        reason = r.reason
        createdBy = r.createdBy
        createdAt = r.createdAt
        startedAt = r.startedAt
        finishedAt = r.finishedAt
        if let started = r.startedAt {
            let end = state == .running ? now : (r.finishedAt ?? now)
            let seconds = end.timeIntervalSince(started)
            let rows = rowsDone - r.rowsAtStart
            if seconds > 0.05, rows > 0 {
                let rate = Double(rows) / seconds
                rowsPerSecond = rate
                if state == .running, let total = rowsTotal { etaSeconds = Double(max(0, total - rowsDone)) / rate }
            }
        }
        if state == .done { etaSeconds = 0 }
    }

    /// `{"id","state","rows_done","rows_total","errors","rows_per_s","eta_s","output",…}`.
    public var json: JSONValue {
        func date(_ d: Date?) -> JSONValue { d.map { .string(ISO8601DateFormatter().string(from: $0)) } ?? .null }
        var o: [String: JSONValue] = [
            "id": .number(Double(id)), "model": .string(model), "version": .string(version), "state": .string(state.rawValue),
            "phase": .string(phase), "priority": .string(priority.rawValue), "rows_done": .number(Double(rowsDone)),
            "rows_total": rowsTotal.map { .number(Double($0)) } ?? .null, "errors": .number(Double(errors)),
            "chunks_done": .number(Double(chunksDone)), "chunks_total": .number(Double(chunksTotal)),
            "rows_per_s": rowsPerSecond.map { .number(($0 * 10).rounded() / 10) } ?? .null,
            "eta_s": etaSeconds.map { .number(($0 * 10).rounded() / 10) } ?? .null,
            "input": .string(input), "output": .string(output), "errors_output": .string(errorsOutput),
            "reason": reason.map { .string($0) } ?? .null, "created_by": .string(createdBy),
            "created_at": date(createdAt), "started_at": date(startedAt), "finished_at": date(finishedAt),
        ]
        if let s = startedAt { o["duration_s"] = .number(((finishedAt ?? Date()).timeIntervalSince(s) * 1000).rounded() / 1000) }
        return .object(o)
    }
}
