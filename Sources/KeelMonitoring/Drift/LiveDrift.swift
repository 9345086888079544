import Foundation
import KeelCore
import KeelStore

/// Drift of a version's logged predictions in a window against its reference profile.
public enum LiveDrift {
    /// Reads the window (paging by id) into drift columns laid out like `reference`.
    public static func currentColumns(
        store: any Store, model: String, version: String, window: Window, schema: FeatureSchema?, encodedNames: [String],
        now: Date = Date()
    ) async throws(KeelError) -> (columns: DriftColumns, rows: Int) {
        let (since, limit) = window.bounds(now: now)
        let fields = schema?.fields ?? []
        var raw = [[Double]](repeating: [], count: fields.count)
        var rawText = [[String]](repeating: [], count: fields.count)
        var encoded = [[Double]](repeating: [], count: encodedNames.count)
        var scores: [Double] = []
        var rows = 0
        // Page k + 1 is read while page k is decoded.
        @Sendable func fetch(_ before: Int64?, _ size: Int) async -> Result<[PredictionSignal], KeelError> {
            do {
                return .success(try await store.read { db throws(KeelError) in
                    try await db.predictionSignals(model: model, version: version, since: since, beforeID: before, limit: size)
                })
            } catch {
                return .failure(error)
            }
        }
        var pageSize = min(50_000, limit)
        var next = pageSize > 0 ? await fetch(nil, pageSize) : .success([])
        while true {
            let page = try next.get()
            rows += page.count
            let following = page.count == pageSize && rows < limit ? page.last?.id : nil
            pageSize = min(50_000, limit - rows)
            async let upcoming = following == nil ? Result<[PredictionSignal], KeelError>.success([]) : fetch(following, pageSize)
            for s in page {
                if let text = s.features { LogCodecs.appendFeatures(text, fieldCount: fields.count, numbers: &raw, categories: &rawText) }
                if let text = s.encoded { LogCodecs.appendFloats(text, width: encodedNames.count, into: &encoded) }
                if let score = s.score, score.isFinite { scores.append(score) }
            }
            next = await upcoming
            if following == nil { break }
        }
        var rawColumns: [(name: String, sample: ColumnSample)] = []
        for (k, f) in fields.enumerated() {
            switch f.kind {
            case .number, .integer: rawColumns.append((f.name, .numerical(raw[k])))
            default: rawColumns.append((f.name, .categorical(rawText[k])))
            }
        }
        let encodedColumns = encodedNames.enumerated().map { (name: $0.element, sample: ColumnSample.numerical(encoded[$0.offset])) }
        return (DriftColumns(raw: rawColumns, encoded: encodedColumns, prediction: .numerical(scores)), rows)
    }
}
