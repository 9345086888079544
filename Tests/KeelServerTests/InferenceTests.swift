import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelServing
import Testing
@testable import KeelServer

/// POST …/infer: JSON and binary tensors, every datatype, output selection, error paths.
@Suite struct InferenceTests {
    static let sampleRequest = TestServer.models.appendingPathComponent("churn/sample_request.json")

    @Test func churnInferenceMatchesTheReference() async throws {
        let manager = try await TestServer.manager()
        try await TestServer.app(manager).test(.router) { client in
            let r = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: try TestServer.bytes(Self.sampleRequest))
            #expect(r.status == .ok)
            let out = try TestServer.json(r)
            #expect(out["model_name"] == "churn")
            #expect(out["model_version"] == "1")
            let probs = try #require(out["outputs"]?.arrayValue?.first?["data"]?.doublesValue)
            #expect(probs.count == 6)
            #expect(abs(probs[1] - 0.06352429) < 1e-6 && abs(probs[5] - 0.75094116) < 1e-6)
        }
    }

    @Test func idIsEchoedAndOutputsCanBeSelected() async throws {
        let manager = try await TestServer.manager()
        try await TestServer.app(manager).test(.router) { client in
            let body = #"{"id":"r-1","inputs":[{"name":"input","shape":[1,22],"datatype":"FP32","data":[[40,1,50000,12,70,840,1,0,1,0,0,0,0,0,1,0,0,1,1,0,0,0]]}],"outputs":[{"name":"label"}]}"#
            let out = try TestServer.json(try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: TestServer.body(body)))
            #expect(out["id"] == "r-1")
            #expect(out["outputs"]?.arrayValue?.map { $0["name"] } == ["label"])
            let unknown = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: TestServer.body(body.replacingOccurrences(of: #"{"name":"label"}"#, with: #"{"name":"nope"}"#)))
            #expect(unknown.status == .badRequest)
            #expect(try TestServer.json(unknown)["error"]?.stringValue?.contains("unknown output 'nope'") == true)
        }
    }

    @Test("every datatype round-trips over JSON", arguments: DataType.allCases)
    func everyDatatypeOverJSON(_ type: DataType) async throws {
        let manager = try await TestServer.manager(repository: nil)
        try await manager.add(name: "echo", version: "1", model: EchoModel(types: [type]))
        let data: String
        switch type {
        case .bool: data = "[[true,false],[false,true]]"
        case .bytes: data = #"[["a","é"],["",  "z"]]"#
        case .fp16, .fp32, .fp64: data = "[[1.5,-2],[0.25,1e3]]"
        case .int8, .int16, .int32, .int64: data = "[[1,-2],[3,-4]]"
        default: data = "[[1,2],[3,4]]"
        }
        let name = "x_\(type.rawValue.lowercased())"
        let body = #"{"inputs":[{"name":"\#(name)","shape":[2,2],"datatype":"\#(type.rawValue)","data":\#(data)}]}"#
        try await TestServer.app(manager).test(.router) { client in
            let r = try await client.execute(uri: "/v2/models/echo/infer", method: .post, body: TestServer.body(body))
            #expect(r.status == .ok)
            let out = try TestServer.json(r)
            let output = try #require(out["outputs"]?.arrayValue?.first)
            #expect(output["datatype"] == .string(type.rawValue))
            #expect(output["shape"] == .array([2, 2]))
            let input = try JSONParser.parse(Array(body.utf8))["inputs"]?.arrayValue?.first?["data"]
            let flat = input?.arrayValue?.flatMap { $0.arrayValue ?? [] }
            #expect(output["data"]?.arrayValue == flat)
        }
    }

    /// Builds a binary-extension request body for one input.
    static func binaryRequest(name: String, type: DataType, shape: [Int], data: [UInt8], binaryOutput: Bool) -> (ByteBuffer, Int) {
        let header = #"{"inputs":[{"name":"\#(name)","shape":[\#(shape.map(String.init).joined(separator: ","))],"datatype":"\#(type.rawValue)","parameters":{"binary_data_size":\#(data.count)}}],"parameters":{"binary_data_output":\#(binaryOutput)}}"#
        return (ByteBuffer(bytes: Array(header.utf8) + data), header.utf8.count)
    }

    @Test("every datatype round-trips over the binary extension", arguments: DataType.allCases)
    func everyDatatypeOverBinary(_ type: DataType) async throws {
        let manager = try await TestServer.manager(repository: nil)
        try await manager.add(name: "echo", version: "1", model: EchoModel(types: [type]))
        let tensorData: TensorData
        switch type {
        case .bool: tensorData = .bool([true, false, false, true])
        case .int8: tensorData = .int8([1, -2, 3, -4])
        case .int16: tensorData = .int16([1, -2, 300, -4])
        case .int32: tensorData = .int32([1, -2, 70000, -4])
        case .int64: tensorData = .int64([1, -2, 1 << 40, -4])
        case .uint8: tensorData = .uint8([1, 2, 255, 4])
        case .uint16: tensorData = .uint16([1, 2, 65535, 4])
        case .uint32: tensorData = .uint32([1, 2, 1 << 31, 4])
        case .uint64: tensorData = .uint64([1, 2, 1 << 63, 4])
        case .fp16: tensorData = .fp16([0x3C00, 0xC000, 0x3400, 0x7BFF])
        case .fp32: tensorData = .fp32([1.5, -2, .nan, 3e38])
        case .fp64: tensorData = .fp64([1.5, -2, 1e300, 0.1])
        case .bytes: tensorData = .bytes([Array("a".utf8), [], Array("é".utf8), [0, 1, 2]])
        }
        let raw = V2BinaryCodec.encodeData(tensorData)
        let (body, headerLength) = Self.binaryRequest(name: "x_\(type.rawValue.lowercased())", type: type, shape: [2, 2], data: raw, binaryOutput: true)
        try await TestServer.app(manager).test(.router) { client in
            let r = try await client.execute(
                uri: "/v2/models/echo/infer", method: .post,
                headers: [InferenceRoutes.headerLength: String(headerLength)], body: body)
            #expect(r.status == .ok)
            let length = try #require(r.headers[InferenceRoutes.headerLength].flatMap { Int($0) })
            let bytes = Array(buffer: r.body)
            let header = try JSONParser.parse(Array(bytes[0..<length]))
            let output = try #require(header["outputs"]?.arrayValue?.first)
            #expect(output["parameters"]?["binary_data_size"]?.intValue == raw.count)
            #expect(output["data"] == nil)
            #expect(Array(bytes[length...]) == raw)
        }
    }

    @Test func binaryInputWithJSONOutput() async throws {
        let manager = try await TestServer.manager()
        let rows = try V2JSONCodec.decodeRequest(Array(try Data(contentsOf: Self.sampleRequest))).inputs[0].tensor
        let raw = V2BinaryCodec.encodeData(rows.data)
        let (body, headerLength) = Self.binaryRequest(name: "input", type: .fp32, shape: [3, 22], data: raw, binaryOutput: false)
        try await TestServer.app(manager).test(.router) { client in
            let r = try await client.execute(
                uri: "/v2/models/churn/infer", method: .post,
                headers: [InferenceRoutes.headerLength: String(headerLength)], body: body)
            #expect(r.status == .ok)
            #expect(r.headers[InferenceRoutes.headerLength] == nil)
            let probs = try TestServer.json(r)["outputs"]?.arrayValue?.first?["data"]?.doublesValue
            #expect(probs.map { abs($0[5] - 0.75094116) < 1e-6 } == true)
        }
    }

    func expectError(_ client: some TestClientProtocol, _ path: String, _ body: String, _ status: HTTPResponse.Status, _ fragment: String) async throws {
        let r = try await client.execute(uri: path, method: .post, body: TestServer.body(body))
        #expect(r.status == status, "\(body)")
        let message = try TestServer.json(r)["error"]?.stringValue ?? ""
        #expect(message.contains(fragment), "got '\(message)', wanted '\(fragment)'")
    }

    @Test func badRequestsGetClearErrors() async throws {
        let manager = try await TestServer.manager()
        let p = "/v2/models/churn/infer"
        try await TestServer.app(manager).test(.router) { client in
            try await expectError(client, p, #"{"inputs":[{"name":"input""#, .badRequest, "malformed JSON")
            try await expectError(client, p, #"{"inputs":[{"name":"input","shape":[1,22],"datatype":"FP64","data":[\#(Array(repeating: "0", count: 22).joined(separator: ","))]}]}"#, .badRequest, "datatype FP64, model expects FP32")
            try await expectError(client, p, #"{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"#, .badRequest, "shape [1,3], model expects [-1,22]")
            try await expectError(client, p, #"{"inputs":[{"name":"input","shape":[1,22],"datatype":"FP32","data":[1,2,3]}]}"#, .badRequest, "3 data elements, but shape [1,22] needs 22")
            try await expectError(client, p, #"{"inputs":[{"name":"features","shape":[1,1],"datatype":"FP32","data":[1]}]}"#, .badRequest, "unknown input 'features'")
            try await expectError(client, p, #"{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":["a","b"]}]}"#, .badRequest, "element 0 is the string \"a\"")
            try await expectError(client, "/v2/models/ghost/infer", #"{"inputs":[]}"#, .notFound, "unknown model 'ghost'")
            let r = try await client.execute(uri: p, method: .post, headers: [InferenceRoutes.headerLength: "99999"], body: TestServer.body("{}"))
            #expect(r.status == .badRequest)
        }
    }

    @Test func oversizedBodyIs413AndChangesNothing() async throws {
        let manager = try await TestServer.manager()
        try await TestServer.app(manager, maxBodyBytes: 1000).test(.router) { client in
            let big = #"{"inputs":[{"name":"input","shape":[1,22],"datatype":"FP32","data":[\#(Array(repeating: "0.000000000001", count: 300).joined(separator: ","))]}]}"#
            let r = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: TestServer.body(big))
            #expect(r.status == .contentTooLarge)
            #expect(try TestServer.json(r)["error"]?.stringValue?.contains("exceeds the limit of 1000 bytes") == true)
            // The model still serves.
            let ok = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: try TestServer.bytes(Self.sampleRequest))
            #expect(ok.status == .ok)
        }
    }

    @Test func metricsExposeInferenceAndHTTPSeries() async throws {
        let manager = try await TestServer.manager()
        try await TestServer.app(manager).test(.router) { client in
            _ = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: try TestServer.bytes(Self.sampleRequest))
            _ = try await client.execute(uri: "/v2/models/churn/infer", method: .post, body: TestServer.body("{"))
            let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(text.contains(#"keel_inference_requests_total{model="churn",version="1",status="success",reason=""} 1"#))
            #expect(text.contains(#"keel_inference_rows_total{model="churn",version="1"} 3"#))
            #expect(text.contains("keel_inference_compute_duration_seconds_bucket"))
            #expect(text.contains("keel_inference_batch_size_bucket"))
            #expect(text.contains(#"keel_model_load_seconds{model="churn",version="1"}"#))
            #expect(text.contains(#"keel_http_requests_total{route="/v2/models/{model}/infer",method="POST",status="400"} 1"#))
            #expect(text.contains("keel_inference_in_flight"))
        }
    }
}
