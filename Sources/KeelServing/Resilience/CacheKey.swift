import KeelCore

/// The canonical bytes of a request's input tensors, the prediction cache's key: for each
/// input in name order, its name, datatype, shape and raw little-endian data (BYTES elements
/// length-prefixed), so two requests share a key exactly when their tensors are equal bit for
/// bit (the names' order in the request and its JSON spelling do not matter).
struct CacheKey: Hashable, Sendable {
    let bytes: [UInt8]

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The key of `inputs`, or nil when it would take more than `limit` bytes (checked before
    /// any byte is written).
    init?(_ inputs: [String: Tensor], limit: Int) {
        var size = 0
        for (name, t) in inputs {
            size += 16 + name.utf8.count + t.shape.count * 8
            if case .bytes(let items) = t.data {
                for item in items { size += 4 + item.count }
            } else {
                size += t.count * (t.dataType.byteWidth ?? 8)
            }
            if size > limit { return nil }
        }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        func append<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        for name in inputs.keys.sorted() {
            guard let t = inputs[name] else { continue }
            append(UInt32(name.utf8.count))
            out.append(contentsOf: name.utf8)
            append(UInt8(DataType.allCases.firstIndex(of: t.dataType) ?? 0))
            append(UInt32(t.shape.count))
            for d in t.shape { append(Int64(d)) }
            out.append(contentsOf: V2BinaryCodec.encodeData(t.data))
        }
        bytes = out
    }
}
