import Foundation
/// A plain YAML value as `SafeYAML` produces it: scalars resolved by the YAML 1.2 core
/// schema, mappings keyed by their scalar keys' text.
public indirect enum YAMLValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case sequence([YAMLValue])
    case mapping([String: YAMLValue])

    /// What kind of value this is, for error messages (`an integer`, `a list`, …).
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// Resolves an untagged plain scalar: null, booleans, integers (decimal, 0x, 0o), floats
    /// (incl. .inf/.nan); anything else is a string. `yes`/`no`/`on`/`off` stay strings.
    static func resolvePlain(_ text: String) -> YAMLValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        let u = Array(text.utf8)
        var i = 0
        if u[0] == UInt8(ascii: "-") || u[0] == UInt8(ascii: "+") { i = 1 }
        let body = u[i...]
        if body.count > 2, body.first == UInt8(ascii: "0"), i == 0 {
            let radix: Int? = body[body.startIndex + 1] == UInt8(ascii: "x") ? 16 : body[body.startIndex + 1] == UInt8(ascii: "o") ? 8 : nil
            if let radix, let v = Int(String(decoding: body.dropFirst(2), as: UTF8.self), radix: radix) { return .int(v) }
        }
        if !body.isEmpty, body.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            if let v = Int(text) { return .int(v) }
            return Double(text).map { .double($0) } ?? .string(text)  // too long for Int: a number still
        }
        if isFloat(body), let d = Double(text) { return .double(d) }
        return .string(text)
    }

    /// `( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
    private static func isFloat(_ u: ArraySlice<UInt8>) -> Bool {
        var k = u.startIndex
        func digits() -> Int {
            let s = k
            while k < u.endIndex, u[k] >= 0x30, u[k] <= 0x39 { k += 1 }
            return k - s
        }
        let whole = digits()
        if k < u.endIndex, u[k] == UInt8(ascii: ".") {
            k += 1
            let fraction = digits()
            if whole == 0, fraction == 0 { return false }
        } else if whole == 0 {
            return false
        }
        if k < u.endIndex, u[k] == UInt8(ascii: "e") || u[k] == UInt8(ascii: "E") {
            k += 1
            if k < u.endIndex, u[k] == UInt8(ascii: "-") || u[k] == UInt8(ascii: "+") { k += 1 }
            if digits() == 0 { return false }
        }
        return k == u.endIndex
    }
}

extension YAMLValue {
    /// The value as plain Swift values (`String`, `Int`, `Double`, `Bool`, arrays, dictionaries,
    /// `NSNull` for null), for readers that take untyped settings.
    public var plainValue: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return i
        case .double(let d): return d
        case .string(let s): return s
        case .sequence(let a): return a.map(\.plainValue)
        case .mapping(let m): return m.mapValues(\.plainValue)
        }
    }
}
