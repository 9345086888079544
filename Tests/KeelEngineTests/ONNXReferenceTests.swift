import Foundation
import KeelCore
import Testing
@testable import KeelEngine

/// Every committed ONNX fixture must reproduce ONNX Runtime's outputs.
@Suite struct ONNXReferenceTests {
    @Test("ONNX fixture matches ONNX Runtime", arguments: ONNXFixtures.cases())
    func matchesOnnxRuntime(_ name: String) throws {
        let reference = try ONNXReferenceCase(name: name)
        let model = try ModelLoader().load(ModelArtifact(bytes: ONNXFixtures.modelBytes(name), filename: "model.onnx"))
        #expect(model.metadata.format == .onnx)
        #expect(Set(model.metadata.inputs.map(\.name)) == Set(reference.inputs.keys))

        let outputs = try model.infer(reference.inputs)
        for (outputName, expected) in reference.outputs.sorted(by: { $0.key < $1.key }) {
            let actual = try #require(outputs[outputName], "missing output '\(outputName)'")
            let problem = compareTensors(actual, expected)
            #expect(problem == nil, "\(outputName): \(problem ?? "")")
            // The metadata signature promises the type and the fixed dimensions.
            let signature = try #require(model.metadata.outputs.first { $0.name == outputName })
            #expect(signature.dataType == actual.dataType, "\(outputName) signature type")
            #expect(signature.accepts(shape: actual.shape), "\(outputName) signature \(signature.shape) vs \(actual.shape)")
        }
        if let labels = reference.classLabels {
            #expect(model.metadata.classLabels == labels)
        }
    }

    @Test("one row at a time gives the same answers as the whole batch")
    func singleRowsMatchBatch() throws {
        for name in ["sk_pipeline_lr", "sk_rf_clf", "sk_mlp_clf", "xgb_binary_onnxmltools"] {
            let reference = try ONNXReferenceCase(name: name)
            let model = try ONNXModel(bytes: ONNXFixtures.modelBytes(name))
            let batch = try model.infer(reference.inputs)
            let rows = reference.inputs.values.first?.shape.first ?? 0
            for row in [0, rows / 2, rows - 1] {
                var single: [String: Tensor] = [:]
                for (k, v) in reference.inputs { single[k] = try TensorRows.gather(v, rows: [row]) }
                let out = try model.infer(single)
                for (k, v) in out {
                    let expected = try TensorRows.gather(try #require(batch[k]), rows: [row])
                    #expect(compareTensors(v, expected) == nil, "\(name) row \(row) output \(k)")
                }
            }
        }
    }

    @Test func requiredFixtureKindsArePresent() {
        let cases = Set(ONNXFixtures.cases())
        for required in ["sk_pipeline_lr", "sk_rf_clf", "sk_rf_reg", "sk_gb_clf_binary", "sk_gb_reg",
                         "sk_imputer_scaler_linreg", "sk_mlp_clf", "xgb_binary_onnxmltools",
                         "lgb_multiclass_onnxmltools", "onnx_tree_ensemble_v5", "onnx_tree_modes_v3"] {
            #expect(cases.contains(required), "missing fixture \(required)")
        }
    }
}
