import KeelCore

/// Picks the runtime for an artifact (detecting its format) and loads it.
public struct ModelLoader: Sendable {
    public let runtimes: [any Runtime]

    public init(runtimes: [any Runtime] = [TreeRuntime(), ONNXRuntime()]) {
        self.runtimes = runtimes
    }

    /// Loads an artifact, detecting its format unless the artifact names one.
    public func load(_ artifact: ModelArtifact) throws(KeelError) -> any LoadedModel {
        let format: ModelFormat
        if let given = artifact.format {
            format = given
        } else {
            format = try FormatDetector.detect(artifact)
        }
        guard let runtime = runtimes.first(where: { $0.formats.contains(format) }) else {
            throw .unsupported("no runtime for model format '\(format.rawValue)' is available")
        }
        return try runtime.load(artifact, format: format)
    }
}

/// Recognises a model format from content first, then the file extension.
public enum FormatDetector {
    public static func detect(_ artifact: ModelArtifact) throws(KeelError) -> ModelFormat {
        let ext = artifact.filename.split(separator: ".").last.map { $0.lowercased() } ?? ""
        if let sniffed = sniff(artifact.bytes) {
            return sniffed
        }
        let name = artifact.filename.isEmpty ? "model" : "'\(artifact.filename)'"
        if artifact.bytes.isEmpty {
            throw .invalidModel("\(name) is empty")
        }
        switch ext {
        case "json", "ubj", "txt", "onnx":
            throw .invalidModel(
                "\(name) has extension .\(ext) but its content is not a valid \(describe(ext)) model")
        default:
            throw .invalidModel(
                "cannot recognise the format of \(name); expected XGBoost JSON/UBJ (.json/.ubj), LightGBM text (.txt) or ONNX (.onnx)")
        }
    }

    private static func describe(_ ext: String) -> String {
        switch ext {
        case "json": return "XGBoost JSON"
        case "ubj": return "XGBoost UBJSON"
        case "txt": return "LightGBM text"
        default: return "ONNX"
        }
    }

    /// Content-based detection; nil when nothing matches.
    static func sniff(_ bytes: [UInt8]) -> ModelFormat? {
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return nil }
        let head = bytes[first...].prefix(64)
        if bytes[first] == UInt8(ascii: "{") {
            let next = head.dropFirst().first(where: { !isSpace($0) })
            if next == UInt8(ascii: "\"") || next == UInt8(ascii: "}") { return .xgboostJSON }
            // UBJSON objects start with a key length marker (i, U, I, l, L) or a container option.
            if let n = head.dropFirst().first, "iUIlL$#".utf8.contains(n) { return .xgboostUBJ }
            return nil
        }
        if head.starts(with: Array("tree\n".utf8)) || head.starts(with: Array("tree\r\n".utf8)) {
            return .lightgbmText
        }
        // ONNX ModelProto begins with field 1 (ir_version, varint) in every exporter we know.
        if bytes[0] == 0x08, bytes.count > 2 { return .onnx }
        return nil
    }

    private static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09
    }
}
