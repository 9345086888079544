import KeelCore

/// Walks an ONNX file's protobuf wire format before it is decoded and charges the load budget
/// with what decoding will build: a message costs its Swift struct (and storage object) even
/// when the file spends two bytes on it, so a file of empty nodes or attributes would
/// otherwise cost hundreds of times its size. It also refuses packed fields split into many
/// chunks (decoding reserves exactly per chunk, which would take quadratic time).
struct WireCostScan {
    /// The messages of the ONNX subset Keel decodes.
    enum Kind {
        case model, graph, node, attribute, tensor, segment, sparseTensor, valueInfo, typeProto, tensorType
        case shape, dimension, sequence, map, optional, sparseTensorType, stringEntry, opset, function
    }

    /// How a field number of a message is decoded.
    enum Field {
        case message(Kind)
        /// A repeated string or bytes field: one String/Data per element plus its bytes.
        case strings
        /// A repeated number: `width` bytes per decoded element; `varint` when the wire
        /// encoding is a varint (so one byte can be one element).
        case numbers(width: Int, varint: Bool)
    }

    /// Nesting deeper than this is refused (the decoder's own limit is the same).
    static let maxDepth = 64
    /// Packed chunks of one field in one message.
    static let maxPackedChunks = 64

    private let bytes: [UInt8]
    private let budget: LoadBudget

    /// Scans a whole `ModelProto`, charging `budget`.
    static func charge(_ bytes: [UInt8], to budget: LoadBudget) throws(KeelError) {
        let scan = WireCostScan(bytes: bytes, budget: budget)
        try scan.message(.model, from: 0, to: bytes.count, depth: 0)
    }

    private init(bytes: [UInt8], budget: LoadBudget) {
        self.bytes = bytes
        self.budget = budget
    }

    private func malformed(_ what: String, at pos: Int) -> KeelError {
        .invalidModel("not a valid ONNX model: the protobuf bytes are truncated or malformed (\(what) at byte \(pos)); expected a ModelProto as written by onnx.save_model")
    }

    private func varint(_ pos: inout Int, end: Int) throws(KeelError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        let start = pos
        while pos < end {
            let b = bytes[pos]
            pos += 1
            if shift < 64 { value |= UInt64(b & 0x7F) << shift }
            if b & 0x80 == 0 { return value }
            shift += 7
            if shift >= 70 { break }
        }
        throw malformed("a bad varint", at: start)
    }

    private func message(_ kind: Kind, from start: Int, to end: Int, depth: Int) throws(KeelError) {
        guard depth <= Self.maxDepth else {
            throw .invalidModel("the ONNX model nests messages deeper than \(Self.maxDepth)")
        }
        var pos = start
        var chunks: [UInt64: Int] = [:]
        while pos < end {
            let tagAt = pos
            let tag = try varint(&pos, end: end)
            let number = tag >> 3
            let field = Self.schema(kind, number)
            switch tag & 7 {
            case 0:
                _ = try varint(&pos, end: end)
                if case .numbers(let width, _)? = field { try charge(2 * width, "a repeated number") }
            case 1, 5:
                let width = tag & 7 == 1 ? 8 : 4
                guard end - pos >= width else { throw malformed("a truncated fixed-width field", at: tagAt) }
                pos += width
                if case .numbers(let w, _)? = field { try charge(2 * w, "a repeated number") }
            case 2:
                let length = try varint(&pos, end: end)
                guard length <= UInt64(end - pos) else { throw malformed("a field longer than its message", at: tagAt) }
                let n = Int(length)
                switch field {
                case .message(let sub)?:
                    // Repeated messages grow by doubling, so each may cost twice its size.
                    try charge(2 * Self.cost(sub), "a \(sub) message")
                    try message(sub, from: pos, to: pos + n, depth: depth + 1)
                case .strings?:
                    try charge(2 * 16 + n, "a string")
                case .numbers(let width, let isVarint)?:
                    let count = isVarint ? bytes[pos..<(pos + n)].reduce(0) { $0 + ($1 & 0x80 == 0 ? 1 : 0) } : n / max(width, 1)
                    try charge(count * width, "a packed array of \(count) numbers")
                    chunks[number, default: 0] += 1
                    guard chunks[number, default: 0] <= Self.maxPackedChunks else {
                        throw .invalidModel("the ONNX model splits one packed field (\(kind) field \(number)) into more than \(Self.maxPackedChunks) chunks")
                    }
                case nil:
                    // Strings, bytes and unknown fields are kept as bytes.
                    try charge(n + 16, "a field")
                }
                pos += n
            default:
                throw malformed("an unsupported wire type \(tag & 7)", at: tagAt)
            }
        }
    }

