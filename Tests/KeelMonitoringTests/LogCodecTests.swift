import Foundation
import KeelCore
import Testing
@testable import KeelMonitoring

/// The log's base64 equals Foundation's on every length and byte, and refuses what Foundation
/// refuses in the padded form the log writes.
@Suite struct LogCodecTests {
    @Test func base64MatchesFoundation() {
        var rng = SystemRandomNumberGenerator()
        for length in 0..<70 {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let text = Base64.encode(bytes)
                #expect(text == Data(bytes).base64EncodedString())
                #expect(Base64.withDecoded(text, { Array($0) }) == bytes)
            }
        }
    }

    @Test func malformedBase64IsRefused() {
        for text in ["A", "AB", "ABC", "A===", "AB=C", "====", "AB\u{0}D", "ABCD=", "AB-_", "é123", "AA==AAAA"] {
            #expect(Base64.withDecoded(text, { Array($0) }) == nil, "\(text)")
        }
        #expect(Base64.withDecoded("", { $0.count }) == 0)
    }

    @Test func packedColumnsRoundTrip() {
        let floats: [Float] = [0, -1.5, .greatestFiniteMagnitude, .nan, 3e-39]
        let back = LogCodecs.unpackFloats(LogCodecs.packFloats(floats))
        // The writer's in-place path for array slices writes the same text.
        #expect(LogCodecs.packFloats(floats[1...]) == LogCodecs.packFloats(Array(floats.dropFirst())))
        #expect(back?.count == floats.count)
        #expect(zip(back ?? [], floats).allSatisfy { $0.bitPattern == $1.bitPattern })
        var columns = [[Double]](repeating: [], count: 5)
        #expect(LogCodecs.appendFloats(LogCodecs.packFloats(floats), width: 5, into: &columns))
        #expect(columns[1] == [-1.5] && columns[3].isEmpty)
        #expect(!LogCodecs.appendFloats(LogCodecs.packFloats(floats), width: 4, into: &columns))
        #expect(!LogCodecs.appendFloats("not base64!", width: 5, into: &columns))
    }

    /// A record logged as packed schema fields plus its extras reads back exactly: the id and
    /// passthrough keys, nulls, and values of the wrong JSON type ride in the extras.
    @Test func recordsRebuildFromPackedFieldsAndExtras() throws {
        let schema = try FeatureSchema(fields: [
            .init(name: "age", kind: .number),
            .init(name: "plan", kind: .oneHot, categories: ["a", "b"]),
            .init(name: "tv", kind: .indicator, categories: ["Yes", "No"], positive: "Yes"),
            .init(name: "visits", kind: .integer),
        ])
        let names = Set(schema.fields.map(\.name))
        let records: [[String: JSONValue]] = [
            ["customer_id": "C-1", "age": 46, "plan": "b", "tv": "Yes", "visits": 3],
            ["customer_id": "C-2", "age": "46", "plan": 7, "tv": .null, "note": .object(["x": .array([1, true])])],
            ["age": 0.1, "plan": "a"],
            ["plan": .string(String(repeating: "x", count: 70_000)), "tv": true, "visits": .number(.infinity)],
            [:],
        ]
        for record in records {
            let features = LogCodecs.packFeatures(record, schema: schema)
            let extras = LogCodecs.extras(record, schema: schema, fieldNames: names)
            #expect(LogCodecs.record(features: features, extras: extras, schema: schema) == record)
        }
        #expect(LogCodecs.extras(records[0], schema: schema, fieldNames: names) == ["customer_id": "C-1"])
        // The writer's one-pass packing (buffers reused across rows) gives the same split.
        var packing = LogCodecs.RecordPacking(layout: LogLayout(profile: OutputProfile(task: .binary, schema: schema)))
        for record in records + records.reversed() {
            let (features, extrasText) = packing.pack(record)
            #expect(features == LogCodecs.packFeatures(record, schema: schema))
            let extras = try JSONParser.parse(Array(extrasText.utf8), errorCode: .invalidInput).objectValue
            #expect(extras == LogCodecs.extras(record, schema: schema, fieldNames: names))
            #expect(LogCodecs.record(features: features, extras: extras ?? [:], schema: schema) == record)
        }
        var plain = LogCodecs.RecordPacking(layout: LogLayout(profile: OutputProfile(task: .binary)))
        let (none, whole) = plain.pack(records[1])
        #expect(none == nil)
        #expect(try JSONParser.parse(Array(whole.utf8), errorCode: .invalidInput).objectValue == records[1])
        #expect(LogCodecs.record(features: "not base64!", extras: ["id": "x"], schema: schema) == ["id": "x"])
    }
}
