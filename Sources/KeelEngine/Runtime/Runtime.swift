import KeelCore

/// On-disk model formats Keel can load.
public enum ModelFormat: String, Sendable, Codable, CaseIterable {
    case xgboostJSON = "xgboost_json"
    case xgboostUBJ = "xgboost_ubj"
    case lightgbmText = "lightgbm_text"
    case onnx = "onnx"

    /// Platform name reported in v2 model metadata.
    public var platform: String {
        switch self {
        case .xgboostJSON, .xgboostUBJ: return "xgboost"
        case .lightgbmText: return "lightgbm"
        case .onnx: return "onnx"
        }
    }
}

/// A model file's bytes plus what is known of its format.
public struct ModelArtifact: Sendable {
    public var bytes: [UInt8]
    /// File name or path, used as a format hint by its extension; may be empty.
    public var filename: String
    /// Explicit format; when nil it is detected from content and extension.
    public var format: ModelFormat?

    public init(bytes: [UInt8], filename: String = "", format: ModelFormat? = nil) {
        self.bytes = bytes
        self.filename = filename
        self.format = format
    }
}

/// What a loaded model tells about itself: its I/O signature and descriptive facts.
public struct ModelMetadata: Sendable, Equatable {
    public var format: ModelFormat
    public var inputs: [TensorSignature]
    public var outputs: [TensorSignature]
    /// Class labels in output column order, for classifiers.
    public var classLabels: [String]
    /// Feature names stored in the model file, if any.
    public var featureNames: [String]?
    /// Format-specific facts (objective, number of trees, library version, …).
    public var properties: [String: String]

    public init(
        format: ModelFormat, inputs: [TensorSignature], outputs: [TensorSignature],
        classLabels: [String] = [], featureNames: [String]? = nil, properties: [String: String] = [:]
    ) {
        self.format = format
        self.inputs = inputs
        self.outputs = outputs
        self.classLabels = classLabels
        self.featureNames = featureNames
        self.properties = properties
    }
}

/// A model ready to run. `infer` is safe to call from many tasks at once.
public protocol LoadedModel: Sendable {
    var metadata: ModelMetadata { get }
    /// Runs the model on named input tensors and returns named output tensors.
    func infer(_ inputs: [String: Tensor]) throws(KeelError) -> [String: Tensor]
}

/// Loads the artifacts of one or more formats into runnable models.
public protocol Runtime: Sendable {
    var formats: [ModelFormat] { get }
    func load(_ artifact: ModelArtifact, format: ModelFormat) throws(KeelError) -> any LoadedModel
}