    private func charge(_ bytes: Int, _ what: String) throws(KeelError) {
        try budget.charge(bytes, of: 1, for: "decoding the ONNX model (\(what))")
    }

    /// Memory one decoded message occupies: its struct and, for messages that keep their
    /// fields in a storage object, a generous estimate of that object.
    static func cost(_ kind: Kind) -> Int {
        switch kind {
        case .model: return MemoryLayout<ONNXModelProto>.stride + 512
        case .graph: return MemoryLayout<ONNXGraphProto>.stride
        case .node: return MemoryLayout<ONNXNodeProto>.stride
        case .attribute: return MemoryLayout<ONNXAttributeProto>.stride + 1024
        case .tensor: return MemoryLayout<ONNXTensorProto>.stride
        case .segment: return MemoryLayout<ONNXTensorProto.Segment>.stride
        case .sparseTensor: return MemoryLayout<ONNXSparseTensorProto>.stride + 2 * MemoryLayout<ONNXTensorProto>.stride + 64
        case .valueInfo: return MemoryLayout<ONNXValueInfoProto>.stride
        case .typeProto: return MemoryLayout<ONNXTypeProto>.stride + 256
        case .tensorType: return MemoryLayout<ONNXTypeProto.Tensor>.stride
        case .shape: return MemoryLayout<ONNXTensorShapeProto>.stride
        case .dimension: return MemoryLayout<ONNXTensorShapeProto.Dimension>.stride
        case .sequence, .map, .optional: return 256
        case .sparseTensorType: return MemoryLayout<ONNXTypeProto.SparseTensor>.stride + 256
        case .stringEntry: return MemoryLayout<ONNXStringStringEntryProto>.stride
        case .opset: return MemoryLayout<ONNXOperatorSetIdProto>.stride
        case .function: return MemoryLayout<ONNXFunctionProto>.stride
        }
    }

    /// Field numbers of onnx.proto that decode into messages or repeated values.
    static func schema(_ kind: Kind, _ number: UInt64) -> Field? {
        switch (kind, number) {
        case (.model, 7): return .message(.graph)
        case (.model, 8): return .message(.opset)
        case (.model, 14): return .message(.stringEntry)
        case (.model, 25): return .message(.function)
        case (.graph, 1): return .message(.node)
        case (.graph, 5): return .message(.tensor)
        case (.graph, 11), (.graph, 12), (.graph, 13): return .message(.valueInfo)
        case (.graph, 15): return .message(.sparseTensor)
        case (.node, 1), (.node, 2): return .strings
        case (.node, 5): return .message(.attribute)
        case (.attribute, 5), (.attribute, 10): return .message(.tensor)
        case (.attribute, 6), (.attribute, 11): return .message(.graph)
        case (.attribute, 7): return .numbers(width: 4, varint: false)
        case (.attribute, 8): return .numbers(width: 8, varint: true)
        case (.attribute, 9): return .strings
        case (.attribute, 14), (.attribute, 15): return .message(.typeProto)
        case (.attribute, 22), (.attribute, 23): return .message(.sparseTensor)
        case (.valueInfo, 2): return .message(.typeProto)
        case (.tensor, 1), (.tensor, 7): return .numbers(width: 8, varint: true)
        case (.tensor, 3): return .message(.segment)
        case (.tensor, 4): return .numbers(width: 4, varint: false)
        case (.tensor, 5): return .numbers(width: 4, varint: true)
        case (.tensor, 6): return .strings
        case (.tensor, 10): return .numbers(width: 8, varint: false)
        case (.tensor, 11): return .numbers(width: 8, varint: true)
        case (.tensor, 13): return .message(.stringEntry)
        case (.sparseTensor, 1), (.sparseTensor, 2): return .message(.tensor)
        case (.sparseTensor, 3): return .numbers(width: 8, varint: true)
        case (.typeProto, 1): return .message(.tensorType)
        case (.typeProto, 4): return .message(.sequence)
        case (.typeProto, 5): return .message(.map)
        case (.typeProto, 8): return .message(.sparseTensorType)
        case (.typeProto, 9): return .message(.optional)
        case (.tensorType, 2), (.sparseTensorType, 2): return .message(.shape)
        case (.shape, 1): return .message(.dimension)
        case (.sequence, 1), (.optional, 1): return .message(.typeProto)
        case (.map, 2): return .message(.typeProto)
        default: return nil
        }
    }
}
