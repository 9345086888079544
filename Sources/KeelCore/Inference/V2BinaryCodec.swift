/// The v2 binary tensor data extension: a JSON header of `Inference-Header-Content-Length`
/// bytes, then raw little-endian tensor data for inputs/outputs carrying `binary_data_size`.
/// BYTES elements are each a 4-byte little-endian length followed by the bytes.
///
/// Every declared size is checked against the bytes actually present before anything is
/// allocated for it, and every offset computation is overflow-free.
public enum V2BinaryCodec {
    /// Decodes a request whose first `headerLength` bytes are JSON (nil: all JSON).
    public static func decodeRequest(_ body: [UInt8], headerLength: Int?) throws(KeelError) -> InferenceRequest {
        guard let headerLength else { return try V2JSONCodec.decodeRequest(body) }
        guard headerLength >= 0, headerLength <= body.count else {
            throw .invalidInput("Inference-Header-Content-Length is \(headerLength), but the body has \(body.count) bytes")
        }
        let doc = try JSONParser.parse(Array(body[0..<headerLength]), errorCode: .invalidInput, numericArrays: .packed)
        var (request, inputs) = try V2JSONCodec.decodeEnvelope(doc)
        var offset = headerLength
        for (k, input) in inputs.enumerated() {
            guard let size = input["parameters"]?["binary_data_size"] else {
                request.inputs.append(try V2JSONCodec.decodeInput(input, index: k))
                continue
            }
            let (name, type, shape, params) = try V2JSONCodec.decodeTensorHeader(input, index: k)
            let shown = String(name.prefix(64))
            guard input["data"] == nil else {
                throw .invalidInput("input '\(shown)' has both 'data' and binary_data_size; send one of them")
            }
            guard let n = size.intValue, n >= 0 else {
                throw .invalidInput("input '\(shown)' binary_data_size must be a non-negative integer")
            }
            let remaining = body.count - offset
            guard n <= remaining else {
                throw .invalidInput("input '\(shown)' declares \(n) bytes of binary data, but only \(remaining) remain")
            }
            let count = try Tensor.checkedRequestShape(shape, what: "input '\(shown)'")
            let data = try decodeData(body[offset..<(offset + n)], type: type, count: count, name: shown)
            offset += n
            request.inputs.append(NamedTensor(name: name, tensor: try Tensor(shape: shape, data: data), parameters: params))
        }
        guard offset == body.count else {
            throw .invalidInput("\(body.count - offset) bytes of binary data follow the inputs but no input claims them")
        }
        try V2JSONCodec.checkUniqueNames(request.inputs)
        return request
    }

    /// Typed storage from raw little-endian bytes; `count` is the (already bounded) element
    /// count of the declared shape, which the bytes must match exactly.
    public static func decodeData(_ bytes: ArraySlice<UInt8>, type: DataType, count: Int, name: String) throws(KeelError) -> TensorData {
        guard let width = type.byteWidth else { return .bytes(try decodeBytesElements(bytes, count: count, name: name)) }
        let (needed, overflow) = count.multipliedReportingOverflow(by: width)
        guard !overflow, bytes.count == needed else {
            throw .invalidInput("input '\(name)' has \(bytes.count) bytes of binary data, but \(count) \(type.rawValue) elements need \(overflow ? "more" : String(needed))")
        }
        func load<T: FixedWidthInteger>(_: T.Type) -> [T] {
            [T](unsafeUninitializedCapacity: count) { out, initialized in
                bytes.withUnsafeBytes { raw in
                    for i in 0..<count { out[i] = T(littleEndian: raw.loadUnaligned(fromByteOffset: i * width, as: T.self)) }
                }
                initialized = count
            }
        }
        switch type {
        case .bool: return .bool(load(UInt8.self).map { $0 != 0 })
        case .int8: return .int8(load(Int8.self))
        case .int16: return .int16(load(Int16.self))
        case .int32: return .int32(load(Int32.self))
        case .int64: return .int64(load(Int64.self))
        case .uint8: return .uint8(load(UInt8.self))
        case .uint16: return .uint16(load(UInt16.self))
        case .uint32: return .uint32(load(UInt32.self))
        case .uint64: return .uint64(load(UInt64.self))
        case .fp16: return .fp16(load(UInt16.self))
        case .fp32: return .fp32(load(UInt32.self).map(Float.init(bitPattern:)))
        case .fp64: return .fp64(load(UInt64.self).map(Double.init(bitPattern:)))
        case .bytes: return .bytes([])  // handled above
        }
    }

