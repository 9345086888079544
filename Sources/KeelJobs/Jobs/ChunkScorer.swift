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
        let fast = spec.output.format == .csv ? mapper.textColumns.flatMap { plan in mapper.schema.map { (plan, $0) } } : nil
        do throws(KeelError) {
            while true {
                let buffer: [UInt8]
                let failures: [(Int64, String)]
                let read: Int
                if let (plan, schema) = fast {
                    (buffer, failures, read) = try await scoreFast(reader, plan: plan, schema: schema)
                } else {
                    let rows = try reader.next(max: batchRows)
                    read = rows.count
                    (buffer, failures) = read == 0 ? ([], []) : try await score(rows, &mapper, chunk: chunk)
                }
                if read == 0 { break }
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
                outcome.rows += Int64(read)
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

    /// One batch on the fast path (CSV in, CSV out, the schema's vector layout): cells are
    /// encoded from the record's bytes straight into the input matrix, and the id and
    /// passthrough cells kept as output bytes — no String or record per row.
    private func scoreFast(_ reader: ChunkReader, plan: FeatureSchema.TextColumns, schema: FeatureSchema) async throws(KeelError) -> ([UInt8], [(Int64, String)], Int) {
        let width = schema.width
        var floats = [Float](repeating: 0, count: batchRows * width)
        var carry: [UInt8] = []
        carry.reserveCapacity(batchRows * 16)
        var bounds: [(id: Int, end: Int)] = []
        bounds.reserveCapacity(batchRows)
        var failures: [(Int64, String)] = []
        let header = spec.header ?? []
        let idColumn = spec.idColumn.flatMap { header.firstIndex(of: $0) }
        let passthrough = layout.passthrough.compactMap { header.firstIndex(of: $0) }
        var kept = 0
        let read = try floats.withUnsafeMutableBufferPointer { out throws(KeelError) -> Int in
            try reader.forEachCSV(max: batchRows, row: { line, bytes, cells in
                let at = out.baseAddress! + kept * width
                if let problem = schema.encode(row: bytes, cells: cells, columns: plan, into: at) {
                    for c in 0..<width { at[c] = 0 }
                    failures.append((line, problem))
                    return
                }
                kept += 1
                func field(_ column: Int) {
                    let c = cells[column]
                    let cell = UnsafeBufferPointer(rebasing: bytes[c.start..<c.end])
                    if c.escaped {
                        CSVWriter.field(FeatureSchema.unescaped(cell), into: &carry)
                    } else {
                        CSVWriter.field(cell, into: &carry)
                    }
                }
                if let idColumn { field(idColumn) } else { carry.append(contentsOf: String(line).utf8) }
                let id = carry.count
                for column in passthrough {
                    carry.append(UInt8(ascii: ","))
                    field(column)
                }
                bounds.append((id, carry.count))
            }, invalid: { line, reason in failures.append((line, reason)) })
        }
        guard read > 0, kept > 0 else { return ([], failures, read) }
        floats.removeLast(floats.count - kept * width)
        let inputs = [schema.inputName: try Tensor(shape: [kept, width], data: .fp32(floats))]
        let outputs: [String: Tensor]
        if let service {
            outputs = try await service.score(served, inputs: inputs, records: nil, entityIDs: nil, log: false, origin: RequestOrigin(requestID: origin))
        } else {
            outputs = try served.model.infer(inputs)
        }
        let scored = try RecordPredictor.ScoredRows(served, rows: kept, outputs: outputs)
        // Labels and bands, CSV-encoded once: ",<label>" and ",<band>".
        func cells(_ texts: [String]) -> [[UInt8]] {
            texts.map { t in
                var b: [UInt8] = [UInt8(ascii: ",")]
                CSVWriter.field(t, into: &b)
                return b
            }
        }
        let labels = cells(scored.labels)
        let bands = cells(served.config.riskBands.map(\.name))
        var buffer: [UInt8] = []
        buffer.reserveCapacity(carry.count + kept * 40)
        var start = 0
        for r in 0..<kept {
            let (id, end) = bounds[r]
            buffer.append(contentsOf: carry[start..<id])
            if layout.classifier {
                buffer.append(UInt8(ascii: ","))
                Self.number(scored.probability(r), into: &buffer)
                let l = scored.labelIndex(r)
                if l < labels.count { buffer.append(contentsOf: labels[l]) } else { buffer.append(UInt8(ascii: ",")) }
                if layout.riskBands {
                    if let b = scored.riskBandIndex(r), b < bands.count { buffer.append(contentsOf: bands[b]) } else { buffer.append(UInt8(ascii: ",")) }
                }
            } else {
                for j in 0..<layout.predictionWidth {
                    buffer.append(UInt8(ascii: ","))
                    Self.number(scored.prediction(r, j), into: &buffer)
                }
            }
            buffer.append(contentsOf: carry[id..<end])
            buffer.append(0x0A)
            start = end
        }
        return (buffer, failures, read)
    }

    /// One batch: map, infer (the good rows), format. Row problems become error lines; a
    /// failure of the model itself (503, timeout) stops the chunk so it is tried again.
    private func score(_ rows: [InputRow], _ mapper: inout RowMapper, chunk: ChunkRange) async throws(KeelError) -> ([UInt8], [(Int64, String)]) {
        let (mapped, good, failures) = try mapper.map(rows)
        var buffer: [UInt8] = []
        guard let inputs = mapped, !good.isEmpty else { return (buffer, failures) }
        let outputs: [String: Tensor]
        if let service {
            outputs = try await service.score(
                served, inputs: inputs, records: spec.log ? mapper.records : nil, entityIDs: spec.log ? good.map { mapper.entity(rows[$0], chunk: chunk) } : nil,
                log: spec.log, origin: RequestOrigin(requestID: origin))
        } else {
            // Offline (`keel batch run`): no server traffic to share the batcher with, so the
            // model is called directly with the whole batch.
            outputs = try served.model.infer(inputs)
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
