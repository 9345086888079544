import KeelEngine

/// Model loading (format .lightgbmText) and one inference on zero inputs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModel(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    loadAndInfer(bytes, format: .lightgbmText)
    return 0
}
