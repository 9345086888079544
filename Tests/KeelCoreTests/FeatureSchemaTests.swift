import KeelCore
import Testing

/// Records through the feature schema: missing values, bounded problem reports, schema checks.
@Suite struct FeatureSchemaTests {
    static let schema = try! FeatureSchema(fields: [
        .init(name: "age", kind: .number),
        .init(name: "plan", kind: .oneHot, categories: ["a", "b"]),
    ])

    func message(_ records: [[String: JSONValue]]) -> String? {
        do {
            _ = try Self.schema.encode(records)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func nonFiniteNumbersAreMissingValuesNotErrors() throws {
        let body = Array(#"[{"age": NaN, "plan": "a"}, {"age": Infinity, "plan": "b"}, {"age": null, "plan": "a"}]"#.utf8)
        let records = try #require(try JSONParser.parse(body, errorCode: .invalidInput).arrayValue?.compactMap(\.objectValue))
        let t = try #require(try Self.schema.encode(records)["input"]?.floats)
        #expect(t.count == 9)
        #expect(t[0].isNaN && t[1] == 1 && t[2] == 0)
        #expect(t[3] == .infinity && t[6].isNaN)
    }

    @Test func problemsAreBoundedAndTheFirstTwentyShown() throws {
        // 50,000 bad records would be 100,000 messages; collection stops at 100.
        let bad = Array(repeating: ["age": JSONValue.string("old"), "plan": .string("z")], count: 50_000)
        let text = try #require(message(bad))
        #expect(text.hasPrefix("instance 0: field 'age' must be a number"))
        #expect(text.hasSuffix("… and more (stopped after 100 problems)"))
        #expect(text.components(separatedBy: "; instance").count == 20)
        // Few problems are all listed, with the count of those not shown.
        let some = Array(repeating: ["age": JSONValue.number(1)], count: 25)
        let listed = try #require(message(some))
        #expect(listed.hasSuffix("; … 5 more") && listed.contains("missing field 'plan'"))
    }

    @Test func clientTextInProblemsIsCut() throws {
        let longKey = String(repeating: "k", count: 100_000)
        let text = try #require(message([["age": 1, "plan": "a", longKey: 1]]))
        #expect(text.count < 200 && text.contains("unknown field 'kkkk"))
    }

    @Test func schemasAreCheckedWhenBuilt() {
        #expect(throws: KeelError.invalidModel("field 'p' lists category 'a' twice")) {
            try FeatureSchema(fields: [.init(name: "p", kind: .oneHot, categories: ["a", "a"])])
        }
        #expect(throws: KeelError.invalidModel("feature schema has a field with an empty name")) {
            try FeatureSchema(fields: [.init(name: "", kind: .number)])
        }
        #expect(throws: KeelError.self) {
            try FeatureSchema(fields: [.init(name: "p", kind: .oneHot, categories: (0...FeatureSchema.maxCategories).map(String.init))])
        }
        #expect(throws: KeelError.self) { try FeatureSchema(fields: [.init(name: "p", kind: .string, categories: [""])], layout: .perField) }
    }
}
