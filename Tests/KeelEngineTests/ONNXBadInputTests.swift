import Foundation
import KeelCore
import SwiftProtobuf
import Testing
@testable import KeelEngine

/// Bad models and bad requests give a `KeelError` that names what is wrong and what was
/// expected — never a crash.
@Suite struct ONNXBadInputTests {
    /// A one-node model built with the generated protobuf types.
    static func model(
        nodes: [ONNXNodeProto], opsets: [String: Int64] = ["": 17], initializers: [ONNXTensorProto] = [],
        inputType: Int32 = 1
    ) throws -> [UInt8] {
        var m = ONNXModelProto()
        m.irVersion = 8
        m.opsetImport = opsets.map { var o = ONNXOperatorSetIdProto(); o.domain = $0.key; o.version = $0.value; return o }
        var g = ONNXGraphProto()
        g.node = nodes
        g.initializer = initializers
        func info(_ name: String, _ type: Int32) -> ONNXValueInfoProto {
            var v = ONNXValueInfoProto()
            v.name = name
            var t = ONNXTypeProto.Tensor()
            t.elemType = type
            var shape = ONNXTensorShapeProto()
            var d0 = ONNXTensorShapeProto.Dimension(); d0.dimParam = "N"
            var d1 = ONNXTensorShapeProto.Dimension(); d1.dimValue = 3
            shape.dim = [d0, d1]
            t.shape = shape
            v.type.tensorType = t
            return v
        }
        g.input = [info("x", inputType)]
        g.output = [info("y", 1)]
        m.graph = g
        return try m.serializedBytes()
    }

    static func node(_ op: String, domain: String = "", inputs: [String] = ["x"], outputs: [String] = ["y"]) -> ONNXNodeProto {
        var n = ONNXNodeProto()
        n.opType = op
        n.domain = domain
        n.input = inputs
        n.output = outputs
        n.name = op.lowercased()
        return n
    }

    static func load(_ bytes: [UInt8]) -> KeelError? {
        do {
            _ = try ModelLoader().load(ModelArtifact(bytes: bytes, filename: "model.onnx"))
            return nil
        } catch {
            return error as? KeelError
        }
    }

    @Test func truncatedModelIsRejected() throws {
        let bytes = try ONNXFixtures.modelBytes("sk_rf_clf")
        for cut in [bytes.count / 2, bytes.count - 3, 40, 3] {
            let error = try #require(Self.load(Array(bytes.prefix(cut))), "cut at \(cut)")
            #expect(error.code == .invalidModel, "cut at \(cut): \(error)")
        }
        let error = try #require(Self.load(Array(bytes.prefix(bytes.count / 2))))
        #expect(error.message.contains("truncated or malformed") || error.message.contains("not produced"))
    }

    @Test func nonONNXBytesAreRejected() throws {
        let garbage: [UInt8] = [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x42]
        let error = try #require(Self.load(garbage))
        #expect(error.code == .invalidModel)
        #expect(error.message.contains("ModelProto"))
        let text = Array("hello, this is not a model".utf8)
        let e2 = try #require(Self.load(text))
        #expect(e2.code == .invalidModel)
        #expect(e2.message.contains("ONNX"))
        #expect(throws: KeelError.self) { try ONNXModel(bytes: []) }
    }

    @Test func everyUnsupportedOpIsListedWithDomainAndOpset() throws {
        let bytes = try Self.model(
            nodes: [Self.node("Einsum", outputs: ["a"]), Self.node("FancyOp", domain: "com.example", inputs: ["a"], outputs: ["b"]),
                    Self.node("Einsum", inputs: ["b"], outputs: ["y"])],
            opsets: ["": 17, "com.example": 1])
        let error = try #require(Self.load(bytes))
        #expect(error.code == .unsupported)
        #expect(error.message.contains("2 operators"))
        #expect(error.message.contains("Einsum (domain 'ai.onnx', opset 17)"))
        #expect(error.message.contains("FancyOp (domain 'com.example', opset 1)"))
    }

    @Test func opFromAnUnimportedDomainIsNamed() throws {
        let bytes = try Self.model(nodes: [Self.node("Scaler", domain: "ai.onnx.ml")])
        let error = try #require(Self.load(bytes))
        #expect(error.code == .unsupported)
        #expect(error.message.contains("Scaler (domain 'ai.onnx.ml', which the model does not import)"))
    }

    @Test func externalDataIsRefused() throws {
        var w = ONNXTensorProto()
        w.name = "w"
        w.dataType = 1
        w.dims = [3]
        w.dataLocation = .external
        var location = ONNXStringStringEntryProto()
        location.key = "location"
        location.value = "weights.bin"
        w.externalData = [location]
        let bytes = try Self.model(nodes: [Self.node("Add", inputs: ["x", "w"])], initializers: [w])
        let error = try #require(Self.load(bytes))
        #expect(error.code == .unsupported)
        #expect(error.message.contains("external file ('weights.bin')"))
        #expect(error.message.contains("save_as_external_data=False"))
    }

