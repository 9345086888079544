import Foundation
import KeelCore
import KeelServing

/// `keel batch run`: scores a file with a model file and no server — the same planning,
/// chunk scoring and assembly as a server's jobs, without the store (nothing to resume:
/// a killed run is simply run again). Chunks are scored `threads` at a time.
public enum BatchRunner {
    public struct Summary: Sendable {
        public var rows: Int64
        public var errors: Int64
        public var seconds: Double
        public var output: String
        public var errorsOutput: String?
        public var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
    }

    public static func run(
        served: ServedVersion, input: String, output: String, inputKind: JobSpec.InputKind = .records, passthrough: [String] = [], idColumn: String? = nil,
        chunkRows: Int = JobSpec.defaultChunkRows, maxErrorRate: Double = JobSpec.defaultMaxErrorRate, threads: Int = 1, batchRows: Int = 4096,
        progress: (@Sendable (Int64, Int64?) -> Void)? = nil
    ) async throws(KeelError) -> Summary {
        let started = ContinuousClock.now
        let inputFile = try BatchFile(path: input)
        let outputFile = try BatchFile(path: output)
        if inputKind == .records, served.config.featureSchema == nil {
            throw KeelError.invalidInput("the model has no feature schema, so it cannot score raw records; give --schema config.yaml or --encoded")
        }
        var spec = JobSpec(
            input: inputFile, output: outputFile, errorsOutput: JobSpec.errorsPath(for: output), inputKind: inputKind, passthrough: passthrough,
            idColumn: idColumn ?? served.config.idField, chunkRows: chunkRows, maxErrorRate: maxErrorRate)
        let plan = try await offload { () throws(KeelError) -> ChunkPlan in try ChunkPlanner.plan(inputFile, chunkRows: chunkRows) }
        spec.header = plan.header
        if let header = plan.header {
            let missing = (spec.passthrough + (spec.idColumn.map { [$0] } ?? [])).filter { !header.contains($0) }
            if !missing.isEmpty, idColumn != nil || !spec.passthrough.isEmpty {
                throw KeelError.invalidInput("the input has no column \(missing.map { "'\($0)'" }.joined(separator: ", "))")
            }
            // The schema's id field is optional in a file: without it rows are named by line.
            if let id = spec.idColumn, !header.contains(id) { spec.idColumn = nil }
        }
        spec.outputHeader = String(decoding: OutputLayout(served, spec: spec).csvHeader, as: UTF8.self)
        let folder = NSTemporaryDirectory() + "keel-batch-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let scorer = ChunkScorer(served: served, spec: spec, service: nil, batchRows: batchRows, origin: "batch")
        let fixed = spec
        let total = plan.totalRows
        let results: [(Int, ChunkScorer.Outcome)]
        do {
            results = try await withThrowingTaskGroup(of: (Int, ChunkScorer.Outcome).self) { group in
                var next = 0
                var out: [(Int, ChunkScorer.Outcome)] = []
                var done: Int64 = 0
                func add() {
                    guard next < plan.chunks.count else { return }
                    let chunk = plan.chunks[next]
                    next += 1
                    group.addTask {
                        let names = Assembler.partNames(index: chunk.index, attempt: 1, format: fixed.output.format)
                        guard let o = try await scorer.run(chunk, part: folder + "/" + names.part, errors: folder + "/" + names.errors, progress: { _, _ in true }) else {
                            throw KeelError(.internal, "chunk \(chunk.index) stopped")
                        }
                        return (chunk.index, o)
                    }
                }
                for _ in 0..<max(1, threads) { add() }
                while let r = try await group.next() {
                    out.append(r)
                    done += r.1.rows
                    progress?(done, total)
                    add()
                }
                return out
            }
        } catch let error as KeelError {
            throw error
        } catch {
            throw KeelError(.internal, "\(error)")
        }
        let rows = results.reduce(Int64(0)) { $0 + $1.1.rows }
        let errors = results.reduce(Int64(0)) { $0 + $1.1.errors }
        let parts = results.sorted { $0.0 < $1.0 }.map { Assembler.partNames(index: $0.0, attempt: 1, format: fixed.output.format).part }
        try await offload { () throws(KeelError) in try Assembler.assemble(spec: fixed, parts: parts, folder: folder, errors: errors) }
        let (s, atto) = (ContinuousClock.now - started).components
        let summary = Summary(
            rows: rows, errors: errors, seconds: Double(s) + Double(atto) / 1e18, output: output, errorsOutput: errors > 0 ? spec.errorsOutput : nil)
        if rows > 0, Double(errors) / Double(rows) > maxErrorRate {
            throw KeelError.invalidInput(
                "\(errors) of \(rows) rows could not be scored (\(JobQueue.percent(Double(errors) / Double(rows)))), more than the max error rate of \(JobQueue.percent(maxErrorRate)); see \(spec.errorsOutput)")
        }
        return summary
    }
}
