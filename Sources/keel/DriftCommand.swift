import ArgumentParser
import Foundation
import KeelCore
import KeelMonitoring
import KeelRegistry
import KeelServing

/// `keel drift --reference ref.csv --current cur.csv [--schema config.yaml]`: the drift report
/// of two data files, offline (no server), with the same tests as live monitoring.
struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift", abstract: "Compare two data files for drift, offline.",
        discussion: """
            With --schema (a config.yaml with a feature schema) the schema's fields are compared and the
            encoded model inputs too; without one every column is compared, numeric ones as numbers.
            A column named `prediction` is compared as the prediction score.
            """)

    @Option(help: "The reference data (CSV with a header).") var reference: String
    @Option(help: "The current data (CSV with a header).") var current: String
    @Option(help: "config.yaml whose feature schema says which columns are fields and how they encode.") var schema: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        do {
            let schema = try self.schema.map { path in
                try ModelConfig.parse(yaml: String(contentsOfFile: path, encoding: .utf8), source: path).featureSchema
            } ?? nil
            let ref = try OfflineDrift.columns(CSVTable.parse(String(contentsOfFile: reference, encoding: .utf8)), schema: schema)
            let cur = try OfflineDrift.columns(CSVTable.parse(String(contentsOfFile: current, encoding: .utf8)), schema: schema)
            let report = DriftAnalyzer().report(reference: ref, current: cur)
            if json {
                var w = JSONWriter(nonFinite: .null)
                w.value(report.json)
                FileHandle.standardOutput.write(Data(w.bytes + [0x0A]))
            } else {
                printDrift(report.json)
            }
        } catch let error as KeelError {
            throw ValidationError(error.message)
        }
    }
}

/// Data files as drift columns.
enum OfflineDrift {
    static func columns(_ table: CSVTable, schema: FeatureSchema?) throws -> DriftColumns {
        let p = table.column("prediction")
        let predictions: [Double]? = p.map { i in table.rows.compactMap { i < $0.count ? Double($0[i]).map { Double(Float($0)) } : nil } }
        if let schema {
            let numeric = Set(schema.fields.filter { $0.kind == .number || $0.kind == .integer }.map(\.name))
            let records: [[String: JSONValue]] = table.rows.map { row in
                var r: [String: JSONValue] = [:]
                for (i, name) in table.header.enumerated() where i < row.count && name != "prediction" {
                    let cell = row[i]
                    if numeric.contains(name) {
                        r[name] = Double(cell).map { .number($0) } ?? .null
                    } else if !cell.isEmpty {
                        r[name] = .string(cell)
                    }
                }
                return r
            }
            return DriftColumns.from(records: records, schema: schema, predictions: predictions)
        }
        var raw: [(name: String, sample: ColumnSample)] = []
        for (i, name) in table.header.enumerated() where name != "prediction" {
            let cells = table.rows.map { i < $0.count ? $0[i] : "" }.filter { !$0.isEmpty }
            let numbers = cells.compactMap(Double.init)
            raw.append((name, numbers.count == cells.count ? .numbers(numbers) : .categorical(cells)))
        }
        return DriftColumns(raw: raw, encoded: [], prediction: predictions.map { ColumnSample.numbers($0) })
    }
}
