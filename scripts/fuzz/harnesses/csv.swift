import KeelRegistry

/// The holdout CSV reader.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = data.map { String(decoding: UnsafeBufferPointer(start: $0, count: size), as: UTF8.self) } ?? ""
    guard let table = try? CSVTable.parse(text) else { return 0 }
    for row in table.rows where row.count != table.header.count { fatalError("CSV accepted a ragged row") }
    return 0
}
