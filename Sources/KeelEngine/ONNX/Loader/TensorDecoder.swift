import Foundation
import KeelCore

/// Turns a `TensorProto` (initializer, Constant value, attribute) into a `Tensor`: typed
/// fields or little-endian `raw_data`, checked against the dims; external data is refused.
enum TensorDecoder {
    static func decode(_ proto: ONNXTensorProto, what: String) throws(KeelError) -> Tensor {
        if proto.dataLocation == .external || !proto.externalData.isEmpty {
            let file = proto.externalData.first(where: { $0.key == "location" })?.value ?? "?"
            throw .unsupported(
                "\(what) stores its data in an external file ('\(file)'); Keel loads self-contained models only — re-save the model with onnx.save_model(model, path, save_as_external_data=False)")
        }
        if proto.hasSegment {
            throw .unsupported("\(what) is a segment of a larger tensor; segmented tensors are not supported")
        }
        let code = Int(proto.dataType)
        guard let type = ONNXDataType.dataType(code: code) else {
            throw .unsupported("\(what) has element type \(ONNXDataType.onnxName(code: code)), which Keel does not run")
        }
        var shape: [Int] = []
        for d in proto.dims {
            guard let v = Int(exactly: d), v >= 0 else {
                throw .invalidModel("\(what) has an invalid dimension \(d)")
            }
            shape.append(v)
        }
        let count: Int
        do {
            count = try ShapeMath.count(shape, what: what)
        } catch {
            throw .invalidModel(error.message)
        }
        let data: TensorData
        if proto.hasRawData {
            data = try fromRaw(proto.rawData, type: type, count: count, what: what)
        } else {
            data = try fromFields(proto, type: type, what: what)
        }
        guard data.count == count else {
            throw .invalidModel("\(what) has shape \(Tensor.describe(shape)) (\(count) elements) but holds \(data.count) values")
        }
        return Tensor(unchecked: shape, data: data)
    }

    private static func fromFields(_ p: ONNXTensorProto, type: DataType, what: String) throws(KeelError) -> TensorData {
        func narrow<T: FixedWidthInteger>(_ values: [Int32], _: T.Type) throws(KeelError) -> [T] {
            var out = [T]()
            out.reserveCapacity(values.count)
            for v in values {
                guard let n = T(exactly: v) else { throw .invalidModel("\(what) holds \(v), out of range for \(type.rawValue)") }
                out.append(n)
            }
            return out
        }
        switch type {
        case .fp32: return .fp32(p.floatData)
        case .fp64: return .fp64(p.doubleData)
        case .int64: return .int64(p.int64Data)
        case .int32: return .int32(p.int32Data)
        case .int16: return .int16(try narrow(p.int32Data, Int16.self))
        case .int8: return .int8(try narrow(p.int32Data, Int8.self))
        case .uint8: return .uint8(try narrow(p.int32Data, UInt8.self))
        case .uint16: return .uint16(try narrow(p.int32Data, UInt16.self))
        case .fp16: return .fp16(p.int32Data.map { UInt16(truncatingIfNeeded: $0) })
        case .bool: return .bool(p.int32Data.map { $0 != 0 })
        case .uint32: return .uint32(p.uint64Data.map { UInt32(truncatingIfNeeded: $0) })
        case .uint64: return .uint64(p.uint64Data)
        case .bytes: return .bytes(p.stringData.map { [UInt8]($0) })
        }
    }

    private static func fromRaw(_ raw: Data, type: DataType, count: Int, what: String) throws(KeelError) -> TensorData {
        guard let width = type.byteWidth else {
            throw .invalidModel("\(what): STRING tensors cannot use raw_data")
        }
        guard raw.count == count * width else {
            throw .invalidModel("\(what) needs \(count * width) bytes of raw_data for \(count) \(type.rawValue) elements, has \(raw.count)")
        }
        func load<T: FixedWidthInteger>(_: T.Type) -> [T] {
            raw.withUnsafeBytes { buf in
                (0..<count).map { T(littleEndian: buf.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
            }
        }
        switch type {
        case .fp32: return .fp32(load(UInt32.self).map { Float(bitPattern: $0) })
        case .fp64: return .fp64(load(UInt64.self).map { Double(bitPattern: $0) })
        case .int64: return .int64(load(Int64.self))
        case .int32: return .int32(load(Int32.self))
        case .int16: return .int16(load(Int16.self))
        case .int8: return .int8(load(Int8.self))
        case .uint8: return .uint8(load(UInt8.self))
        case .uint16: return .uint16(load(UInt16.self))
        case .uint32: return .uint32(load(UInt32.self))
        case .uint64: return .uint64(load(UInt64.self))
        case .fp16: return .fp16(load(UInt16.self))
        case .bool: return .bool(load(UInt8.self).map { $0 != 0 })
        case .bytes: return .bytes([])
        }
    }
}
