import Foundation
import KeelCore
import KeelServing
import Testing
@testable import KeelMonitoring

/// Drift verdicts — method, score, threshold, drifted — agree with Evidently 0.7's data-drift
/// preset on the committed churn data sets, for raw fields, encoded inputs and the prediction.
@Suite struct DriftParityTests {
    static let cases = ["small_shifted", "small_same", "small_vs_large", "large_shifted", "large_same"]

    static func schema() throws -> FeatureSchema {
        let text = try String(contentsOf: MonitoringFixtures.root.appendingPathComponent("models/churn/config.yaml"), encoding: .utf8)
        return try #require(try ModelConfig.parse(yaml: text, source: "churn").featureSchema)
    }

    /// Records from a fixture CSV: schema number fields as numbers (empty = missing), the rest
    /// as strings; the `prediction` column as the model's FP32 score.
    static func load(_ file: URL, _ schema: FeatureSchema) throws -> (records: [[String: JSONValue]], predictions: [Double]) {
        let (header, rows) = try MonitoringFixtures.csv(file)
        let numeric = Set(schema.fields.filter { $0.kind == .number || $0.kind == .integer }.map(\.name))
        var records: [[String: JSONValue]] = []
        var predictions: [Double] = []
        for row in rows {
            var r: [String: JSONValue] = [:]
            for (i, name) in header.enumerated() where i < row.count {
                let cell = row[i]
                if name == "prediction" {
                    predictions.append(Double(Float(Double(cell) ?? .nan)))
                } else if numeric.contains(name) {
                    // An empty cell is a missing value: an explicit null, as a client sends it.
                    r[name] = Double(cell).map { .number($0) } ?? .null
                } else if !cell.isEmpty {
                    r[name] = .string(cell)
                }
            }
            records.append(r)
        }
        return (records, predictions)
    }

    func check(_ label: String, _ ours: ColumnDrift, _ theirs: JSONValue?) {
        guard let theirs else { Issue.record("\(label): not in Evidently's report"); return }
        #expect(ours.method?.evidentlyName == theirs["method"]?.stringValue, "\(label): Keel \(ours.method?.rawValue ?? "none"), Evidently \(theirs["method"]?.stringValue ?? "?")")
        #expect(ours.threshold == MonitoringFixtures.number(theirs["threshold"]), "\(label) threshold")
        let want = MonitoringFixtures.number(theirs["score"]) ?? .nan
        let got = ours.score ?? .nan
        #expect(abs(got - want) <= 1e-9 + 1e-6 * abs(want), "\(label): Keel score \(got), Evidently \(want) rows \(ours.referenceRows)/\(ours.currentRows)")
        #expect(ours.drifted == (theirs["drifted"] == .bool(true)), "\(label) drifted")
    }

    @Test(arguments: cases) func verdictsAgreeWithEvidently(_ name: String) throws {
        let schema = try Self.schema()
        let folder = MonitoringFixtures.folder.appendingPathComponent("drift/\(name)")
        let expected = try JSONParser.parse([UInt8](try Data(contentsOf: folder.appendingPathComponent("evidently.json"))), errorCode: .invalidInput)
        let ref = try Self.load(folder.appendingPathComponent("reference.csv"), schema)
        let cur = try Self.load(folder.appendingPathComponent("current.csv"), schema)
        let report = DriftAnalyzer().report(
            reference: DriftColumns.from(records: ref.records, schema: schema, predictions: ref.predictions),
            current: DriftColumns.from(records: cur.records, schema: schema, predictions: cur.predictions))
        #expect(report.columns.count == schema.fields.count)
        for column in report.columns { check("\(name) \(column.name)", column, expected["raw"]?["columns"]?[column.name]) }
        for column in report.encodedColumns { check("\(name) encoded \(column.name)", column, expected["encoded"]?["columns"]?[column.name]) }
        if let prediction = report.prediction { check("\(name) prediction", prediction, expected["prediction"]) } else { Issue.record("no prediction drift") }
        #expect(report.driftedColumns == expected["raw"]?["drifted_columns"]?.intValue)
        #expect(MonitoringFixtures.close(report.driftShare, MonitoringFixtures.number(expected["raw"]?["drift_share"]) ?? .nan, 1e-12))
        #expect(report.datasetDrift == (expected["raw"]?["dataset_drift"] == .bool(true)))
        // PSI and KL on request, per raw column.
        let refColumns = DriftColumns.from(records: ref.records, schema: schema).raw
        let curColumns = DriftColumns.from(records: cur.records, schema: schema).raw
        for (r, c) in zip(refColumns, curColumns) {
            for (method, key) in [(DriftMethod.psi, "psi"), (.klDiv, "kl_div")] {
                let got = DriftTest.score(method, reference: r.sample, current: c.sample) ?? .nan
                let want = MonitoringFixtures.number(expected["raw"]?["columns"]?[r.name]?[key]) ?? .nan
                #expect(abs(got - want) <= 1e-9 + 1e-6 * abs(want), "\(name) \(r.name) \(key): Keel \(got), Evidently \(want)")
            }
        }
    }

    @Test func tooFewRowsGiveNotEnoughDataRatherThanAVerdict() {
        let verdict = DriftTest.column(name: "age", reference: .numerical(Array(repeating: 1, count: 500)), current: .numerical([1, 2, 3]))
        #expect(verdict.drifted == nil && verdict.score == nil && verdict.method == nil)
        #expect(verdict.note?.contains("not enough data") == true)
        let report = DriftReport(columns: [verdict], encodedColumns: [], prediction: nil)
        #expect(report.datasetDrift == false && report.driftedColumns == 0)
    }
}
