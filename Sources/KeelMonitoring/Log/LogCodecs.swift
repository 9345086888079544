import Foundation
import KeelCore

/// The compact forms of logged inputs: a raw record's schema fields in schema order
/// (`features`), and one row of the model's FP32 input (`encoded`), each base64 text.
public enum LogCodecs {
    // features: per field a tag byte — 0 missing, 1 a little-endian Float64, 2 a UTF-8 string
    // (a 4-byte little-endian length, then the bytes).

    public static func packFeatures(_ record: [String: JSONValue], schema: FeatureSchema) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(schema.fields.count * 9)
        for field in schema.fields {
            let value = record[field.name]
            switch field.kind {
            case .number, .integer:
                if case .number(let d)? = value, d.isFinite {
                    out.append(1)
                    withUnsafeBytes(of: d.bitPattern.littleEndian) { out.append(contentsOf: $0) }
                } else {
                    out.append(0)
                }
            case .string, .indicator, .oneHot:
                if let v = value, let s = DriftColumns.category(v) {
                    let bytes = Array(s.utf8.prefix(1 << 16))
                    out.append(2)
                    withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { out.append(contentsOf: $0) }
                    out.append(contentsOf: bytes)
                } else {
                    out.append(0)
                }
            }
        }
        return Data(out).base64EncodedString()
    }

    /// One value per schema field (nil: missing), or nil when the text does not decode.
    public static func unpackFeatures(_ text: String, fieldCount: Int) -> [FeatureValue?]? {
        guard let data = Data(base64Encoded: text) else { return nil }
        let bytes = [UInt8](data)
        var out: [FeatureValue?] = []
        out.reserveCapacity(fieldCount)
        var i = 0
        while out.count < fieldCount {
            guard i < bytes.count else { return nil }
            let tag = bytes[i]
            i += 1
            switch tag {
            case 0:
                out.append(nil)
            case 1:
                guard i + 8 <= bytes.count else { return nil }
                var bits: UInt64 = 0
                for k in 0..<8 { bits |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
                out.append(.number(Double(bitPattern: bits)))
                i += 8
            case 2:
                guard i + 4 <= bytes.count else { return nil }
                var n = 0
                for k in 0..<4 { n |= Int(bytes[i + k]) << (8 * k) }
                i += 4
                guard n >= 0, i + n <= bytes.count else { return nil }
                out.append(.category(String(decoding: bytes[i..<(i + n)], as: UTF8.self)))
                i += n
            default:
                return nil
            }
        }
        return out
    }

    public static func packFloats<C: Collection>(_ values: C) -> String where C.Element == Float {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        return Data(out).base64EncodedString()
    }

    public static func unpackFloats(_ text: String) -> [Float]? {
        guard let data = Data(base64Encoded: text), data.count % 4 == 0 else { return nil }
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}

/// One raw field value of a logged record.
public enum FeatureValue: Sendable, Equatable {
    case number(Double)
    case category(String)
}
