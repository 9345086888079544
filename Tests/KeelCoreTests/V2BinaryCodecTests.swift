import KeelCore
import Testing

/// The v2 binary data extension: sizes, offsets and names from the header are checked
/// against the bytes that are actually there.
@Suite struct V2BinaryCodecTests {
    func body(_ header: String, _ data: [UInt8]) -> ([UInt8], Int) {
        (Array(header.utf8) + data, header.utf8.count)
    }

    func error(_ header: String, _ data: [UInt8] = [], headerLength: Int? = nil) -> KeelError? {
        let (bytes, length) = body(header, data)
        do {
            _ = try V2BinaryCodec.decodeRequest(bytes, headerLength: headerLength ?? length)
            return nil
        } catch {
            return error
        }
    }

    static func lengthPrefixed(_ parts: [[UInt8]]) -> [UInt8] {
        parts.flatMap { p in withUnsafeBytes(of: UInt32(p.count).littleEndian, Array.init) + p }
    }

    @Test func binaryAndInlineInputsDecodeInOrder() throws {
        let floats = V2BinaryCodec.encodeData(.fp32([1, 2.5]))
        let (bytes, length) = body(
            #"{"id":"r","inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},{"name":"b","shape":[1],"datatype":"INT64","data":[NaN]}]}"#,
            floats)
        #expect(error(String(decoding: bytes[0..<length], as: UTF8.self), floats)?.message.contains("element 0") == true)
        let (ok, okLength) = body(
            #"{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},{"name":"b","shape":[1],"datatype":"BYTES","data":["z"]},{"name":"c","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":11}}]}"#,
            floats + Self.lengthPrefixed([[0x61], [0x62, 0x63]]))
        let r = try V2BinaryCodec.decodeRequest(ok, headerLength: okLength)
        #expect(r.inputs.map(\.name) == ["a", "b", "c"])
        #expect(r.inputs[0].tensor.floats == [1, 2.5])
        #expect(r.inputs[2].tensor.data == .bytes([[0x61], [0x62, 0x63]]))
    }

    @Test func hugeBytesShapeWithNoDataIsRefusedWithoutAllocating() throws {
        // 2^40 elements declared, zero bytes sent: refused by the element limit before any
        // capacity is reserved.
        let e = try #require(error(#"{"inputs":[{"name":"s","shape":[1099511627776],"datatype":"BYTES","parameters":{"binary_data_size":0}}]}"#))
        #expect(e.code == .invalidInput && e.message.contains("too many elements"))
        // At the limit, the count is still checked against what the bytes hold.
        let atLimit = try #require(error(#"{"inputs":[{"name":"s","shape":[\#(Tensor.maxElements)],"datatype":"BYTES","parameters":{"binary_data_size":8}}]}"#, Self.lengthPrefixed([[], []])))
        #expect(atLimit.message == "input 's' has 2 BYTES elements, but its shape needs \(Tensor.maxElements)")
    }

    @Test func bytesElementsMustFitTheirData() throws {
        #expect(error(#"{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":6}}]}"#, [0xFF, 0xFF, 0xFF, 0xFF, 1, 2])?.message.contains("declares 4294967295 bytes, but only 2 remain") == true)
        #expect(error(#"{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":3}}]}"#, [1, 0, 0])?.message.contains("truncated") == true)
        #expect(error(#"{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":10}}]}"#, Self.lengthPrefixed([[1], [2], [3]]).prefix(10).map { $0 })?.message.contains("more BYTES elements") == true)
    }

    @Test func sizesAndHeaderLengthAreBounded() throws {
        let header = #"{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}"#
        #expect(error(header, [], headerLength: -1)?.message.contains("Inference-Header-Content-Length is -1") == true)
        #expect(error(header, [], headerLength: Int.max)?.message.contains("Inference-Header-Content-Length") == true)
        #expect(error(header, [1, 2, 3])?.message == "input 'x' declares 8 bytes of binary data, but only 3 remain")
        #expect(error(header.replacingOccurrences(of: ":8}", with: ":9223372036854775807}"), [])?.code == .invalidInput)
        #expect(error(header.replacingOccurrences(of: ":8}", with: ":-8}"), [])?.message.contains("non-negative integer") == true)
        #expect(error(header.replacingOccurrences(of: ":8}", with: ":4}"), [0, 0, 0, 0])?.message.contains("but 2 FP32 elements need 8") == true)
        #expect(error(header, Array(repeating: 0, count: 12))?.message.contains("4 bytes of binary data follow the inputs") == true)
    }

    @Test func namesMustBePresentAndUnique() throws {
        let twice = #"{"inputs":[{"name":"x","shape":[1],"datatype":"UINT8","parameters":{"binary_data_size":1}},{"name":"x","shape":[1],"datatype":"UINT8","data":[1]}]}"#
        #expect(error(twice, [7])?.message == "input 'x' appears more than once")
        #expect(error(#"{"inputs":[{"shape":[1],"datatype":"UINT8","parameters":{"binary_data_size":1}}]}"#, [7])?.message.contains("no string 'name'") == true)
        #expect(error(#"{"inputs":[{"name":"x","shape":[1],"datatype":"UINT8","data":[1],"parameters":{"binary_data_size":1}}]}"#, [7])?.message.contains("both 'data' and binary_data_size") == true)
    }

    @Test func headerMustBeValidJSON() throws {
        let e = try #require(error(#"{"inputs":[{"name":"x\ud800"}]}"#))
        #expect(e.message.contains("surrogate") && e.message.contains("at byte"))
    }
}
