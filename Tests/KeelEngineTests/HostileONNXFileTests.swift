import Foundation
import KeelCore
import Testing
@testable import KeelEngine

/// ONNX files and requests that would make the engine allocate far more than their bytes:
/// refused with a KeelError before the allocation, never a trap.
@Suite struct HostileONNXFileTests {
    func loadError(_ bytes: [UInt8]) -> KeelError? {
        do {
            _ = try ModelLoader().load(ModelArtifact(bytes: bytes, filename: "model.onnx"))
            return nil
        } catch {
            return error
        }
    }

    @Test("constant folding that would exceed the load budget is refused", arguments: [
        HostileModels.onnxConstantOfShape([1 << 26]), HostileModels.onnxConstantOfShape([1 << 40, 1 << 40]),
        HostileModels.onnxExpand([8192, 8192]), HostileModels.onnxExpand([1 << 62, 4, 0]),
    ])
    func foldingBeyondTheBudget(_ bytes: [UInt8]) throws {
        let error = try #require(loadError(bytes))
        #expect(error.code == .invalidModel)
        #expect(error.message.contains("fails on its constant inputs"), "\(error)")
        #expect(error.message.contains("too many elements"), "\(error)")
    }

    @Test func smallConstantFoldingStillLoadsAndRuns() throws {
        let model = try ONNXModel(bytes: HostileModels.onnxConstantOfShape([1, 3]))
        let out = try model.infer(["x": Tensor(shape: [2, 3], data: .fp32([1, 2, 3, 4, 5, 6]))])
        #expect(out["y"]?.floats == [1, 2, 3, 4, 5, 6])
    }

    @Test("floods of empty messages are charged before decoding", arguments: [
        HostileModels.onnxEmptyNodes(1 << 20), HostileModels.onnxEmptyAttributes(1 << 20),
    ])
    func emptyMessageFloods(_ bytes: [UInt8]) throws {
        let error = try #require(loadError(bytes))
        #expect(error.message.contains("load budget"), "\(error)")
    }

    @Test func packedFieldSplitIntoManyChunksIsRefused() throws {
        let error = try #require(loadError(HostileModels.onnxSplitPacked(10_000)))
        #expect(error.message.contains("packed field"), "\(error)")
        // A few chunks are fine (and decode as one array).
        #expect(loadError(HostileModels.onnxSplitPacked(3)) == nil)
    }

    @Test func requestShapeWhoseNonZeroDimensionsAreHugeIsRefused() throws {
        var g: [UInt8] = HostileModels.field(1, HostileModels.onnxNode("Flatten", inputs: ["x"], outputs: ["y"]))
        g += HostileModels.field(2, Array("g".utf8))
        g += HostileModels.field(11, HostileModels.onnxValueInfo("x", dims: [nil, nil, nil]))
        g += HostileModels.field(12, HostileModels.onnxValueInfo("y", dims: [nil, nil]))
        let model = try ONNXModel(bytes: HostileModels.onnxModel(graph: g))
        // Flatten would multiply 2^40 · 2^40 for its inner size.
        let empty = try Tensor(shape: [0, 1 << 40, 1 << 40], data: .fp32([]))
        let error = #expect(throws: KeelError.self) { try model.infer(["x": empty]) }
        #expect(error?.code == .invalidInput)
    }

    @Test func requestDrivenExpandAboveTheLimitIsRefusedBeforeAllocating() throws {
        // y = Expand(x, s) with s from the request: [2^14, 2^14] would be 2^28 elements.
        var g: [UInt8] = HostileModels.field(1, HostileModels.onnxNode("Expand", inputs: ["x", "s"], outputs: ["y"]))
        g += HostileModels.field(2, Array("g".utf8))
        g += HostileModels.field(11, HostileModels.onnxValueInfo("x", dims: [nil, nil]))
        g += HostileModels.field(11, HostileModels.onnxValueInfo("s", elemType: 7, dims: [2]))
        g += HostileModels.field(12, HostileModels.onnxValueInfo("y", dims: [nil, nil]))
        let model = try ONNXModel(bytes: HostileModels.onnxModel(graph: g))
        let x = try Tensor(shape: [1, 1], data: .fp32([1]))
        let big = try Tensor(shape: [2], data: .int64([1 << 14, 1 << 14]))
        let error = #expect(throws: KeelError.self) { try model.infer(["x": x, "s": big]) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("too many elements") == true)
        let small = try model.infer(["x": x, "s": try Tensor(shape: [2], data: .int64([2, 3]))])
        #expect(small["y"]?.shape == [2, 3])
    }

