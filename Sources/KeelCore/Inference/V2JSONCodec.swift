/// Reads and writes Open Inference Protocol v2 JSON bodies (tensor data inline, flat or nested).
///
/// Limits (docs/json.md): at most `Tensor.maxElements` elements and `Tensor.maxRank`
/// dimensions per tensor; data nested no deeper than the shape's rank.
public enum V2JSONCodec {
    /// Decodes a request body. Errors name the offending input and what was expected.
    public static func decodeRequest(_ body: [UInt8]) throws(KeelError) -> InferenceRequest {
        // Packed numeric arrays: 8 bytes per element of tensor data instead of a JSONValue.
        let doc = try JSONParser.parse(body, errorCode: .invalidInput, numericArrays: .packed)
        let (request, inputs) = try decodeEnvelope(doc)
        var out = request
        for (k, input) in inputs.enumerated() { out.inputs.append(try decodeInput(input, index: k)) }
        try checkUniqueNames(out.inputs)
        return out
    }

    /// The request without its inputs (id, parameters, requested outputs), and the raw input
    /// objects in order — shared with the binary extension, which fills some from binary data.
    static func decodeEnvelope(_ doc: JSONValue) throws(KeelError) -> (InferenceRequest, [JSONValue]) {
        guard let object = doc.objectValue else {
            throw .invalidInput("request body must be a JSON object with an 'inputs' array")
        }
        guard let inputsValue = object["inputs"], let inputs = inputsValue.arrayValue else {
            throw .invalidInput("request body has no 'inputs' array")
        }
        var request = InferenceRequest(inputs: [])
        request.id = try optionalString(object["id"], field: "id")
        request.parameters = try parameters(object["parameters"], field: "parameters")
        if let outputsValue = object["outputs"] {
            guard let outputs = outputsValue.arrayValue else {
                throw .invalidInput("'outputs' must be an array of {\"name\": …} objects")
            }
            for output in outputs {
                guard let name = output["name"]?.stringValue else {
                    throw .invalidInput("each requested output needs a string 'name'")
                }
                request.outputs.append(
                    RequestedOutput(name: name, parameters: try parameters(output["parameters"], field: "output '\(name.prefix(64))' parameters")))
            }
        }
        return (request, inputs)
    }

    public static func checkUniqueNames(_ inputs: [NamedTensor]) throws(KeelError) {
        var seen = Set<String>()
        for t in inputs where !seen.insert(t.name).inserted {
            throw .invalidInput("input '\(t.name.prefix(64))' appears more than once")
        }
    }

