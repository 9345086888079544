/// Reads and writes Open Inference Protocol v2 JSON bodies (tensor data inline, flat or nested).
public enum V2JSONCodec {
    /// Decodes a request body. Errors name the offending input and what was expected.
    public static func decodeRequest(_ body: [UInt8]) throws(KeelError) -> InferenceRequest {
        let doc = try JSONParser.parse(body, errorCode: .invalidInput)
        guard let object = doc.objectValue else {
            throw .invalidInput("request body must be a JSON object with an 'inputs' array")
        }
        guard let inputsValue = object["inputs"], case .array(let inputs) = inputsValue else {
            throw .invalidInput("request body has no 'inputs' array")
        }
        var request = InferenceRequest(inputs: [])
        request.id = try optionalString(object["id"], field: "id")
        request.parameters = try parameters(object["parameters"], field: "parameters")
        var seen = Set<String>()
        for (k, input) in inputs.enumerated() {
            let tensor = try decodeInput(input, index: k)
            guard seen.insert(tensor.name).inserted else {
                throw .invalidInput("input '\(tensor.name)' appears more than once")
            }
            request.inputs.append(tensor)
        }
        if let outputsValue = object["outputs"] {
            guard case .array(let outputs) = outputsValue else {
                throw .invalidInput("'outputs' must be an array of {\"name\": …} objects")
            }
            for output in outputs {
                guard let name = output["name"]?.stringValue else {
                    throw .invalidInput("each requested output needs a string 'name'")
                }
                request.outputs.append(
                    RequestedOutput(name: name, parameters: try parameters(output["parameters"], field: "output '\(name)' parameters")))
            }
        }
        return request
    }

