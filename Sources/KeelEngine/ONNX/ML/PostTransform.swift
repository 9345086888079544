import Foundation
import KeelCore

/// ONNX-ML score transforms, computed in Float with ONNX Runtime's formulas (its own erfinv
/// approximation for PROBIT, the max-shifted softmax, the zero-skipping softmax).
enum PostTransform: String, Sendable {
    case none = "NONE", logistic = "LOGISTIC", softmax = "SOFTMAX", softmaxZero = "SOFTMAX_ZERO", probit = "PROBIT"

    init(attribute: String, label: String) throws(KeelError) {
        guard let t = PostTransform(rawValue: attribute) else {
            throw .invalidModel("\(label): unknown post_transform '\(attribute)'; expected NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO or PROBIT")
        }
        self = t
    }

    @inline(__always)
    static func logistic(_ x: Float) -> Float {
        let v = 1 / (1 + Foundation.exp(-Swift.abs(x)))
        return x < 0 ? 1 - v : v
    }

    /// ONNX Runtime's ErfInv (Winitzki's approximation with a = 0.147).
    static func erfInv(_ input: Float) -> Float {
        let sign: Float = input < 0 ? -1 : 1
        let x = (1 - input) * (1 + input)
        let lg = Foundation.log(x)
        let v = 2 / (Float.pi * 0.147) + 0.5 * lg
        let v2 = 1 / Float(0.147) * lg
        let v3 = -v + (v * v - v2).squareRoot()
        return sign * v3.squareRoot()
    }

    @inline(__always)
    static func probit(_ x: Float) -> Float {
        Float(2).squareRoot() * erfInv(2 * x - 1)
    }

    static func softmax(_ v: UnsafeMutableBufferPointer<Float>) {
        var top = -Float.greatestFiniteMagnitude
        for x in v where x > top { top = x }
        var sum: Float = 0
        for i in v.indices {
            v[i] = Foundation.exp(v[i] - top)
            sum += v[i]
        }
        for i in v.indices { v[i] /= sum }
    }

    static func softmaxZero(_ v: UnsafeMutableBufferPointer<Float>) {
        var top = -Float.greatestFiniteMagnitude
        for x in v where x > top { top = x }
        let expNegTop = Foundation.exp(-top)
        var sum: Float = 0
        for i in v.indices {
            if v[i] > 0.0000001 || v[i] < -0.0000001 {
                v[i] = Foundation.exp(v[i] - top)
                sum += v[i]
            } else {
                v[i] *= expNegTop
            }
        }
        for i in v.indices { v[i] /= sum }
    }

    /// Applies the transform to one row of two or more scores.
    func apply(row v: UnsafeMutableBufferPointer<Float>) {
        switch self {
        case .none: return
        case .logistic: for i in v.indices { v[i] = Self.logistic(v[i]) }
        case .probit: for i in v.indices { v[i] = Self.probit(v[i]) }
        case .softmax: Self.softmax(v)
        case .softmaxZero: Self.softmaxZero(v)
        }
    }
}

/// Class labels of an ONNX-ML classifier: integers or strings, output as INT64 or BYTES.
enum ClassLabels: Sendable {
    case ints([Int64])
    case strings([[UInt8]])

    /// From `classlabels_ints`/`classlabels_int64s` or `classlabels_strings`.
    init(attributes a: NodeAttributes, intsName: String, label: String) throws(KeelError) {
        if let s = try a.strings("classlabels_strings"), !s.isEmpty {
            self = .strings(s)
        } else if let i = try a.int64s(intsName), !i.isEmpty {
            self = .ints(i)
        } else {
            throw .invalidModel("\(label) lists no class labels (\(intsName) or classlabels_strings)")
        }
    }

    var count: Int {
        switch self {
        case .ints(let v): return v.count
        case .strings(let v): return v.count
        }
    }

    var dataType: DataType {
        if case .strings = self { return .bytes }
        return .int64
    }

    var names: [String] {
        switch self {
        case .ints(let v): return v.map(String.init)
        case .strings(let v): return v.map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// A label tensor from class indices (an index outside the list gives the literal value,
    /// as ONNX Runtime's positive/negative fallback does for integer labels).
    func tensor(indices: [Int], shape: [Int]) -> Tensor {
        switch self {
        case .ints(let v):
            return Tensor(unchecked: shape, data: .int64(indices.map { $0 >= 0 && $0 < v.count ? v[$0] : Int64($0) }))
        case .strings(let v):
            return Tensor(unchecked: shape, data: .bytes(indices.map { $0 >= 0 && $0 < v.count ? v[$0] : Array(String($0).utf8) }))
        }
    }
}
