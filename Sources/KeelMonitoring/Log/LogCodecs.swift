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
        for field in schema.fields { appendField(record[field.name], kind: field.kind, to: &out) }
        return Base64.encode(out)
    }

    /// Appends one field's packed value (tag 0 when missing or not packable); true when the
    /// packing holds the value exactly (so the record need not carry it as an extra).
    @discardableResult
    static func appendField(_ value: JSONValue?, kind: FeatureSchema.Kind, to out: inout [UInt8]) -> Bool {
        switch kind {
        case .number, .integer:
            if case .number(let d)? = value, d.isFinite {
                out.append(1)
                withUnsafeBytes(of: d.bitPattern.littleEndian) { out.append(contentsOf: $0) }
                return true
            }
            out.append(0)
            return value == nil
        case .string, .indicator, .oneHot:
            if let v = value, let s = DriftColumns.category(v) {
                var s = s
                let exact: Bool = s.withUTF8 { utf8 in
                    let n = min(utf8.count, 1 << 16)
                    out.append(2)
                    withUnsafeBytes(of: UInt32(n).littleEndian) { out.append(contentsOf: $0) }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[0..<n]))
                    return n == utf8.count
                }
                if case .string = v { return exact }
                return false
            }
            out.append(0)
            return value == nil
        }
    }

    /// Packs records of one version with buffers kept across rows: each record is walked once
    /// (one hash per key), giving its packed schema fields and, as a JSON object, the keys the
    /// packing does not hold exactly — the same split as `packFeatures` and `extras`.
    public struct RecordPacking {
        let fields: [FeatureSchema.Field]
        let hasSchema: Bool
        /// Field name → index (a schema names each field once).
        let fieldIndex: [String: Int]
        var slots: [JSONValue?]
        var bytes: [UInt8] = []
        var extras = JSONWriter(capacity: 64)
        var first = true

        public init(layout: LogLayout) {
            fields = layout.profile.schema?.fields ?? []
            hasSchema = layout.profile.schema != nil
            fieldIndex = layout.fieldIndex
            slots = [JSONValue?](repeating: nil, count: fields.count)
            bytes.reserveCapacity(fields.count * 9)
        }

        /// The packed fields (nil without a schema) and the JSON of everything else.
        public mutating func pack(_ record: [String: JSONValue]) -> (features: String?, extras: String) {
            extras.removeAll()
            guard hasSchema else {
                extras.unsortedObject(record)
                return (nil, String(decoding: extras.bytes, as: UTF8.self))
            }
            extras.raw("{")
            first = true
            bytes.removeAll(keepingCapacity: true)
            for (key, value) in record {
                if let k = fieldIndex[key] { slots[k] = value } else { add(key, value) }
            }
            for k in fields.indices {
                let value = slots[k]
                slots[k] = nil
                if !LogCodecs.appendField(value, kind: fields[k].kind, to: &bytes), let value { add(fields[k].name, value) }
            }
            extras.raw("}")
            return (Base64.encode(bytes), String(decoding: extras.bytes, as: UTF8.self))
        }

        private mutating func add(_ key: String, _ value: JSONValue) {
            if !first { extras.raw(",") }
            first = false
            extras.string(key)
            extras.raw(":")
            extras.value(value)
        }
    }

    /// The keys of a record that `packFeatures` does not hold exactly — fields outside the
    /// schema (the id field, passthrough columns), nulls, and values of another JSON type than
    /// the field's — so that `record(features:extras:schema:)` gives back the record as sent.
    public static func extras(_ record: [String: JSONValue], schema: FeatureSchema, fieldNames: Set<String>) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        var scratch: [UInt8] = []
        var held = 0
        for field in schema.fields {
            guard let value = record[field.name] else { continue }
            held += 1
            if !appendField(value, kind: field.kind, to: &scratch) { out[field.name] = value }
        }
        if held < record.count {
            for (key, value) in record where !fieldNames.contains(key) { out[key] = value }
        }
        return out
    }

    /// A logged record rebuilt: the packed schema fields, then the extras over them.
    public static func record(features: String?, extras: [String: JSONValue], schema: FeatureSchema?) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        if let features, let schema, let values = unpackFeatures(features, fieldCount: schema.fields.count) {
            for (field, value) in zip(schema.fields, values) {
                switch value {
                case .number(let d)?: out[field.name] = .number(d)
                case .category(let s)?: out[field.name] = .string(s)
                case nil: break
                }
            }
        }
        for (k, v) in extras { out[k] = v }
        return out
    }

    /// One value per schema field (nil: missing), or nil when the text does not decode.
    public static func unpackFeatures(_ text: String, fieldCount: Int) -> [FeatureValue?]? {
        guard let bytes = Base64.withDecoded(text, { Array($0) }) else { return nil }
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

    /// Appends one packed record's values to per-field columns (numbers to `numbers[k]`,
    /// categories to `categories[k]`), skipping missing ones; false when the text does not decode.
    @discardableResult
    public static func appendFeatures(_ text: String, fieldCount: Int, numbers: inout [[Double]], categories: inout [[String]]) -> Bool {
        return Base64.withDecoded(text) { (bytes: UnsafeBufferPointer<UInt8>) -> Bool in
            var i = 0
            for k in 0..<fieldCount {
                guard i < bytes.count else { return false }
                let tag = bytes[i]
                i += 1
                switch tag {
                case 0: continue
                case 1:
                    guard i + 8 <= bytes.count else { return false }
                    var bits: UInt64 = 0
                    for b in 0..<8 { bits |= UInt64(bytes[i + b]) << (8 * UInt64(b)) }
                    let d = Double(bitPattern: bits)
                    if d.isFinite, k < numbers.count { numbers[k].append(d) }
                    i += 8
                case 2:
                    guard i + 4 <= bytes.count else { return false }
                    var n = 0
                    for b in 0..<4 { n |= Int(bytes[i + b]) << (8 * b) }
                    i += 4
                    guard n >= 0, i + n <= bytes.count else { return false }
                    if k < categories.count { categories[k].append(String(decoding: UnsafeBufferPointer(rebasing: bytes[i..<(i + n)]), as: UTF8.self)) }
                    i += n
                default:
                    return false
                }
            }
            return true
        } ?? false
    }

    /// Appends one packed FP32 row to per-column values (finite ones); false when it does not
    /// decode to exactly `width` values.
    @discardableResult
    public static func appendFloats(_ text: String, width: Int, into columns: inout [[Double]]) -> Bool {
        Base64.withDecoded(text) { bytes -> Bool in
            guard bytes.count == width * 4, columns.count >= width else { return false }
            let raw = UnsafeRawBufferPointer(bytes)
            for k in 0..<width {
                let v = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: k * 4, as: UInt32.self)))
                if v.isFinite { columns[k].append(Double(v)) }
            }
            return true
        } ?? false
    }

    public static func packFloats(_ values: ArraySlice<Float>) -> String {
        #if _endian(little)
        return values.withUnsafeBytes { Base64.encode($0) }
        #else
        return packFloats(Array(values))
        #endif
    }

    public static func packFloats<C: Collection>(_ values: C) -> String where C.Element == Float {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        return Base64.encode(out)
    }

    public static func unpackFloats(_ text: String) -> [Float]? {
        Base64.withDecoded(text) { bytes -> [Float]? in
            guard bytes.count % 4 == 0 else { return nil }
            let raw = UnsafeRawBufferPointer(bytes)
            return (0..<(bytes.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        } ?? nil
    }
}

/// One raw field value of a logged record.
public enum FeatureValue: Sendable, Equatable {
    case number(Double)
    case category(String)
}
