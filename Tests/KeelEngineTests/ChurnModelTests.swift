import Foundation
import KeelCore
import Testing
@testable import KeelEngine

/// The bundled demo churn model loads and reproduces XGBoost on its holdout rows.
@Suite struct ChurnModelTests {
    static let directory = Fixtures.repositoryRoot.appendingPathComponent("models/churn")

    @Test func churnModelMatchesXGBoostOnHoldoutRows() throws {
        let ref = try ReferenceCase(directory: Self.directory)
        let model = try ref.loadModel()
        #expect(model.metadata.format == .xgboostJSON)
        #expect(model.metadata.featureNames?.count == 22)
        #expect(model.metadata.featureNames?.first == "age")
        let out = try model.infer(["input": ref.inputTensor])
        let probabilities = try #require(out["probabilities"]?.floats).map(Double.init)
        #expect(mismatches(probabilities, try #require(ref.probabilities), width: 2) == nil)
        #expect(try #require(out["label"]?.int64s).map(Int.init) == ref.labels)
    }

    @Test func sampleRequestRunsThroughTheV2Codec() throws {
        let body = try Fixtures.bytes(Self.directory.appendingPathComponent("sample_request.json"))
        let request = try V2JSONCodec.decodeRequest(body)
        let model = try ReferenceCase(directory: Self.directory).loadModel()
        let response = try InferenceRunner.run(model, request: request, modelName: "churn", modelVersion: "1")
        #expect(response.outputs.map(\.name) == ["probabilities", "label"])
        #expect(response.outputs[0].tensor.shape == [3, 2])
        let json = String(decoding: V2JSONCodec.encodeResponse(response), as: UTF8.self)
        #expect(json.hasPrefix(#"{"model_name":"churn","model_version":"1","outputs":[{"name":"probabilities","datatype":"FP32","shape":[3,2],"data":["#))
    }
}
