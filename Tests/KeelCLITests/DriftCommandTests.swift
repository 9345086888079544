import Foundation
import KeelCore
import KeelMonitoring
import KeelRegistry
import KeelServing
import KeelTestSupport
import Testing

@testable import keel

/// `keel drift --reference --current --schema` gives Evidently's verdicts on the committed
/// churn data sets, without a server.
@Suite struct DriftCommandTests {
    static let fixtures = TestRegistry.root.appendingPathComponent("Tests/Fixtures/monitoring/drift")

    @Test(arguments: ["small_shifted", "large_shifted", "small_same"]) func offlineDriftAgreesWithEvidently(_ name: String) throws {
        let folder = Self.fixtures.appendingPathComponent(name)
        let schema = try #require(try ModelConfig.parse(
            yaml: String(contentsOf: TestRegistry.churnFolder.appendingPathComponent("config.yaml"), encoding: .utf8), source: "churn").featureSchema)
        let ref = try OfflineDrift.columns(CSVTable.parse(String(contentsOf: folder.appendingPathComponent("reference.csv"), encoding: .utf8)), schema: schema)
        let cur = try OfflineDrift.columns(CSVTable.parse(String(contentsOf: folder.appendingPathComponent("current.csv"), encoding: .utf8)), schema: schema)
        let report = DriftAnalyzer().report(reference: ref, current: cur)
        let expected = try JSONParser.parse([UInt8](try Data(contentsOf: folder.appendingPathComponent("evidently.json"))), errorCode: .invalidInput)
        #expect(report.datasetDrift == (expected["raw"]?["dataset_drift"] == .bool(true)))
        #expect(report.driftedColumns == expected["raw"]?["drifted_columns"]?.intValue)
        for column in report.columns {
            let theirs = expected["raw"]?["columns"]?[column.name]
            #expect(column.method?.evidentlyName == theirs?["method"]?.stringValue, "\(name) \(column.name)")
            #expect(column.drifted == (theirs?["drifted"] == .bool(true)), "\(name) \(column.name)")
        }
        #expect(report.prediction?.drifted == (expected["prediction"]?["drifted"] == .bool(true)))
    }

    @Test func theCommandRunsOnFilesAndRefusesMissingOnes() async throws {
        let folder = Self.fixtures.appendingPathComponent("small_shifted")
        var ok = try DriftCommand.parse([
            "--reference", folder.appendingPathComponent("reference.csv").path, "--current", folder.appendingPathComponent("current.csv").path,
            "--schema", TestRegistry.churnFolder.appendingPathComponent("config.yaml").path, "--json",
        ])
        try await ok.run()
        var missing = try DriftCommand.parse(["--reference", "/nonexistent.csv", "--current", "/nonexistent.csv"])
        await #expect(throws: (any Error).self) { try await missing.run() }
    }
}
