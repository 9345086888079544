import Foundation
import KeelCore
import Testing
@testable import KeelEngine

/// Broken model files and malformed inputs give a KeelError naming the problem, never a crash.
@Suite struct TreeBadInputTests {
    func fixtureBytes(_ name: String, _ file: String) throws -> [UInt8] {
        try Fixtures.bytes(Fixtures.trees.appendingPathComponent("\(name)/\(file)"))
    }

    func loadError(_ bytes: [UInt8], filename: String) -> KeelError? {
        do {
            _ = try ModelLoader().load(ModelArtifact(bytes: bytes, filename: filename))
            return nil
        } catch {
            return error
        }
    }

    @Test("a truncated model file is refused", arguments: [
        ("xgb_binary_json", "model.json"), ("xgb_binary_ubj", "model.ubj"), ("lgb_binary", "model.txt"),
    ])
    func truncatedFile(_ name: String, _ file: String) throws {
        let bytes = try fixtureBytes(name, file)
        for fraction in [0.1, 0.5, 0.9, 0.999] {
            let cut = Array(bytes.prefix(Int(Double(bytes.count) * fraction)))
            let error = loadError(cut, filename: file)
            #expect(error != nil, "a \(fraction) prefix of \(name) (\(cut.count) of \(bytes.count) bytes) loaded")
            #expect(error.map { $0.code == .invalidModel } ?? true, "\(String(describing: error))")
        }
    }

    @Test func emptyAndUnknownFilesAreRefused() throws {
        let empty = try #require(loadError([], filename: "model.json"))
        #expect(empty.message.contains("empty"))
        let garbage = try #require(loadError(Array("hello, not a model".utf8), filename: "model.bin"))
        #expect(garbage.message.contains("cannot recognise the format"))
        let wrongContent = try #require(loadError(Array("id,age\n1,2\n".utf8), filename: "model.txt"))
        #expect(wrongContent.message.contains("LightGBM text"))
    }

    @Test func jsonThatIsNotAnXGBoostModelIsRefused() throws {
        let error = try #require(loadError(Array(#"{"hello": [1, 2, 3]}"#.utf8), filename: "model.json"))
        #expect(error.message.contains("learner"))
    }

    @Test func outOfRangeChildAndFeatureAreRefused() throws {
        var text = String(decoding: try fixtureBytes("lgb_binary", "model.txt"), as: UTF8.self)
        let range = try #require(text.range(of: "left_child="))
        text.replaceSubrange(range, with: "left_child=999 ")
        let error = try #require(loadError(Array(text.utf8), filename: "model.txt"))
        #expect(error.message.contains("out-of-range child") || error.message.contains("left_child"), "\(error)")

        var json = String(decoding: try fixtureBytes("xgb_binary_json", "model.json"), as: UTF8.self)
        let splits = try #require(json.range(of: "\"split_indices\":["))
        json.replaceSubrange(splits, with: "\"split_indices\":[4000,")
        let jsonError = try #require(loadError(Array(json.utf8), filename: "model.json"))
        #expect(jsonError.message.contains("feature 4000") || jsonError.message.contains("different lengths"), "\(jsonError)")
    }

    @Test func cyclicTreeIsRefused() throws {
        // Node 0's left child is node 0 itself.
        var builder = try TreeEnsembleBuilder(featureCount: 1, targetCount: 1, budget: LoadBudget(limit: 1 << 30))
        let nodes: [SourceNode] = [
            .split(feature: 0, test: .lessOrEqual(0), missingLeft: true, zeroIsMissing: false, left: 0, right: 1),
            .leaf(1),
        ]
        #expect(throws: KeelError.self) { try builder.addTree(nodes, target: 0) }
    }

    func model() throws -> any LoadedModel {
        try ModelLoader().load(ModelArtifact(bytes: fixtureBytes("xgb_binary_json", "model.json"), filename: "model.json"))
    }

    func inferError(_ inputs: [String: Tensor]) throws -> KeelError {
        let m = try model()
        do {
            _ = try m.infer(inputs)
            Issue.record("inference unexpectedly succeeded")
            return KeelError(.internal, "")
        } catch {
            return error
        }
    }

    @Test func wrongInputNameIsNamed() throws {
        let error = try inferError(["features": Tensor(unchecked: [1, 8], data: .fp32(Array(repeating: 0, count: 8)))])
        #expect(error.code == .invalidInput)
        #expect(error.message.contains("missing input 'input'") && error.message.contains("'features'"))
    }

    @Test func extraInputIsNamed() throws {
        let good = Tensor(unchecked: [1, 8], data: .fp32(Array(repeating: 0, count: 8)))
        let error = try inferError(["input": good, "bonus": good])
        #expect(error.message.contains("unknown input 'bonus'"))
    }

    @Test func wrongDatatypeIsNamed() throws {
        let error = try inferError(["input": Tensor(unchecked: [1, 8], data: .fp64(Array(repeating: 0, count: 8)))])
        #expect(error.message == "input 'input' has datatype FP64, model expects FP32")
    }

    @Test func wrongFeatureCountIsNamed() throws {
        let error = try inferError(["input": Tensor(unchecked: [2, 7], data: .fp32(Array(repeating: 0, count: 14)))])
        #expect(error.message == "input 'input' has shape [2,7], model expects [-1,8]")
        let flat = try inferError(["input": Tensor(unchecked: [8], data: .fp32(Array(repeating: 0, count: 8)))])
        #expect(flat.message == "input 'input' has shape [8], model expects [-1,8]")
    }

    @Test func zeroRowsGiveEmptyOutputs() throws {
        let out = try model().infer(["input": Tensor(unchecked: [0, 8], data: .fp32([]))])
        #expect(out["probabilities"]?.shape == [0, 2])
        #expect(out["label"]?.shape == [0])
    }
}