    @Test func initializerWithTooFewBytesIsRejected() throws {
        var w = ONNXTensorProto()
        w.name = "w"
        w.dataType = 1
        w.dims = [3]
        w.rawData = Data([0, 0, 128])
        let error = try #require(Self.load(try Self.model(nodes: [Self.node("Add", inputs: ["x", "w"])], initializers: [w])))
        #expect(error.code == .invalidModel)
        #expect(error.message.contains("initializer 'w' needs 12 bytes"))
    }

    @Test func hostileInitializerShapeIsAnErrorNotATrap() throws {
        var w = ONNXTensorProto()
        w.name = "w"
        w.dataType = 1
        w.dims = [Int64.max / 2, 4, 0]
        let error = try #require(Self.load(try Self.model(nodes: [Self.node("Add", inputs: ["x", "w"])], initializers: [w])))
        #expect(error.code == .invalidModel)
    }

    @Test func unknownValueReferenceIsNamed() throws {
        let error = try #require(Self.load(try Self.model(nodes: [Self.node("Add", inputs: ["x", "ghost"])])))
        #expect(error.code == .invalidModel)
        #expect(error.message.contains("'ghost'"))
    }

    @Test func wrongInputNameTypeAndShapeAreNamed() throws {
        let model = try ONNXModel(bytes: ONNXFixtures.modelBytes("sk_rf_reg"))
        let good = Tensor(unchecked: [2, 6], data: .fp32(Array(repeating: 0.5, count: 12)))
        #expect(try model.infer(["X": good])["variable"]?.shape == [2, 1])

        let missing = #expect(throws: KeelError.self) { try model.infer(["features": good]) }
        #expect(missing?.message.contains("missing input 'X'") == true)
        #expect(missing?.message.contains("FP32 [-1,6]") == true)

        let extra = #expect(throws: KeelError.self) { try model.infer(["X": good, "Y": good]) }
        #expect(extra?.message.contains("unknown input 'Y'") == true)

        let wrongShape = Tensor(unchecked: [2, 5], data: .fp32(Array(repeating: 0, count: 10)))
        let shape = #expect(throws: KeelError.self) { try model.infer(["X": wrongShape]) }
        #expect(shape?.message == "input 'X' has shape [2,5], model expects [-1,6]")

        let doubles = Tensor(unchecked: [2, 6], data: .fp64(Array(repeating: 0, count: 12)))
        let type = #expect(throws: KeelError.self) { try model.infer(["X": doubles]) }
        #expect(type?.message == "input 'X' has datatype FP64, model expects FP32")
    }

    @Test func stringWhereAFloatIsExpectedIsNamed() throws {
        let model = try ONNXModel(bytes: ONNXFixtures.modelBytes("sk_pipeline_lr"))
        let reference = try ONNXReferenceCase(name: "sk_pipeline_lr")
        var inputs = reference.inputs
        let rows = inputs["age"]?.shape[0] ?? 1
        inputs["age"] = Tensor(unchecked: [rows, 1], data: .bytes(Array(repeating: Array("forty".utf8), count: rows)))
        let error = #expect(throws: KeelError.self) { try model.infer(inputs) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message == "input 'age' has datatype BYTES, model expects FP32")
        #expect(error?.httpStatus == 400)
    }

    @Test func runtimeShapeProblemNamesTheNode() throws {
        // Concat of x [N,3] with a constant [1,2] along axis 0 fails only once data arrives.
        var c = ONNXTensorProto()
        c.name = "c"
        c.dataType = 1
        c.dims = [1, 2]
        c.floatData = [1, 2]
        var concat = Self.node("Concat", inputs: ["x", "c"])
        var axis = ONNXAttributeProto()
        axis.name = "axis"
        axis.type = .int
        axis.i = 0
        concat.attribute = [axis]
        let model = try ONNXModel(bytes: try Self.model(nodes: [concat], initializers: [c]))
        let x = Tensor(unchecked: [1, 3], data: .fp32([1, 2, 3]))
        let error = #expect(throws: KeelError.self) { try model.infer(["x": x]) }
        #expect(error?.message.contains("node 'concat' (Concat)") == true)
        #expect(error?.message.contains("differ outside axis 0") == true)
    }

    @Test func concurrentInferCallsAgree() async throws {
        let model = try ONNXModel(bytes: ONNXFixtures.modelBytes("sk_mlp_clf"))
        let reference = try ONNXReferenceCase(name: "sk_mlp_clf")
        let expected = try model.infer(reference.inputs)
        let results = try await withThrowingTaskGroup(of: [String: Tensor].self) { group in
            for _ in 0..<16 { group.addTask { try model.infer(reference.inputs) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 16)
        for r in results { #expect(r == expected) }
    }
}
