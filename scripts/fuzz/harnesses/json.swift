import KeelCore

/// JSON parser in both array modes, the writer round trip, and v2 JSON request decoding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    for mode in [JSONParser.NumericArrays.values, .packed] {
        guard let value = try? JSONParser.parse(bytes, errorCode: .invalidInput, numericArrays: mode) else { continue }
        // Oracle: what the writer makes of a parsed value parses back, and writes the same.
        var w = JSONWriter()
        w.value(value)
        guard let again = try? JSONParser.parse(w.bytes, errorCode: .invalidInput, numericArrays: mode) else {
            fatalError("written JSON does not parse back: \(String(decoding: w.bytes.prefix(200), as: UTF8.self))")
        }
        var w2 = JSONWriter()
        w2.value(again)
        if w2.bytes != w.bytes { fatalError("JSON round trip is not stable") }
    }
    if let request = try? V2JSONCodec.decodeRequest(bytes) {
        for input in request.inputs where Tensor.checkedElementCount(input.tensor.shape) != input.tensor.count {
            fatalError("decoded tensor '\(input.name)' does not match its shape")
        }
        _ = V2JSONCodec.encodeResponse(InferenceResponse(modelName: "m", outputs: request.inputs))
    }
    return 0
}
