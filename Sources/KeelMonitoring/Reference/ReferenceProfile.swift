import Foundation
import KeelCore

/// An immutable profile of a version's reference data (its holdout or training sample): per
/// column statistics, and the values themselves — all rows, or a seeded sample of at most
/// `maxRows`, recorded as such — since K-S and Wasserstein need raw values.
public struct ReferenceProfile: Sendable, Equatable {
    public static let maxRows = 100_000

    public var rows: Int
    public var sampled: Bool
    public var seed: Int
    /// The sample's columns (what drift compares with).
    public var columns: DriftColumns
    /// Statistics over all rows.
    public var summary: JSONValue

    /// Profiles records (through the schema; `encoded` rows stand in when there is no schema,
    /// as for a holdout of already-encoded columns) with their prediction scores.
    public static func build(
        records: [[String: JSONValue]], schema: FeatureSchema?, encoded: (values: [Float], width: Int, names: [String])? = nil,
        predictions: [Double]?, maxRows: Int = maxRows, seed: Int = 42
    ) -> ReferenceProfile {
        let n = schema != nil ? records.count : (encoded.map { $0.width > 0 ? $0.values.count / $0.width : 0 } ?? predictions?.count ?? 0)
        let full = columns(records: records, schema: schema, encoded: encoded, predictions: predictions, rows: nil)
        let summary = Self.summary(full, rows: n)
        guard n > maxRows else {
            return ReferenceProfile(rows: n, sampled: false, seed: seed, columns: full, summary: summary)
        }
        let chosen = sampleIndices(count: n, take: maxRows, seed: seed)
        let sample = columns(records: records, schema: schema, encoded: encoded, predictions: predictions, rows: chosen)
        return ReferenceProfile(rows: n, sampled: true, seed: seed, columns: sample, summary: summary)
    }

    static func columns(
        records: [[String: JSONValue]], schema: FeatureSchema?, encoded: (values: [Float], width: Int, names: [String])?,
        predictions: [Double]?, rows: [Int]?
    ) -> DriftColumns {
        let pick: [Double]? = predictions.map { p in rows.map { $0.map { p[$0] } } ?? p }
        if let schema {
            let subset = rows.map { $0.map { records[$0] } } ?? records
            return DriftColumns.from(records: subset, schema: schema, predictions: pick)
        }
        var encodedColumns: [(name: String, sample: ColumnSample)] = []
        if let e = encoded, e.width > 0 {
            let count = e.values.count / e.width
            let indices = rows ?? Array(0..<count)
            for c in 0..<e.width {
                var values: [Double] = []
                values.reserveCapacity(indices.count)
                for r in indices {
                    let v = Double(e.values[r * e.width + c])
                    if v.isFinite { values.append(v) }
                }
                encodedColumns.append((c < e.names.count ? e.names[c] : "input[\(c)]", .numerical(values)))
            }
        }
        return DriftColumns(raw: [], encoded: encodedColumns, prediction: pick.map { ColumnSample.numbers($0) })
    }

    /// `take` distinct indices of `0..<count`, ascending, by a seeded partial Fisher–Yates shuffle.
    static func sampleIndices(count: Int, take: Int, seed: Int) -> [Int] {
        var rng = SplitMix64(seed: UInt64(truncatingIfNeeded: seed))
        var pool = Array(0..<count)
        for i in 0..<min(take, count) {
            let j = i + Int(rng.next() % UInt64(count - i))
            pool.swapAt(i, j)
        }
        return Array(pool.prefix(take)).sorted()
    }

    // MARK: Summary

    static func summary(_ c: DriftColumns, rows: Int) -> JSONValue {
        func column(_ name: String, _ s: ColumnSample) -> JSONValue {
            var o: [String: JSONValue] = [
                "name": .string(name), "count": .number(Double(s.count)), "missing": .number(Double(max(rows - s.count, 0))),
                "missing_share": .number(rows > 0 ? Double(max(rows - s.count, 0)) / Double(rows) : 0),
            ]
            switch s {
            case .numerical(let v):
                o["kind"] = "numerical"
                o["unique"] = .number(Double(Set(v).count))
                if let lo = v.min(), let hi = v.max() {
                    let mean = v.reduce(0, +) / Double(v.count)
                    o["min"] = .number(lo)
                    o["max"] = .number(hi)
                    o["mean"] = .number(mean)
                    o["std"] = .number(Wasserstein.standardDeviation(v))
                    let edges = Histogram.sturgesEdges(v)
                    o["histogram"] = .object([
                        "edges": .array(edges.map { .number($0) }),
                        "counts": .array(Histogram.counts(v, edges: edges).map { .number(Double($0)) }),
                    ])
                }
            case .categorical(let v):
                o["kind"] = "categorical"
                var counts: [String: Int] = [:]
                for x in v { counts[x, default: 0] += 1 }
                o["unique"] = .number(Double(counts.count))
                let top = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(100)
                o["frequencies"] = .object(Dictionary(uniqueKeysWithValues: top.map { ($0.key, JSONValue.number(Double($0.value))) }))
            }
            return .object(o)
        }
        return .object([
            "rows": .number(Double(rows)),
            "columns": .array(c.raw.map { column($0.name, $0.sample) }),
            "encoded_columns": .array(c.encoded.map { column($0.name, $0.sample) }),
            "prediction": c.prediction.map { column("prediction", $0) } ?? .null,
        ])
    }
}

/// SplitMix64: a small, fast, seedable generator for reproducible samples.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
