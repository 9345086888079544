/// Element type of a tensor, named as in the Open Inference Protocol v2.
public enum DataType: String, Sendable, CaseIterable, Codable, Hashable {
    case bool = "BOOL"
    case int8 = "INT8"
    case int16 = "INT16"
    case int32 = "INT32"
    case int64 = "INT64"
    case uint8 = "UINT8"
    case uint16 = "UINT16"
    case uint32 = "UINT32"
    case uint64 = "UINT64"
    case fp16 = "FP16"
    case fp32 = "FP32"
    case fp64 = "FP64"
    case bytes = "BYTES"

    /// Size of one element in the binary tensor encoding; nil for BYTES (length-prefixed).
    public var byteWidth: Int? {
        switch self {
        case .bool, .int8, .uint8: return 1
        case .int16, .uint16, .fp16: return 2
        case .int32, .uint32, .fp32: return 4
        case .int64, .uint64, .fp64: return 8
        case .bytes: return nil
        }
    }

    /// Parses a v2 datatype name (case-insensitive), or returns nil.
    public init?(v2Name: String) {
        self.init(rawValue: v2Name.uppercased())
    }
}
