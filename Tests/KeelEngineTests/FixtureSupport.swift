import Foundation
import KeelCore
@testable import KeelEngine

/// Locates and reads the committed fixtures under Tests/Fixtures and models/.
enum Fixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let trees = repositoryRoot.appendingPathComponent("Tests/Fixtures/trees")

    static func treeCases() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: trees.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: trees.appendingPathComponent("\($0)/reference.json").path) }.sorted()
    }

    static func bytes(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }
}

/// One fixture's reference.json: inputs and the reference library's outputs.
struct ReferenceCase {
    let directory: URL
    let modelFile: String
    let task: String
    let featureCount: Int
    let featureNames: [String]?
    let rows: Int
    let inputs: [Float]
    let probabilities: [Double]?
    let labels: [Int]?
    let predictions: [Double]?
    let margins: [Double]?

    init(directory: URL) throws {
        self.directory = directory
        let doc = try JSONParser.parse(Fixtures.bytes(directory.appendingPathComponent("reference.json")))
        modelFile = doc["model_file"]?.stringValue ?? ""
        task = doc["task"]?.stringValue ?? ""
        featureCount = doc["n_features"]?.intValue ?? 0
        featureNames = doc["feature_names"]?.arrayValue?.compactMap(\.stringValue)
        let rowValues = doc["inputs"]?.arrayValue ?? []
        rows = rowValues.count
        inputs = rowValues.flatMap { row in (row.arrayValue ?? []).map { $0.doubleValue.map(Float.init) ?? .nan } }
        let expected = doc["expected"]
        func flat(_ key: String) -> [Double]? {
            guard let v = expected?[key], let a = v.arrayValue else { return nil }
            return a.flatMap { $0.arrayValue?.compactMap(\.doubleValue) ?? [$0.doubleValue ?? .nan] }
        }
        probabilities = flat("probabilities")
        labels = flat("label")?.map { Int($0) }
        predictions = flat("predictions")
        margins = flat("margin")
    }

    var modelURL: URL { directory.appendingPathComponent(modelFile) }

    func loadModel() throws -> any LoadedModel {
        try ModelLoader().load(ModelArtifact(bytes: Fixtures.bytes(modelURL), filename: modelFile))
    }

    var inputTensor: Tensor {
        Tensor(unchecked: [rows, featureCount], data: .fp32(inputs))
    }
}

/// |actual - expected| <= atol + rtol·|expected|, the tolerance the issue sets for references.
func close(_ actual: Double, _ expected: Double, rtol: Double = 1e-5, atol: Double = 1e-6) -> Bool {
    if expected.isNaN { return actual.isNaN }
    return abs(actual - expected) <= atol + rtol * abs(expected)
}

/// Indices where the arrays disagree beyond tolerance, with values, for failure messages.
func mismatches(_ actual: [Double], _ expected: [Double], width: Int = 1) -> String? {
    guard actual.count == expected.count else { return "count \(actual.count) != expected \(expected.count)" }
    var report: [String] = []
    for i in actual.indices where !close(actual[i], expected[i]) {
        report.append("row \(i / width) col \(i % width): got \(actual[i]), expected \(expected[i])")
        if report.count == 5 { break }
    }
    let total = actual.indices.filter { !close(actual[$0], expected[$0]) }.count
    return report.isEmpty ? nil : "\(total) mismatches; first: " + report.joined(separator: "; ")
}
