import Foundation
import KeelCore
import KeelStore

/// Turns one answered request into prediction log rows (on the writer's task). Every logged
/// row is paid for by the server's throughput, so buffers are reused across an event's rows
/// and a record is walked once.
public enum PredictionRows {
    public static func records(_ e: PredictionEvent) -> [PredictionLogRecord] {
        let n = e.rows
        guard n > 0 else { return [] }
        let layout = e.layout
        let p = layout.profile
        let probabilities = p.probabilities.flatMap { e.outputs[$0] }.flatMap { t -> (values: [Float], classes: Int)? in
            guard let f = t.floats, t.shape.count == 2, t.shape[0] == n, t.shape[1] >= 1 else { return nil }
            return (f, t.shape[1])
        }
        let predictions = p.prediction.flatMap { e.outputs[$0] }.flatMap { t -> [Float]? in
            guard let f = t.floats, t.shape.first == n else { return nil }
            return f
        }
        let encoded = p.vectorInput.flatMap { e.inputs[$0] }.flatMap { t -> (values: [Float], width: Int)? in
            guard let f = t.floats, t.shape.count == 2, t.shape[0] == n else { return nil }
            return (f, t.shape[1])
        }
        let labels = probabilities.map { layout.labels(classes: $0.classes) } ?? []
        var out: [PredictionLogRecord] = []
        out.reserveCapacity(n)
        var w = JSONWriter(capacity: 96)
        var packing = LogCodecs.RecordPacking(layout: layout)
        // A cached answer is marked in its outputs, which readers parse by key.
        let open: StaticString = e.cached ? "{\"cached\":true," : "{"
        for r in 0..<n {
            var score: Double?
            var label: String?
            w.removeAll()
            if let (f, c) = probabilities {
                let row = f[(r * c)..<((r + 1) * c)]
                var best = 0
                for k in 1..<max(c, 1) where row[row.startIndex + k] > row[row.startIndex + best] { best = k }
                if c == 2 { best = row[row.startIndex + 1] > 0.5 ? 1 : 0 }
                let positive = min(max(p.positiveClass, 0), c - 1)
                score = Double(c == 2 ? row[row.startIndex + positive] : row[row.startIndex + best])
                label = labels[best]
                w.raw(open)
                w.raw("\"label\":")
                w.string(labels[best])
                w.raw(",\"probability\":")
                w.number(Float(score ?? .nan))
                w.raw(",\"scores\":{")
                for k in 0..<c {
                    if k > 0 { w.raw(",") }
                    w.string(labels[k])
                    w.raw(":")
                    w.number(row[row.startIndex + k])
                }
                w.raw("}}")
            } else if let f = predictions {
                let width = max(1, f.count / n)
                score = Double(f[r * width])
                w.raw(open)
                w.raw("\"prediction\":")
                if width == 1 { w.number(f[r]) } else { w.list(width) { $0.number(f[r * width + $1]) } }
                w.raw("}")
            } else {
                w.raw(e.cached ? "{\"cached\":true}" as StaticString : "{}")
            }
            var recordText: String?
            var features: String?
            if let records = e.records, r < records.count {
                // With a schema the record is logged as its packed fields plus, as JSON, only
                // the keys the packing does not hold (the id field, passthrough columns): a
                // third of the bytes, rebuilt on read. The log needs no canonical key order.
                (features, recordText) = packing.pack(records[r])
            }
            let entity = e.entityIDs.flatMap { r < $0.count ? $0[r] : nil } ?? "\(e.requestID):\(r)"
            out.append(PredictionLogRecord(
                at: e.at, model: e.model, version: e.version, arm: e.arm, requestID: e.requestID, entityID: entity,
                record: recordText, features: features,
                encoded: encoded.map { LogCodecs.packFloats($0.values[(r * $0.width)..<((r + 1) * $0.width)]) },
                outputs: String(decoding: w.bytes, as: UTF8.self), score: score.flatMap { $0.isFinite ? $0 : nil }, label: label,
                latencyMs: e.latencyMs))
        }
        return out
    }
}