    @Test func requestDrivenBroadcastAboveTheLimitIsRefused() throws {
        // y = x + t, with x [N,1] and t [1,M] both from the request.
        var g: [UInt8] = HostileModels.field(1, HostileModels.onnxNode("Add", inputs: ["x", "t"], outputs: ["y"]))
        g += HostileModels.field(2, Array("g".utf8))
        g += HostileModels.field(11, HostileModels.onnxValueInfo("x", dims: [nil, 1]))
        g += HostileModels.field(11, HostileModels.onnxValueInfo("t", dims: [1, nil]))
        g += HostileModels.field(12, HostileModels.onnxValueInfo("y", dims: [nil, nil]))
        let model = try ONNXModel(bytes: HostileModels.onnxModel(graph: g))
        let n = 1 << 14
        let x = try Tensor(shape: [n, 1], data: .fp32([Float](repeating: 1, count: n)))
        let t = try Tensor(shape: [1, n], data: .fp32([Float](repeating: 1, count: n)))
        let error = #expect(throws: KeelError.self) { try model.infer(["x": x, "t": t]) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("too many elements") == true)
    }

    @Test func bigValidTreeEnsembleLoadsAndRuns() throws {
        let model = try ONNXModel(bytes: HostileModels.onnxTreeEnsemble(trees: 50, leaves: 100))
        let out = try model.infer(["x": Tensor(shape: [1, 3], data: .fp32([0, 0, 0]))])
        #expect(out["y"]?.shape == [1, 1])
    }
}

/// Conversions of request values that used to trap.
@Suite struct HostileONNXValueTests {
    @Test func castOfADoubleJustBelowInt64MinSaturates() throws {
        var g: [UInt8] = HostileModels.field(1, HostileModels.onnxNode(
            "Cast", inputs: ["x"], outputs: ["y"],
            attributes: [HostileModels.field(1, Array("to".utf8)) + HostileModels.intField(3, 7) + HostileModels.intField(20, 2)]))
        g += HostileModels.field(2, Array("g".utf8))
        g += HostileModels.field(11, HostileModels.onnxValueInfo("x", elemType: 11, dims: [nil]))
        g += HostileModels.field(12, HostileModels.onnxValueInfo("y", elemType: 7, dims: [nil]))
        let model = try ONNXModel(bytes: HostileModels.onnxModel(graph: g))
        let out = try model.infer(["x": Tensor(shape: [3], data: .fp64([-9.25e18, .nan, 42.9]))])
        #expect(out["y"]?.int64s == [Int64.min, Int64.min, 42])
    }
}

/// Slice steps from a request that overflowed the output-size arithmetic.
@Suite struct HostileSliceTests {
    @Test("extreme slice steps give the right sizes instead of trapping", arguments: [
        (Int64.max, 1), (Int64.min, 1), (Int64.min + 1, 1), (Int64(2), 2),
    ] as [(Int64, Int)])
    func extremeSteps(_ step: Int64, _ expected: Int) throws {
        var g: [UInt8] = HostileModels.field(1, HostileModels.onnxNode("Slice", inputs: ["x", "b", "e", "a", "s"], outputs: ["y"]))
        g += HostileModels.field(2, Array("g".utf8))
        g += HostileModels.field(11, HostileModels.onnxValueInfo("x", dims: [nil]))
        for name in ["b", "e", "a", "s"] { g += HostileModels.field(11, HostileModels.onnxValueInfo(name, elemType: 7, dims: [1])) }
        g += HostileModels.field(12, HostileModels.onnxValueInfo("y", dims: [nil]))
        let model = try ONNXModel(bytes: HostileModels.onnxModel(graph: g))
        let forward = step > 0
        let out = try model.infer([
            "x": Tensor(shape: [4], data: .fp32([1, 2, 3, 4])),
            "b": Tensor(shape: [1], data: .int64([forward ? 0 : 3])),
            "e": Tensor(shape: [1], data: .int64([forward ? 4 : -5])),
            "a": Tensor(shape: [1], data: .int64([0])),
            "s": Tensor(shape: [1], data: .int64([step])),
        ])
        #expect(out["y"]?.shape == [expected])
    }
}
