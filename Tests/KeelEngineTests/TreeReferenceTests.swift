import Foundation
import KeelCore
import Testing
@testable import KeelEngine

/// Every committed XGBoost/LightGBM fixture must reproduce its reference library's outputs.
@Suite struct TreeReferenceTests {
    @Test("fixture matches the reference library", arguments: Fixtures.treeCases())
    func matchesReference(_ name: String) throws {
        let ref = try ReferenceCase(directory: Fixtures.trees.appendingPathComponent(name))
        let model = try ref.loadModel()
        #expect(model.metadata.inputs.first?.shape == [-1, ref.featureCount])
        if let names = ref.featureNames, !names.isEmpty {
            #expect(model.metadata.featureNames == names)
        }

        if let tree = model as? TreeModel, let margins = ref.margins {
            var out = [Double](repeating: 0, count: ref.rows * tree.ensemble.targetCount)
            ref.inputs.withUnsafeBufferPointer { input in
                out.withUnsafeMutableBufferPointer { tree.ensemble.margins(input, rows: ref.rows, into: $0) }
            }
            let problem = mismatches(out, margins, width: tree.ensemble.targetCount)
            #expect(problem == nil, "margins: \(problem ?? "")")
        }

        let outputs = try model.infer(["input": ref.inputTensor])
        if ref.task == "regression" {
            let predictions = try #require(outputs["predictions"]?.floats).map(Double.init)
            let problem = mismatches(predictions, try #require(ref.predictions))
            #expect(problem == nil, "predictions: \(problem ?? "")")
        } else {
            let probabilities = try #require(outputs["probabilities"])
            let expected = try #require(ref.probabilities)
            let width = probabilities.shape[1]
            #expect(probabilities.shape == [ref.rows, expected.count / max(ref.rows, 1)])
            let problem = mismatches(try #require(probabilities.floats).map(Double.init), expected, width: width)
            #expect(problem == nil, "probabilities: \(problem ?? "")")
            let labels = try #require(outputs["label"]?.int64s).map(Int.init)
            #expect(labels == ref.labels)
        }
    }

    @Test func allFixtureKindsArePresent() {
        let cases = Set(Fixtures.treeCases())
        for required in ["xgb_binary_json", "xgb_binary_ubj", "xgb_multiclass_softprob", "xgb_categorical",
                         "xgb_nan_training", "lgb_binary", "lgb_multiclass", "lgb_categorical",
                         "lgb_zero_as_missing", "lgb_nan_missing", "lgb_regression"] {
            #expect(cases.contains(required), "missing fixture \(required)")
        }
    }
}

/// The evaluator's single-row path (trees walked in lockstep) and block path (rows walked in
/// lockstep, with and without NaN) must give identical margins for every batch size.
@Suite struct TreeEvaluatorPathTests {
    @Test("row-at-a-time and batched margins agree", arguments: Fixtures.treeCases())
    func singleRowMatchesBatch(_ name: String) throws {
        let ref = try ReferenceCase(directory: Fixtures.trees.appendingPathComponent(name))
        let tree = try #require(try ref.loadModel() as? TreeModel)
        let ensemble = tree.ensemble
        let t = ensemble.targetCount
        func margins(_ rows: ArraySlice<Float>, _ n: Int) -> [Double] {
            var out = [Double](repeating: .nan, count: n * t)
            Array(rows).withUnsafeBufferPointer { input in
                out.withUnsafeMutableBufferPointer { ensemble.margins(input, rows: n, into: $0) }
            }
            return out
        }
        let all = margins(ref.inputs[...], ref.rows)
        var single: [Double] = []
        for r in 0..<ref.rows {
            single += margins(ref.inputs[(r * ref.featureCount)..<((r + 1) * ref.featureCount)], 1)
        }
        #expect(single == all)
        // Odd batch sizes straddling the block size.
        for size in [2, 63, 64, 65] where size <= ref.rows {
            let part = margins(ref.inputs[0..<(size * ref.featureCount)], size)
            #expect(part == Array(all[0..<(size * t)]), "batch of \(size)")
        }
    }
}
