import Foundation
import KeelCore
import SwiftProtobuf

/// Protobuf messages of `inference.GRPCInferenceService` to and from Keel's protocol-neutral
/// requests and responses. Every shape, count and element is checked before it is used: a
/// declared shape is bounded (`Tensor.checkedRequestShape`) before anything is allocated, raw
/// contents must hold exactly the bytes the shape needs, and typed contents must fit the
/// declared datatype (an `int_contents` value of 300 is not an INT8).
enum GRPCCodec {
    /// Most parameters one request or tensor may carry.
    static let maxParameters = 64

    static func request(_ message: Inference_ModelInferRequest) throws(KeelError) -> InferenceRequest {
        let raw = message.rawInputContents
        guard raw.isEmpty || raw.count == message.inputs.count else {
            throw .invalidInput("raw_input_contents has \(raw.count) entries for \(message.inputs.count) inputs; send one per input, in order")
        }
        var inputs: [NamedTensor] = []
        inputs.reserveCapacity(message.inputs.count)
        for (i, input) in message.inputs.enumerated() {
            let name = String(input.name.prefix(64))
            guard !input.name.isEmpty else { throw .invalidInput("inputs[\(i)] has no name") }
            guard let type = DataType(v2Name: input.datatype) else {
                throw .invalidInput("input '\(name)' has unknown datatype '\(input.datatype.prefix(32))'")
            }
            guard input.shape.count <= Tensor.maxRank else {
                throw .invalidInput("input '\(name)' has \(input.shape.count) dimensions; at most \(Tensor.maxRank) are allowed")
            }
            var shape: [Int] = []
            for d in input.shape {
                guard let n = Int(exactly: d) else { throw .invalidInput("input '\(name)' has dimension \(d) out of range") }
                shape.append(n)
            }
            let count = try Tensor.checkedRequestShape(shape, what: "input '\(name)'")
            let data: TensorData
            if raw.isEmpty {
                data = try typed(input.contents, type: type, count: count, name: name)
            } else {
                guard !input.hasContents || isEmpty(input.contents) else {
                    throw .invalidInput("input '\(name)' has contents, but the request sends raw_input_contents; send one form for every input")
                }
                let bytes = raw[i]
                data = try V2BinaryCodec.decodeData(ArraySlice([UInt8](bytes)), type: type, count: count, name: name)
            }
            inputs.append(NamedTensor(name: input.name, tensor: try Tensor(shape: shape, data: data), parameters: try parameters(input.parameters)))
        }
        try V2JSONCodec.checkUniqueNames(inputs)
        var outputs: [RequestedOutput] = []
        for output in message.outputs {
            guard !output.name.isEmpty else { throw .invalidInput("a requested output has no name") }
            outputs.append(RequestedOutput(name: output.name, parameters: try parameters(output.parameters)))
        }
        var params = try parameters(message.parameters)
        // v2 JSON carries entity ids as an array; a gRPC parameter is a scalar, so the ids
        // travel as the text of a JSON array of strings or integers.
        if case .string(let text)? = params["entity_ids"] {
            guard let list = try? JSONParser.parse(Array(text.utf8), errorCode: .invalidInput), list.arrayValue != nil else {
                throw .invalidInput("parameters.entity_ids must be the text of a JSON array with one id per row")
            }
            params["entity_ids"] = list
        }
        return InferenceRequest(id: message.id.isEmpty ? nil : message.id, parameters: params, inputs: inputs, outputs: outputs)
    }

    static func isEmpty(_ c: Inference_InferTensorContents) -> Bool {
        c.boolContents.isEmpty && c.intContents.isEmpty && c.int64Contents.isEmpty && c.uintContents.isEmpty && c.uint64Contents.isEmpty
            && c.fp32Contents.isEmpty && c.fp64Contents.isEmpty && c.bytesContents.isEmpty
    }

