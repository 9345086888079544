import KeelCore

/// How to read one model version's inputs and outputs for monitoring: which output holds the
/// class probabilities (or the regression prediction), the class labels, the positive class,
/// and the feature schema raw records go through.
public struct OutputProfile: Sendable, Equatable {
    public enum Task: String, Sendable, Equatable {
        case binary
        case multiclass
        case regression
        case unknown
    }

    public var task: Task
    /// FP32 [N, C] class probabilities (classifiers).
    public var probabilities: String?
    /// FP32 [N] or [N, 1] predictions (regressors).
    public var prediction: String?
    public var classLabels: [String]
    /// Index of the class whose probability is the binary score.
    public var positiveClass: Int
    public var schema: FeatureSchema?
    /// The FP32 [N, W] input whose rows are logged as the encoded inputs.
    public var vectorInput: String?

    public init(
        task: Task, probabilities: String? = nil, prediction: String? = nil, classLabels: [String] = [], positiveClass: Int = 1,
        schema: FeatureSchema? = nil, vectorInput: String? = nil
    ) {
        self.task = task
        self.probabilities = probabilities
        self.prediction = prediction
        self.classLabels = classLabels
        self.positiveClass = positiveClass
        self.schema = schema
        self.vectorInput = vectorInput
    }

    /// The class index a label names: a class label, an index, a boolean (binary) or a
    /// numeric string; nil when it names none.
    public func classIndex(of label: String) -> Int? {
        if let k = classLabels.firstIndex(of: label) { return k }
        let count = task == .binary ? 2 : classLabels.count
        if let i = Int(label), i >= 0, i < max(count, 2) { return i }
        if let d = Double(label), let i = Int(exactly: d), i >= 0, i < max(count, 2) { return i }
        if task == .binary {
            switch label.lowercased() {
            case "true", "yes": return positiveClass
            case "false", "no": return positiveClass == 1 ? 0 : 1
            default: break
            }
        }
        return nil
    }
}
