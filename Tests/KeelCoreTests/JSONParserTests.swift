import KeelCore
import Testing

/// The byte-level JSON parser used for model files and request bodies.
@Suite struct JSONParserTests {
    @Test func parsesNestedDocumentsExactly() throws {
        let v = try JSONParser.parse(Array(#" {"a": [1, -2.5e-3, true, null, "x\"\u00e9\n"], "b": {}} "#.utf8))
        #expect(v["a"]?.arrayValue?.count == 5)
        #expect(v["a"]?.arrayValue?[1] == .number(-0.0025))
        #expect(v["a"]?.arrayValue?[4] == .string("x\"é\n"))
        #expect(v["b"] == .object([:]))
        #expect(try JSONParser.parse(Array("0.1".utf8)) == .number(0.1))
    }

    @Test("malformed documents are refused", arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "[1] 2", "{\"a\":01x}", "[\"\u{01}\"]",
    ])
    func malformed(_ text: String) {
        #expect(throws: KeelError.self) { try JSONParser.parse(Array(text.utf8), errorCode: .invalidInput) }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: KeelError.self) { try JSONParser.parse(Array(deep.utf8)) }
    }
}