    /// Elements from the typed list the datatype uses; every other list must be empty.
    static func typed(_ c: Inference_InferTensorContents, type: DataType, count: Int, name: String) throws(KeelError) -> TensorData {
        let used: Int
        switch type {
        case .bool: used = c.boolContents.count
        case .int8, .int16, .int32: used = c.intContents.count
        case .int64: used = c.int64Contents.count
        case .uint8, .uint16, .uint32: used = c.uintContents.count
        case .uint64: used = c.uint64Contents.count
        case .fp32: used = c.fp32Contents.count
        case .fp64: used = c.fp64Contents.count
        case .bytes: used = c.bytesContents.count
        case .fp16: throw .invalidInput("input '\(name)' is FP16, which travels only in raw_input_contents")
        }
        let total = c.boolContents.count + c.intContents.count + c.int64Contents.count + c.uintContents.count + c.uint64Contents.count
            + c.fp32Contents.count + c.fp64Contents.count + c.bytesContents.count
        guard total == used else {
            throw .invalidInput("input '\(name)' is \(type.rawValue) but its contents fill another datatype's list")
        }
        guard used == count else {
            throw .invalidInput("input '\(name)' has \(used) elements in its contents, but its shape needs \(count)")
        }
        func narrow<T: FixedWidthInteger, S: BinaryInteger>(_ values: [S], _: T.Type) throws(KeelError) -> [T] {
            var out: [T] = []
            out.reserveCapacity(values.count)
            for v in values {
                guard let x = T(exactly: v) else { throw .invalidInput("input '\(name)' has value \(v), out of range for \(type.rawValue)") }
                out.append(x)
            }
            return out
        }
        switch type {
        case .bool: return .bool(c.boolContents)
        case .int8: return .int8(try narrow(c.intContents, Int8.self))
        case .int16: return .int16(try narrow(c.intContents, Int16.self))
        case .int32: return .int32(c.intContents)
        case .int64: return .int64(c.int64Contents)
        case .uint8: return .uint8(try narrow(c.uintContents, UInt8.self))
        case .uint16: return .uint16(try narrow(c.uintContents, UInt16.self))
        case .uint32: return .uint32(c.uintContents)
        case .uint64: return .uint64(c.uint64Contents)
        case .fp32: return .fp32(c.fp32Contents)
        case .fp64: return .fp64(c.fp64Contents)
        case .bytes: return .bytes(c.bytesContents.map { [UInt8]($0) })
        case .fp16: return .fp16([])  // refused above
        }
    }

    static func parameters(_ map: [String: Inference_InferParameter]) throws(KeelError) -> [String: JSONValue] {
        guard map.count <= maxParameters else { throw .invalidInput("\(map.count) parameters; at most \(maxParameters) are allowed") }
        var out: [String: JSONValue] = [:]
        for (key, p) in map {
            switch p.parameterChoice {
            case .boolParam(let b)?: out[key] = .bool(b)
            case .int64Param(let n)?: out[key] = .number(Double(n))
            case .stringParam(let s)?: out[key] = .string(s)
            case .doubleParam(let d)?: out[key] = .number(d)
            case .uint64Param(let n)?: out[key] = .number(Double(n))
            case nil: out[key] = .null
            }
        }
        return out
    }

    static func parameter(_ v: JSONValue) -> Inference_InferParameter {
        var p = Inference_InferParameter()
        switch v {
        case .bool(let b): p.boolParam = b
        case .string(let s): p.stringParam = s
        case .number(let d):
            if d == d.rounded(), abs(d) < 9.0e15 { p.int64Param = Int64(d) } else { p.doubleParam = d }
        default:
            var w = JSONWriter(nonFinite: .null)
            w.value(v)
            p.stringParam = String(decoding: w.bytes, as: UTF8.self)
        }
        return p
    }

    /// A response with every output in `raw_output_contents`, as Triton answers.
    static func response(_ r: InferenceResponse) -> Inference_ModelInferResponse {
        var m = Inference_ModelInferResponse()
        m.modelName = r.modelName
        m.modelVersion = r.modelVersion ?? ""
        m.id = r.id ?? ""
        m.parameters = r.parameters.mapValues(parameter)
        for o in r.outputs {
            var t = Inference_ModelInferResponse.InferOutputTensor()
            t.name = o.name
            t.datatype = o.tensor.data.dataType.rawValue
            t.shape = o.tensor.shape.map { Int64($0) }
            t.parameters = o.parameters.mapValues(parameter)
            m.outputs.append(t)
            m.rawOutputContents.append(Data(V2BinaryCodec.encodeData(o.tensor.data)))
        }
        return m
    }
}
