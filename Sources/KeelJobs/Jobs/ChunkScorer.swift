import Foundation
import KeelCore
import KeelServing

/// Scores one chunk of a job's input into its part files: the predictions (in the output's
/// format, no header) and the rows that could not be scored (`line,reason` CSV rows). The
/// files are written under temporary names and renamed only when complete, so a part file
/// that exists is whole; the caller commits it with the chunk's completion record.
struct ChunkScorer {
    let served: ServedVersion
    let spec: JobSpec
    let layout: OutputLayout
    let service: InferenceService?
    /// Rows per inference call.
    let batchRows: Int
    let origin: String

    /// What one chunk came to.
    struct Outcome: Sendable, Equatable {
        var rows: Int64
        var errors: Int64
    }

    init(served: ServedVersion, spec: JobSpec, service: InferenceService?, batchRows: Int = 1024, origin: String) {
        self.served = served
        self.spec = spec
        self.layout = OutputLayout(served, spec: spec)
        self.service = service
        self.batchRows = max(1, min(batchRows, 65_536))
        self.origin = origin
    }

    /// Scores `chunk`, writing `part` and `errors` (each via `<name>.tmp`). `progress` is
    /// called after each batch with the rows and errors so far; when it returns false the
    /// chunk is abandoned (its temporary files deleted) and `nil` returned.
    func run(
        _ chunk: ChunkRange, part: String, errors: String, progress: (Int64, Int64) async -> Bool
    ) async throws(KeelError) -> Outcome? {
        let reader = try ChunkReader(spec.input, header: spec.header, chunk: chunk)
        let out = try FileSink(path: part + ".tmp", gzip: false)
        let bad: FileSink
        do { bad = try FileSink(path: errors + ".tmp", gzip: false) } catch {
            out.abandon()
            throw error
        }
        var outcome = Outcome(rows: 0, errors: 0)
        var mapper = try RowMapper(served: served, spec: spec)
        do throws(KeelError) {
            while true {
                let rows = try reader.next(max: batchRows)
                if rows.isEmpty { break }
                let (buffer, failures) = try await score(rows, &mapper, chunk: chunk)
                out.write(buffer)
                if !failures.isEmpty {
                    var text: [UInt8] = []
                    for (line, reason) in failures {
                        text.append(contentsOf: String(line).utf8)
                        text.append(UInt8(ascii: ","))
                        CSVWriter.field(reason, into: &text)
                        text.append(0x0A)
                    }
                    bad.write(text)
                }
                outcome.rows += Int64(rows.count)
                outcome.errors += Int64(failures.count)
                guard await progress(outcome.rows, outcome.errors) else {
                    out.abandon()
                    bad.abandon()
                    return nil
                }
                await Task.yield()  // online requests first
            }
            try out.finish()
            try bad.finish()
            try Self.rename(part + ".tmp", to: part)
            try Self.rename(errors + ".tmp", to: errors)
            return outcome
        } catch {
            out.abandon()
            bad.abandon()
            throw error
        }
    }

    static func rename(_ from: String, to: String) throws(KeelError) {
        guard Foundation.rename(from, to) == 0 else {
            throw KeelError(.internal, "could not rename \(from) to \(to): \(String(cString: strerror(errno)))")
        }
    }

