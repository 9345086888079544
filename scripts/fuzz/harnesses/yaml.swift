import KeelServing

/// config.yaml (and uploaded schemas) through SafeYAML and ModelConfig's validation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = data.map { String(decoding: UnsafeBufferPointer(start: $0, count: size), as: UTF8.self) } ?? ""
    guard let config = try? ModelConfig.parse(yaml: text, source: "fuzz") else { return 0 }
    if config.maxBatchSize < 1 || config.instanceCount < 1 { fatalError("config accepted sizes below 1") }
    var previous = -Double.infinity
    for band in config.riskBands {
        guard let upper = band.upper else { continue }
        if !(upper > previous) || !upper.isFinite { fatalError("risk bands accepted out of order") }
        previous = upper
    }
    _ = config.riskBand(for: 0.5)
    return 0
}