    /// Decodes the name, datatype, shape (checked against the request limits) and parameters
    /// of one input object; its data is read separately (inline, or from binary data).
    public static func decodeTensorHeader(_ input: JSONValue, index: Int) throws(KeelError) -> (name: String, dataType: DataType, shape: [Int], parameters: [String: JSONValue]) {
        guard input.objectValue != nil else { throw .invalidInput("inputs[\(index)] must be an object") }
        guard let name = input["name"]?.stringValue else {
            throw .invalidInput("inputs[\(index)] has no string 'name'")
        }
        let shown = name.prefix(64)
        guard let typeName = input["datatype"]?.stringValue else {
            throw .invalidInput("input '\(shown)' has no 'datatype'")
        }
        guard let dataType = DataType(v2Name: typeName) else {
            throw .invalidInput("input '\(shown)' has unknown datatype '\(typeName.prefix(32))'; expected one of \(DataType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let shapeValue = input["shape"], let shape = shapeValue.intsValue else {
            throw .invalidInput("input '\(shown)' needs 'shape' as an array of integers")
        }
        _ = try Tensor.checkedRequestShape(shape, what: "input '\(shown)'")
        let params = try parameters(input["parameters"], field: "input '\(shown)' parameters")
        return (name, dataType, shape, params)
    }

    static func decodeInput(_ input: JSONValue, index: Int) throws(KeelError) -> NamedTensor {
        let (name, dataType, shape, params) = try decodeTensorHeader(input, index: index)
        guard let data = input["data"] else {
            throw .invalidInput("input '\(name.prefix(64))' has no 'data'")
        }
        let count = try Tensor.checkedRequestShape(shape, what: "input '\(name.prefix(64))'")
        let storage = try V2InlineData.decode(data, type: dataType, shape: shape, count: count, name: String(name.prefix(64)))
        return NamedTensor(name: name, tensor: try Tensor(shape: shape, data: storage), parameters: params)
    }

    private static func optionalString(_ v: JSONValue?, field: String) throws(KeelError) -> String? {
        guard let v, v != .null else { return nil }
        guard let s = v.stringValue else { throw .invalidInput("'\(field)' must be a string") }
        return s
    }

    private static func parameters(_ v: JSONValue?, field: String) throws(KeelError) -> [String: JSONValue] {
        guard let v, v != .null else { return [:] }
        guard let o = v.objectValue else { throw .invalidInput("\(field) must be an object") }
        return o
    }

    /// Encodes a response body with all tensor data inline.
    public static func encodeResponse(_ response: InferenceResponse) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + response.outputs.reduce(0) { $0 + $1.tensor.count * 12 })
        w.raw("{\"model_name\":")
        w.string(response.modelName)
        if let version = response.modelVersion {
            w.raw(",\"model_version\":")
            w.string(version)
        }
        if let id = response.id {
            w.raw(",\"id\":")
            w.string(id)
        }
        if !response.parameters.isEmpty {
            w.raw(",\"parameters\":")
            w.value(.object(response.parameters))
        }
        w.raw(",\"outputs\":[")
        for (k, output) in response.outputs.enumerated() {
            if k > 0 { w.raw(",") }
            writeTensor(output, into: &w, inlineData: true)
        }
        w.raw("]}")
        return w.bytes
    }

    /// Writes `{"name","datatype","shape"[,"parameters"][,"data"]}`.
    public static func writeTensor(_ output: NamedTensor, into w: inout JSONWriter, inlineData: Bool) {
        w.raw("{\"name\":")
        w.string(output.name)
        w.raw(",\"datatype\":\"")
        w.appendRaw(output.tensor.dataType.rawValue)
        w.raw("\",\"shape\":")
        w.list(output.tensor.shape.count) { $0.integer(output.tensor.shape[$1]) }
        if !output.parameters.isEmpty {
            w.raw(",\"parameters\":")
            w.value(.object(output.parameters))
        }
        if inlineData {
            w.raw(",\"data\":")
            writeData(output.tensor.data, into: &w)
        }
        w.raw("}")
    }

    public static func writeData(_ data: TensorData, into w: inout JSONWriter) {
        switch data {
        case .bool(let a): w.list(a.count) { $0.bool(a[$1]) }
        case .int8(let a): w.list(a.count) { $0.integer(a[$1]) }
        case .int16(let a): w.list(a.count) { $0.integer(a[$1]) }
        case .int32(let a): w.list(a.count) { $0.integer(a[$1]) }
        case .int64(let a): w.list(a.count) { $0.integer(a[$1]) }
        case .uint8(let a): w.list(a.count) { $0.integer(a[$1]) }
        case .uint16(let a): w.list(a.count) { $0.integer(a[$1]) }
        case .uint32(let a): w.list(a.count) { $0.integer(a[$1]) }
        case .uint64(let a): w.list(a.count) { $0.integer(a[$1]) }
        case .fp16(let a): w.list(a.count) { $0.number(HalfFloat.float(fromBits: a[$1])) }
        case .fp32(let a): w.list(a.count) { $0.number(a[$1]) }
        case .fp64(let a): w.list(a.count) { $0.number(a[$1]) }
        case .bytes(let a): w.list(a.count) { $0.string(String(decoding: a[$1], as: UTF8.self)) }
        }
    }
}