    /// Decodes the name, datatype, shape and parameters of one input object (its data is read
    /// separately: inline here, or from the binary extension by the server).
    public static func decodeTensorHeader(_ input: JSONValue, index: Int) throws(KeelError) -> (name: String, dataType: DataType, shape: [Int], parameters: [String: JSONValue]) {
        guard input.objectValue != nil else { throw .invalidInput("inputs[\(index)] must be an object") }
        guard let name = input["name"]?.stringValue else {
            throw .invalidInput("inputs[\(index)] has no string 'name'")
        }
        guard let typeName = input["datatype"]?.stringValue else {
            throw .invalidInput("input '\(name)' has no 'datatype'")
        }
        guard let dataType = DataType(v2Name: typeName) else {
            throw .invalidInput("input '\(name)' has unknown datatype '\(typeName)'; expected one of \(DataType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let shapeValue = input["shape"], let shape = shapeValue.intsValue else {
            throw .invalidInput("input '\(name)' needs 'shape' as an array of integers")
        }
        if let bad = shape.first(where: { $0 < 0 }) {
            throw .invalidInput("input '\(name)' has negative dimension \(bad) in shape \(Tensor.describe(shape))")
        }
        // Hostile shapes must not overflow or reserve memory the body cannot fill.
        guard let count = Tensor.checkedElementCount(shape), count <= 1 << 40 else {
            throw .invalidInput("input '\(name)' shape \(Tensor.describe(shape)) has too many elements")
        }
        let params = try parameters(input["parameters"], field: "input '\(name)' parameters")
        return (name, dataType, shape, params)
    }

    static func decodeInput(_ input: JSONValue, index: Int) throws(KeelError) -> NamedTensor {
        let (name, dataType, shape, params) = try decodeTensorHeader(input, index: index)
        guard let data = input["data"] else {
            throw .invalidInput("input '\(name)' has no 'data'")
        }
        var flat: [JSONValue] = []
        flat.reserveCapacity(min(Tensor.elementCount(shape), 1 << 20))
        try flatten(data, into: &flat, name: name)
        let expected = Tensor.elementCount(shape)
        guard flat.count == expected else {
            throw .invalidInput("input '\(name)' has \(flat.count) data elements, but shape \(Tensor.describe(shape)) needs \(expected)")
        }
        let storage = try convert(flat, to: dataType, name: name)
        return NamedTensor(name: name, tensor: Tensor(unchecked: shape, data: storage), parameters: params)
    }

    private static func flatten(_ v: JSONValue, into out: inout [JSONValue], name: String) throws(KeelError) {
        switch v {
        case .array(let a):
            for e in a { try flatten(e, into: &out, name: name) }
        case .object:
            throw .invalidInput("input '\(name)' data contains an object; expected numbers, booleans or strings")
        default:
            out.append(v)
        }
    }

    /// Converts flat JSON elements into typed storage, checking each element's kind and range.
    public static func convert(_ flat: [JSONValue], to type: DataType, name: String) throws(KeelError) -> TensorData {
        func fail(_ i: Int, _ v: JSONValue) -> KeelError {
            .invalidInput("input '\(name)' element \(i) is \(describe(v)), datatype \(type.rawValue) expects \(expectation(type))")
        }
        func floating(_ i: Int, _ v: JSONValue) throws(KeelError) -> Double {
            switch v {
            case .number(let d): return d
            case .null: return .nan  // JSON has no NaN; null marks a missing value
            case .string(let s):
                switch s.lowercased() {
                case "nan": return .nan
                case "inf", "infinity", "+inf": return .infinity
                case "-inf", "-infinity": return -.infinity
                default: throw fail(i, v)
                }
            default: throw fail(i, v)
            }
        }
        func integer<T: FixedWidthInteger>(_ i: Int, _ v: JSONValue, _: T.Type) throws(KeelError) -> T {
            guard case .number(let d) = v, d.rounded() == d, let t = T(exactly: d) else { throw fail(i, v) }
            return t
        }
        func map<T>(_ f: (Int, JSONValue) throws(KeelError) -> T) throws(KeelError) -> [T] {
            var out = [T]()
            out.reserveCapacity(flat.count)
            for (i, v) in flat.enumerated() { out.append(try f(i, v)) }
            return out
        }
        switch type {
        case .bool:
            return .bool(try map { (i, v) throws(KeelError) in
                switch v {
                case .bool(let b): return b
                case .number(let d) where d == 0 || d == 1: return d == 1
                default: throw fail(i, v)
                }
            })
        case .int8: return .int8(try map { (i, v) throws(KeelError) in try integer(i, v, Int8.self) })
        case .int16: return .int16(try map { (i, v) throws(KeelError) in try integer(i, v, Int16.self) })
        case .int32: return .int32(try map { (i, v) throws(KeelError) in try integer(i, v, Int32.self) })
        case .int64: return .int64(try map { (i, v) throws(KeelError) in try integer(i, v, Int64.self) })
        case .uint8: return .uint8(try map { (i, v) throws(KeelError) in try integer(i, v, UInt8.self) })
        case .uint16: return .uint16(try map { (i, v) throws(KeelError) in try integer(i, v, UInt16.self) })
        case .uint32: return .uint32(try map { (i, v) throws(KeelError) in try integer(i, v, UInt32.self) })
        case .uint64: return .uint64(try map { (i, v) throws(KeelError) in try integer(i, v, UInt64.self) })
        case .fp16: return .fp16(try map { (i, v) throws(KeelError) in HalfFloat.bits(from: Float(try floating(i, v))) })
        case .fp32: return .fp32(try map { (i, v) throws(KeelError) in Float(try floating(i, v)) })
        case .fp64: return .fp64(try map { (i, v) throws(KeelError) in try floating(i, v) })
        case .bytes:
            return .bytes(try map { (i, v) throws(KeelError) in
                guard case .string(let s) = v else { throw fail(i, v) }
                return Array(s.utf8)
            })
        }
    }

    private static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return "the boolean \(b)"
        case .number(let d): return "the number \(d)"
        case .string(let s): return "the string \"\(s.prefix(40))\""
        default: return "a nested value"
        }
    }

    private static func expectation(_ type: DataType) -> String {
        switch type {
        case .bool: return "true/false"
        case .fp16, .fp32, .fp64: return "numbers (null for missing)"
        case .bytes: return "strings"
        default:
            return "integers in range"
        }
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

