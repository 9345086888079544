import KeelCore
import KeelServing
import Testing

/// Decoding `{"instances": […]}` bodies for the records API.
@Suite struct RecordDecodingTests {
    func body(_ count: Int) -> [UInt8] {
        Array(("{\"instances\":[" + Array(repeating: #"{"age":NaN}"#, count: count).joined(separator: ",") + "]}").utf8)
    }

    @Test func instancesOverTheCapAreRefusedNamingTheLimit() throws {
        #expect(try RecordPredictor.decodeInstances(body(RecordPredictor.defaultMaxInstances)).count == 10_000)
        do {
            _ = try RecordPredictor.decodeInstances(body(10_001))
            Issue.record("no error")
        } catch {
            #expect(error.code == .payloadTooLarge && error.httpStatus == 413)
            #expect(error.message == "'instances' holds 10001 records; one request may carry at most 10000 (split it, or use a batch job)")
        }
        #expect(throws: KeelError.self) { try RecordPredictor.decodeInstances(body(3), maxInstances: 2) }
    }

    @Test func nonFiniteTokensInRecordsAreNumbers() throws {
        let records = try RecordPredictor.decodeInstances(Array(#"{"instances":[{"a":NaN,"b":-Infinity}]}"#.utf8))
        #expect(records[0]["a"]?.doubleValue?.isNaN == true)
        #expect(records[0]["b"] == .number(-.infinity))
    }

    @Test func malformedBodiesAreBadRequests() {
        #expect(throws: KeelError.self) { try RecordPredictor.decodeInstances(Array(#"{"instances":[{"a":"\udc00"}]}"#.utf8)) }
        #expect(throws: KeelError.self) { try RecordPredictor.decodeInstances(Array(#"{"instances":[1,2]}"#.utf8)) }
        #expect(throws: KeelError.self) { try RecordPredictor.decodeInstances(Array(#"{"instances":[]}"#.utf8)) }
    }
}