    /// One batch: map, infer (the good rows), format. Row problems become error lines; a
    /// failure of the model itself (503, timeout) stops the chunk so it is tried again.
    private func score(_ rows: [InputRow], _ mapper: inout RowMapper, chunk: ChunkRange) async throws(KeelError) -> ([UInt8], [(Int64, String)]) {
        var failures: [(Int64, String)] = []
        var good: [Int] = []
        good.reserveCapacity(rows.count)
        mapper.begin(capacity: rows.count)
        for (i, row) in rows.enumerated() {
            if let problem = mapper.add(row) {
                failures.append((row.line, problem))
            } else {
                good.append(i)
            }
        }
        var inputs: [String: Tensor]
        do throws(KeelError) {
            inputs = try mapper.encode()
        } catch {
            // Some record the schema refuses: find which, one by one (only on this slow path).
            let (kept, refused) = mapper.isolate()
            for (k, reason) in refused { failures.append((rows[good[k]].line, reason)) }
            good = kept.map { good[$0] }
            inputs = try mapper.encode()
        }
        failures.sort { $0.0 < $1.0 }
        var buffer: [UInt8] = []
        guard !good.isEmpty else { return (buffer, failures) }
        let outputs: [String: Tensor]
        if let service {
            outputs = try await service.score(
                served, inputs: inputs, records: spec.log ? mapper.records : nil, entityIDs: spec.log ? good.map { mapper.entity(rows[$0], chunk: chunk) } : nil,
                log: spec.log, origin: RequestOrigin(requestID: origin))
        } else {
            outputs = try await served.infer(inputs)
        }
        let scored = try RecordPredictor.ScoredRows(served, rows: good.count, outputs: outputs)
        buffer.reserveCapacity(good.count * 64)
        for (k, i) in good.enumerated() {
            write(rows[i], scored, k, chunk: chunk, mapper: mapper, into: &buffer)
        }
        return (buffer, failures)
    }

    private func write(_ row: InputRow, _ scored: RecordPredictor.ScoredRows, _ k: Int, chunk: ChunkRange, mapper: RowMapper, into out: inout [UInt8]) {
        switch spec.output.format {
        case .csv:
            CSVWriter.field(mapper.entity(row, chunk: chunk), into: &out)
            if layout.classifier {
                out.append(UInt8(ascii: ","))
                Self.number(scored.probability(k), into: &out)
                out.append(UInt8(ascii: ","))
                CSVWriter.field(scored.label(k), into: &out)
                if layout.riskBands {
                    out.append(UInt8(ascii: ","))
                    CSVWriter.field(scored.riskBand(k) ?? "", into: &out)
                }
            } else {
                for j in 0..<layout.predictionWidth {
                    out.append(UInt8(ascii: ","))
                    Self.number(scored.prediction(k, j), into: &out)
                }
            }
            for name in layout.passthrough {
                out.append(UInt8(ascii: ","))
                CSVWriter.field(mapper.text(row, name), into: &out)
            }
            out.append(0x0A)
        case .jsonl:
            var w = JSONWriter(capacity: 160)
            w.raw("{")
            w.string(layout.idName)
            w.raw(":")
            w.value(mapper.entityValue(row, chunk: chunk))
            if layout.classifier {
                w.raw(",\"probability\":")
                w.number(scored.probability(k))
                w.raw(",\"label\":")
                w.string(scored.label(k))
                if layout.riskBands {
                    w.raw(",\"risk_band\":")
                    if let band = scored.riskBand(k) { w.string(band) } else { w.raw("null") }
                }
            } else if layout.predictionWidth == 1 {
                w.raw(",\"prediction\":")
                w.number(scored.prediction(k))
            } else {
                w.raw(",\"prediction\":")
                w.list(layout.predictionWidth) { $0.number(scored.prediction(k, $1)) }
            }
            for name in layout.passthrough {
                w.raw(",")
                w.string(name)
                w.raw(":")
                w.value(mapper.value(row, name))
            }
            w.raw("}\n")
            out.append(contentsOf: w.bytes)
        }
    }

    /// A Float in its shortest round-trip form (NaN and infinities as `NaN`, `inf`, `-inf`).
    static func number(_ f: Float, into out: inout [UInt8]) {
        if f.isNaN {
            out.append(contentsOf: "NaN".utf8)
        } else if f == f.rounded(), abs(f) < 1e7 {
            out.append(contentsOf: String(Int64(f)).utf8)
        } else {
            out.append(contentsOf: f.description.utf8)
        }
    }
}