    /// Length-prefixed BYTES elements. Capacity grows with the elements actually read (each
    /// needs at least its 4-byte prefix), never from the declared count.
    private static func decodeBytesElements(_ bytes: ArraySlice<UInt8>, count: Int, name: String) throws(KeelError) -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(min(count, bytes.count / 4))
        var i = bytes.startIndex
        while i < bytes.endIndex {
            guard out.count < count else {
                throw .invalidInput("input '\(name)' has more BYTES elements than its shape's \(count)")
            }
            guard bytes.endIndex - i >= 4 else { throw .invalidInput("input '\(name)' BYTES data is truncated") }
            let n = Int(UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
            i += 4
            guard n <= bytes.endIndex - i else {
                throw .invalidInput("input '\(name)' BYTES element \(out.count) declares \(n) bytes, but only \(bytes.endIndex - i) remain")
            }
            out.append(Array(bytes[i..<(i + n)]))
            i += n
        }
        guard out.count == count else {
            throw .invalidInput("input '\(name)' has \(out.count) BYTES elements, but its shape needs \(count)")
        }
        return out
    }

    /// Raw little-endian bytes of a tensor's data.
    public static func encodeData(_ data: TensorData) -> [UInt8] {
        var out: [UInt8] = []
        func append<T: FixedWidthInteger>(_ values: [T]) {
            out.reserveCapacity(values.count * MemoryLayout<T>.size)
            for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        }
        switch data {
        case .bool(let a): out = a.map { $0 ? 1 : 0 }
        case .int8(let a): append(a)
        case .int16(let a): append(a)
        case .int32(let a): append(a)
        case .int64(let a): append(a)
        case .uint8(let a): out = a
        case .uint16(let a): append(a)
        case .uint32(let a): append(a)
        case .uint64(let a): append(a)
        case .fp16(let a): append(a)
        case .fp32(let a): append(a.map(\.bitPattern))
        case .fp64(let a): append(a.map(\.bitPattern))
        case .bytes(let a):
            for e in a {
                append([UInt32(e.count)])
                out.append(contentsOf: e)
            }
        }
        return out
    }

    /// Encodes a response; outputs named in `binaryOutputs` travel as binary data. Returns
    /// the body and, when any output is binary, the JSON header's length.
    public static func encodeResponse(_ response: InferenceResponse, binaryOutputs: Set<String>) -> (body: [UInt8], headerLength: Int?) {
        guard response.outputs.contains(where: { binaryOutputs.contains($0.name) }) else {
            return (V2JSONCodec.encodeResponse(response), nil)
        }
        var binary: [UInt8] = []
        var w = JSONWriter()
        w.raw("{\"model_name\":")
        w.string(response.modelName)
        if let v = response.modelVersion { w.raw(",\"model_version\":"); w.string(v) }
        if let id = response.id { w.raw(",\"id\":"); w.string(id) }
        if !response.parameters.isEmpty {
            w.raw(",\"parameters\":")
            w.value(.object(response.parameters))
        }
        w.raw(",\"outputs\":[")
        for (k, output) in response.outputs.enumerated() {
            if k > 0 { w.raw(",") }
            if binaryOutputs.contains(output.name) {
                let bytes = encodeData(output.tensor.data)
                var o = output
                o.parameters["binary_data_size"] = .number(Double(bytes.count))
                V2JSONCodec.writeTensor(o, into: &w, inlineData: false)
                binary.append(contentsOf: bytes)
            } else {
                V2JSONCodec.writeTensor(output, into: &w, inlineData: true)
            }
        }
        w.raw("]}")
        let headerLength = w.bytes.count
        return (w.bytes + binary, headerLength)
    }
}
