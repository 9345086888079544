import Foundation
import KeelCore
import Testing

/// Decoding and encoding of Open Inference Protocol v2 JSON bodies.
@Suite struct V2JSONCodecTests {
    func decode(_ json: String) throws(KeelError) -> InferenceRequest {
        try V2JSONCodec.decodeRequest(Array(json.utf8))
    }

    func error(_ json: String) -> KeelError? {
        do {
            _ = try decode(json)
            return nil
        } catch {
            return error
        }
    }

    @Test func flatAndNestedDataDecodeToTheSameTensor() throws {
        let flat = try decode(#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]}]}"#)
        let nested = try decode(#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4]]}]}"#)
        #expect(flat.inputs[0].tensor == nested.inputs[0].tensor)
        #expect(flat.inputs[0].tensor.floats == [1, 2, 3, 4])
    }

    @Test func idParametersAndRequestedOutputsAreKept() throws {
        let r = try decode(#"{"id":"req-7","parameters":{"k":1},"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[5]}],"outputs":[{"name":"label","parameters":{"binary_data":true}}]}"#)
        #expect(r.id == "req-7")
        #expect(r.parameters["k"] == .number(1))
        #expect(r.outputs == [RequestedOutput(name: "label", parameters: ["binary_data": .bool(true)])])
    }

    @Test("every datatype decodes", arguments: DataType.allCases)
    func everyDatatypeDecodes(_ type: DataType) throws {
        let data: String
        switch type {
        case .bool: data = "[true,false]"
        case .bytes: data = #"["a","b"]"#
        case .fp16, .fp32, .fp64: data = "[1.5,null]"
        default: data = "[1,2]"
        }
        let r = try decode(#"{"inputs":[{"name":"x","shape":[2],"datatype":"\#(type.rawValue)","data":\#(data)}]}"#)
        #expect(r.inputs[0].tensor.dataType == type)
        #expect(r.inputs[0].tensor.count == 2)
        // Round trip through the response encoder and back.
        let body = V2JSONCodec.encodeResponse(InferenceResponse(modelName: "m", outputs: r.inputs))
        let text = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\"outputs\"", with: "\"inputs\"")
        let again = try decode(text)
        if type == .fp16 || type == .fp32 || type == .fp64 {
            #expect(again.inputs[0].tensor.count == 2)
        } else {
            #expect(again.inputs[0].tensor == r.inputs[0].tensor)
        }
    }

    @Test func malformedJSONIsABadRequest() throws {
        let e = try #require(error(#"{"inputs":[{"name":"x""#))
        #expect(e.code == .invalidInput && e.httpStatus == 400)
        #expect(e.message.contains("malformed JSON"))
    }

    @Test func dataLengthMustMatchShape() throws {
        let e = try #require(error(#"{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5]}]}"#))
        #expect(e.message == "input 'x' has 5 data elements, but shape [2,3] needs 6")
    }

    @Test func wrongElementKindsAreNamed() throws {
        let s = try #require(error(#"{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,"seven"]}]}"#))
        #expect(s.message.contains("element 1 is the string \"seven\"") && s.message.contains("FP32"))
        let range = try #require(error(#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT8","data":[300]}]}"#))
        #expect(range.message.contains("INT8"))
        let fraction = try #require(error(#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1.5]}]}"#))
        #expect(fraction.message.contains("element 0"))
    }

    @Test func unknownDatatypeAndMissingFieldsAreNamed() throws {
        #expect(error(#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP128","data":[1]}]}"#)?.message.contains("unknown datatype 'FP128'") == true)
        #expect(error(#"{"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]}"#)?.message.contains("no string 'name'") == true)
        #expect(error(#"{"inputs":[{"name":"x","datatype":"FP32","data":[1]}]}"#)?.message.contains("'shape'") == true)
        #expect(error(#"{"inputs":[{"name":"x","shape":[-1],"datatype":"FP32","data":[1]}]}"#)?.message.contains("negative dimension") == true)
        #expect(error(#"{"inputs":[{"name":"x","shape":[4611686018427387904,4,0],"datatype":"FP32","data":[]}]}"#)?.code == .invalidInput)
        #expect(error(#"{"inputs":[{"name":"x","shape":[3037000500,3037000500,4],"datatype":"FP32","data":[]}]}"#)?.message.contains("too many elements") == true)
        #expect(error(#"{"inputs":[{"name":"x","shape":[1099511627776,2],"datatype":"FP32","data":[1]}]}"#)?.message.contains("too many elements") == true)
        #expect(error(#"{"nothing":1}"#)?.message.contains("no 'inputs' array") == true)
        #expect(error(#"[1,2]"#)?.message.contains("JSON object") == true)
        #expect(error(#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]},{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}"#)?.message.contains("more than once") == true)
    }

    @Test func responseEncodingIsCompactAndOrdered() throws {
        let response = InferenceResponse(
            modelName: "churn", modelVersion: "2", id: "a\"b",
            outputs: [NamedTensor(name: "p", tensor: Tensor(unchecked: [2], data: .fp32([0.25, .nan])))])
        let text = String(decoding: V2JSONCodec.encodeResponse(response), as: UTF8.self)
        #expect(text == #"{"model_name":"churn","model_version":"2","id":"a\"b","outputs":[{"name":"p","datatype":"FP32","shape":[2],"data":[0.25,NaN]}]}"#)
    }

    @Test func pythonNonFiniteTokensAreAcceptedInTensorData() throws {
        let r = try decode(#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[NaN,Infinity],[-Infinity,1.5]]}]}"#)
        let f = try #require(r.inputs[0].tensor.floats)
        #expect(f[0].isNaN && f[1] == .infinity && f[2] == -.infinity && f[3] == 1.5)
        let d = try decode(#"{"inputs":[{"name":"x","shape":[3],"datatype":"FP64","data":[NaN,null,2]}]}"#)
        guard case .fp64(let v) = d.inputs[0].tensor.data else { Issue.record("not FP64"); return }
        #expect(v[0].isNaN && v[1].isNaN && v[2] == 2)
        // Integers have no NaN: the element is named.
        #expect(error(#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[NaN]}]}"#)?.message.contains("element 0 is the number nan") == true)
    }

    @Test func nonFiniteOutputsRoundTripThroughTheWriter() throws {
        let response = InferenceResponse(modelName: "m", outputs: [NamedTensor(name: "x", tensor: Tensor(unchecked: [3], data: .fp64([.nan, .infinity, -.infinity])))])
        let text = String(decoding: V2JSONCodec.encodeResponse(response), as: UTF8.self).replacingOccurrences(of: "\"outputs\"", with: "\"inputs\"")
        guard case .fp64(let v) = try decode(text).inputs[0].tensor.data else { Issue.record("not FP64"); return }
        #expect(v[0].isNaN && v[1] == .infinity && v[2] == -.infinity)
    }

    @Test func shapesBeyondTheRequestLimitsAreRefused() throws {
        let rank = Array(repeating: "1", count: Tensor.maxRank + 1).joined(separator: ",")
        #expect(error(#"{"inputs":[{"name":"x","shape":[\#(rank)],"datatype":"FP32","data":[1]}]}"#)?.message == "input 'x' has 33 dimensions; at most 32 are allowed")
        let big = Tensor.maxElements + 1
        #expect(error(#"{"inputs":[{"name":"x","shape":[\#(big)],"datatype":"FP32","data":[1]}]}"#)?.message.contains("limit \(Tensor.maxElements) per tensor") == true)
        // At the limit the shape itself is fine; only the data count is wrong, and nothing of
        // the declared size was allocated to find that out.
        #expect(error(#"{"inputs":[{"name":"x","shape":[\#(Tensor.maxElements)],"datatype":"FP32","data":[1]}]}"#)?.message == "input 'x' has 1 data elements, but shape [\(Tensor.maxElements)] needs \(Tensor.maxElements)")
    }

    @Test func dataNestedDeeperThanTheShapeIsRefused() throws {
        #expect(error(#"{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[[1],[2]]}]}"#)?.message.contains("nested deeper") == true)
        #expect(error(#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[[[[[1]]]]]}]}"#)?.message.contains("nested deeper") == true)
        // A scalar may come bare or in a one-element list.
        #expect(try decode(#"{"inputs":[{"name":"x","shape":[],"datatype":"INT64","data":7}]}"#).inputs[0].tensor.int64s == [7])
        #expect(try decode(#"{"inputs":[{"name":"x","shape":[],"datatype":"INT64","data":[7]}]}"#).inputs[0].tensor.int64s == [7])
    }

    @Test func packedAndMixedDataDecodeAlike() throws {
        let packed = try decode(#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"INT32","data":[[1,2],[3,4]]}]}"#)
        let mixed = try decode(#"{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,null],[3,"nan"]]}]}"#)
        guard case .int32(let ints) = packed.inputs[0].tensor.data else { Issue.record("not INT32"); return }
        #expect(ints == [1, 2, 3, 4])
        let f = try #require(mixed.inputs[0].tensor.floats)
        #expect(f[0] == 1 && f[1].isNaN && f[2] == 3 && f[3].isNaN)
        #expect(error(#"{"inputs":[{"name":"x","shape":[2],"datatype":"BOOL","data":[1,2]}]}"#)?.message.contains("element 1") == true)
        #expect(error(#"{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":[1]}]}"#)?.message.contains("element 0") == true)
    }
}
