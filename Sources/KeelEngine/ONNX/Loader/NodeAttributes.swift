import Foundation
import KeelCore

/// A node's attributes by name, with typed getters whose errors name the node, the attribute
/// and the expected form.
struct NodeAttributes {
    private let byName: [String: ONNXAttributeProto]
    private let owner: String

    init(_ node: ONNXNodeProto, label: String) throws(KeelError) {
        var map: [String: ONNXAttributeProto] = [:]
        for a in node.attribute {
            if !a.refAttrName.isEmpty {
                throw .unsupported("\(label): attribute '\(a.name)' refers to a function attribute; only main-graph nodes are supported")
            }
            map[a.name] = a
        }
        byName = map
        owner = label
    }

    /// An empty attribute set (for synthetic nodes in tests).
    init(label: String) {
        byName = [:]
        owner = label
    }

    var names: [String] { byName.keys.sorted() }
    func has(_ name: String) -> Bool { byName[name] != nil }

    private func get(_ name: String, _ type: ONNXAttributeProto.AttributeType) throws(KeelError) -> ONNXAttributeProto? {
        guard let a = byName[name] else { return nil }
        // Old exporters leave `type` unset; then the populated field decides.
        if a.hasType, a.type != type, a.type != .undefined {
            throw .invalidModel("\(owner): attribute '\(name)' has type \(a.type), expected \(type)")
        }
        return a
    }

    func int(_ name: String) throws(KeelError) -> Int? {
        guard let a = try get(name, .int) else { return nil }
        guard let v = Int(exactly: a.i) else { throw .invalidModel("\(owner): attribute '\(name)' is out of range") }
        return v
    }

    func int(_ name: String, default value: Int) throws(KeelError) -> Int {
        try int(name) ?? value
    }

    func float(_ name: String) throws(KeelError) -> Float? {
        try get(name, .float)?.f
    }

    func float(_ name: String, default value: Float) throws(KeelError) -> Float {
        try float(name) ?? value
    }

    func string(_ name: String) throws(KeelError) -> String? {
        guard let a = try get(name, .string) else { return nil }
        return String(decoding: a.s, as: UTF8.self)
    }

    func string(_ name: String, default value: String) throws(KeelError) -> String {
        try string(name) ?? value
    }

    func ints(_ name: String) throws(KeelError) -> [Int]? {
        guard let a = try get(name, .ints) else { return nil }
        var out = [Int]()
        out.reserveCapacity(a.ints.count)
        for v in a.ints {
            guard let i = Int(exactly: v) else { throw .invalidModel("\(owner): attribute '\(name)' has an out-of-range value") }
            out.append(i)
        }
        return out
    }

    func int64s(_ name: String) throws(KeelError) -> [Int64]? {
        try get(name, .ints)?.ints
    }

    func floats(_ name: String) throws(KeelError) -> [Float]? {
        try get(name, .floats)?.floats
    }

    func strings(_ name: String) throws(KeelError) -> [[UInt8]]? {
        guard let a = try get(name, .strings) else { return nil }
        return a.strings.map { [UInt8]($0) }
    }

    func tensor(_ name: String) throws(KeelError) -> Tensor? {
        guard let a = try get(name, .tensor) else { return nil }
        return try TensorDecoder.decode(a.t, what: "\(owner) attribute '\(name)'")
    }

    /// A float list given either as `name` (FLOATS) or `name_as_tensor` (a TENSOR, possibly
    /// double): ONNX-ML's two spellings of the same attribute. Doubles are kept exact.
    func reals(_ name: String) throws(KeelError) -> [Double]? {
        if let t = try tensor(name + "_as_tensor") {
            if has(name) {
                throw .invalidModel("\(owner): attributes '\(name)' and '\(name)_as_tensor' are both set; set one")
            }
            guard let d = t.data.doubles, t.dataType == .fp32 || t.dataType == .fp64 else {
                throw .invalidModel("\(owner): attribute '\(name)_as_tensor' must be a FLOAT or DOUBLE tensor")
            }
            return d
        }
        return try floats(name)?.map(Double.init)
    }

    /// Whether `name_as_tensor` holds DOUBLE values (ONNX Runtime then keeps double thresholds
    /// for double inputs).
    func isDoubleTensor(_ name: String) -> Bool {
        guard let a = byName[name + "_as_tensor"] else { return false }
        return a.t.dataType == 11
    }
}
