import Foundation
import KeelCore
@testable import KeelEngine

/// The committed ONNX fixtures (Tests/Fixtures/onnx/<case>/model.onnx + reference.json).
enum ONNXFixtures {
    static let directory = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/onnx")

    static func cases() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter {
            FileManager.default.fileExists(atPath: directory.appendingPathComponent("\($0)/reference.json").path)
        }.sorted()
    }

    static func modelBytes(_ name: String) throws -> [UInt8] {
        try Fixtures.bytes(directory.appendingPathComponent("\(name)/model.onnx"))
    }
}

/// One ONNX fixture: named input tensors and ONNX Runtime's named outputs.
struct ONNXReferenceCase {
    let inputs: [String: Tensor]
    let outputs: [String: Tensor]
    let classLabels: [String]?
    let zipMapOutputs: [String]

    init(name: String) throws {
        let url = ONNXFixtures.directory.appendingPathComponent("\(name)/reference.json")
        let doc = try JSONParser.parse(Fixtures.bytes(url))
        func tensors(_ key: String) throws -> [String: Tensor] {
            var out: [String: Tensor] = [:]
            for (name, value) in doc[key]?.objectValue ?? [:] { out[name] = try Self.tensor(value) }
            return out
        }
        inputs = try tensors("inputs")
        outputs = try tensors("outputs")
        classLabels = doc["class_labels"]?.arrayValue?.compactMap(\.stringValue)
        zipMapOutputs = doc["zip_map_outputs"]?.arrayValue?.compactMap(\.stringValue)
            ?? doc["zipmap_outputs"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// `{"datatype", "shape", "data"}` with null = NaN and "inf"/"-inf" strings.
    static func tensor(_ v: JSONValue) throws -> Tensor {
        guard let type = v["datatype"]?.stringValue.flatMap(DataType.init(v2Name:)),
              let shape = v["shape"]?.intsValue, let items = v["data"]?.arrayValue else {
            throw KeelError.invalidInput("malformed tensor in reference.json")
        }
        func real(_ j: JSONValue) -> Double {
            switch j {
            case .null: return .nan
            case .string(let s): return s == "inf" ? .infinity : (s == "-inf" ? -.infinity : .nan)
            default: return j.doubleValue ?? .nan
            }
        }
        let data: TensorData
        switch type {
        case .fp32: data = .fp32(items.map { Float(real($0)) })
        case .fp64: data = .fp64(items.map(real))
        case .int64: data = .int64(items.map { Int64(exactly: real($0)) ?? (real($0) < 0 ? .min : .max) })
        case .int32: data = .int32(items.map { Int32(real($0)) })
        case .bool: data = .bool(items.map { if case .bool(let b) = $0 { return b }; return real($0) != 0 })
        case .bytes: data = .bytes(items.map { Array(($0.stringValue ?? "").utf8) })
        default: throw KeelError.invalidInput("unexpected datatype \(type.rawValue) in reference.json")
        }
        return try Tensor(shape: shape, data: data)
    }
}

/// Compares a Keel output with a reference tensor: shape and type exactly, floats within
/// rtol 1e-5 / atol 1e-6, everything else exactly. Returns a description of the first problems.
func compareTensors(_ actual: Tensor, _ expected: Tensor) -> String? {
    guard actual.shape == expected.shape else {
        return "shape \(Tensor.describe(actual.shape)) != expected \(Tensor.describe(expected.shape))"
    }
    guard actual.dataType == expected.dataType else {
        return "datatype \(actual.dataType.rawValue) != expected \(expected.dataType.rawValue)"
    }
    switch (actual.data, expected.data) {
    case (.fp32, .fp32), (.fp64, .fp64):
        let width = max(expected.shape.last ?? 1, 1)
        let a = actual.data.doubles ?? [], b = expected.data.doubles ?? []
        // Equal values (infinities included) always match; the rest use the shared tolerance.
        let bad = a.indices.filter { a[$0] != b[$0] && !close(a[$0], b[$0]) }
        guard !bad.isEmpty else { return nil }
        let first = bad.prefix(5).map { "row \($0 / width) col \($0 % width): got \(a[$0]), expected \(b[$0])" }
        return "\(bad.count) mismatches; first: " + first.joined(separator: "; ")
    case (.bytes(let a), .bytes(let b)):
        guard let i = a.indices.first(where: { a[$0] != b[$0] }) else { return nil }
        return "element \(i): '\(String(decoding: a[i], as: UTF8.self))' != expected '\(String(decoding: b[i], as: UTF8.self))'"
    default:
        guard actual.data != expected.data else { return nil }
        let a = actual.data.doubles ?? [], b = expected.data.doubles ?? []
        let i = a.indices.first { a[$0] != b[$0] } ?? 0
        return "element \(i): \(i < a.count ? a[i] : .nan) != expected \(i < b.count ? b[i] : .nan)"
    }
}
