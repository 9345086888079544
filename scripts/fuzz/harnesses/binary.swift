import KeelCore

/// The v2 binary extension: the first two bytes (little-endian Int16) are the header length
/// (-1: none, all JSON), the rest is the body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBinary(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 2 else { return 0 }
    let raw = Int(Int16(bitPattern: UInt16(data[0]) | UInt16(data[1]) << 8))
    let body = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    guard let request = try? V2BinaryCodec.decodeRequest(body, headerLength: raw == -1 ? nil : raw) else { return 0 }
    for input in request.inputs where Tensor.checkedElementCount(input.tensor.shape) != input.tensor.count {
        fatalError("decoded tensor '\(input.name)' does not match its shape")
    }
    let response = InferenceResponse(modelName: "m", outputs: request.inputs)
    _ = V2BinaryCodec.encodeResponse(response, binaryOutputs: Set(request.inputs.map(\.name)))
    return 0
}
