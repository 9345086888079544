import Foundation
import KeelCore

/// Maps margins to what the model's objective outputs.
public enum OutputTransform: Sendable, Equatable {
    case identity
    /// 1 / (1 + exp(-scale·x)), applied per output.
    case sigmoid(scale: Double)
    /// Softmax across outputs.
    case softmax
    /// exp(x) (log-link regression: Poisson, Gamma, Tweedie).
    case exp
    /// x·|x| (LightGBM `regression` with `sqrt`).
    case signedSquare
    /// log(1 + exp(x)) (LightGBM `cross_entropy_lambda`).
    case softplus

    func apply(_ values: UnsafeMutableBufferPointer<Double>) {
        switch self {
        case .identity:
            return
        case .sigmoid(let scale):
            for i in values.indices { values[i] = 1 / (1 + Foundation.exp(-scale * values[i])) }
        case .softmax:
            guard let top = values.max() else { return }
            var sum = 0.0
            for i in values.indices {
                values[i] = Foundation.exp(values[i] - top)
                sum += values[i]
            }
            for i in values.indices { values[i] /= sum }
        case .exp:
            for i in values.indices { values[i] = Foundation.exp(values[i]) }
        case .signedSquare:
            for i in values.indices { values[i] = values[i] * abs(values[i]) }
        case .softplus:
            for i in values.indices { values[i] = Foundation.log1p(Foundation.exp(values[i])) }
        }
    }
}

/// What a tree model predicts, which decides its outputs.
public enum TreeTask: Sendable, Equatable {
    /// One margin; the transformed value is the positive-class probability.
    case binaryClassifier
    /// One margin per class; the transformed values are class probabilities.
    case multiclassClassifier
    /// One or more real-valued targets.
    case regression
}

/// A tree ensemble with its objective, served under the native I/O convention:
/// input `input` FP32 [-1, features] (NaN = missing); classifiers output `probabilities`
/// FP32 [-1, C] and `label` INT64 [-1]; regressors `predictions` FP32 [-1] (or [-1, T]).
public struct TreeModel: LoadedModel {
    public static let inputName = "input"
    public let ensemble: TreeEnsemble
    public let task: TreeTask
    public let transform: OutputTransform
    public let metadata: ModelMetadata

    public init(
        ensemble: TreeEnsemble, task: TreeTask, transform: OutputTransform, format: ModelFormat,
        featureNames: [String]?, properties: [String: String]
    ) throws(KeelError) {
        if task == .binaryClassifier, ensemble.targetCount != 1 {
            throw .invalidModel("a binary classifier needs one output, the model has \(ensemble.targetCount)")
        }
        if let names = featureNames, names.count != ensemble.featureCount {
            throw .invalidModel("model lists \(names.count) feature names for \(ensemble.featureCount) features")
        }
        self.ensemble = ensemble
        self.task = task
        self.transform = transform
        let input = TensorSignature(name: Self.inputName, dataType: .fp32, shape: [-1, ensemble.featureCount])
        var outputs: [TensorSignature]
        var labels: [String] = []
        switch task {
        case .binaryClassifier, .multiclassClassifier:
            let classes = task == .binaryClassifier ? 2 : ensemble.targetCount
            labels = (0..<classes).map(String.init)
            outputs = [
                TensorSignature(name: "probabilities", dataType: .fp32, shape: [-1, classes]),
                TensorSignature(name: "label", dataType: .int64, shape: [-1]),
            ]
        case .regression:
            let shape = ensemble.targetCount == 1 ? [-1] : [-1, ensemble.targetCount]
            outputs = [TensorSignature(name: "predictions", dataType: .fp32, shape: shape)]
        }
        var props = properties
        props["trees"] = String(ensemble.treeCount)
        props["nodes"] = String(ensemble.nodeCount)
        props["features"] = String(ensemble.featureCount)
        metadata = ModelMetadata(
            format: format, inputs: [input], outputs: outputs, classLabels: labels,
            featureNames: featureNames, properties: props)
    }

    public func infer(_ inputs: [String: Tensor]) throws(KeelError) -> [String: Tensor] {
        let signature = metadata.inputs[0]
        guard let tensor = inputs[Self.inputName] else {
            let given = inputs.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw .invalidInput("missing input '\(Self.inputName)' (got \(given.isEmpty ? "no inputs" : given)); model expects 'input' FP32 \(Tensor.describe(signature.shape))")
        }
        if let extra = inputs.keys.sorted().first(where: { $0 != Self.inputName }) {
            throw .invalidInput("unknown input '\(extra)'; model expects only 'input'")
        }
        try signature.validate(tensor)
        guard let values = tensor.floats else {
            throw .invalidInput("input 'input' must be FP32")
        }
        let rows = tensor.shape[0]
        let (outputCount, overflow) = rows.multipliedReportingOverflow(by: ensemble.targetCount)
        guard !overflow, outputCount <= ShapeMath.maxElements else {
            throw .invalidInput("\(rows) rows × \(ensemble.targetCount) outputs exceeds the limit of \(ShapeMath.maxElements) output values per request")
        }
        return predict(values, rows: rows)
    }

    /// Runs `rows` rows of features (row-major) through the model.
    public func predict(_ values: [Float], rows: Int) -> [String: Tensor] {
        let targets = ensemble.targetCount
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: max(1, rows * targets)) { margins in
            values.withUnsafeBufferPointer { input in
                ensemble.margins(input, rows: rows, into: margins)
            }
            for r in 0..<rows {
                transform.apply(UnsafeMutableBufferPointer(rebasing: margins[(r * targets)..<((r + 1) * targets)]))
            }
            return outputs(margins, rows: rows)
        }
    }

    private func outputs(_ values: UnsafeMutableBufferPointer<Double>, rows: Int) -> [String: Tensor] {
        switch task {
        case .binaryClassifier:
            var probabilities = [Float](repeating: 0, count: rows * 2)
            var labels = [Int64](repeating: 0, count: rows)
            for r in 0..<rows {
                let p = values[r]
                probabilities[2 * r] = Float(1 - p)
                probabilities[2 * r + 1] = Float(p)
                labels[r] = p > 0.5 ? 1 : 0
            }
            return [
                "probabilities": Tensor(unchecked: [rows, 2], data: .fp32(probabilities)),
                "label": Tensor(unchecked: [rows], data: .int64(labels)),
            ]
        case .multiclassClassifier:
            let classes = ensemble.targetCount
            var probabilities = [Float](repeating: 0, count: rows * classes)
            var labels = [Int64](repeating: 0, count: rows)
            for r in 0..<rows {
                var best = 0
                for k in 0..<classes {
                    let p = values[r * classes + k]
                    probabilities[r * classes + k] = Float(p)
                    if p > values[r * classes + best] { best = k }
                }
                labels[r] = Int64(best)
            }
            return [
                "probabilities": Tensor(unchecked: [rows, classes], data: .fp32(probabilities)),
                "label": Tensor(unchecked: [rows], data: .int64(labels)),
            ]
        case .regression:
            let targets = ensemble.targetCount
            let predictions = (0..<(rows * targets)).map { Float(values[$0]) }
            let shape = targets == 1 ? [rows] : [rows, targets]
            return ["predictions": Tensor(unchecked: shape, data: .fp32(predictions))]
        }
    }
}

/// The runtime for tree-ensemble formats: XGBoost JSON/UBJ and LightGBM text.
public struct TreeRuntime: Runtime {
    public init() {}

    public var formats: [ModelFormat] { [.xgboostJSON, .xgboostUBJ, .lightgbmText] }

    public func load(_ artifact: ModelArtifact, format: ModelFormat) throws(KeelError) -> any LoadedModel {
        let budget = LoadBudget(fileSize: artifact.bytes.count)
        switch format {
        case .xgboostJSON:
            let document = try JSONParser.parse(artifact.bytes)
            // KeelCore's parser cannot charge as it builds: what it built is charged before the
            // loader builds more, so the two together stay within the budget.
            try budget.charge(JSONDocumentCost.bytes(document), of: 1, for: "the parsed JSON document")
            return try XGBoostLoader.load(document: document, format: format, budget: budget)
        case .xgboostUBJ:
            let document = try UBJSONParser.parse(artifact.bytes, budget: budget)
            return try XGBoostLoader.load(document: document, format: format, budget: budget)
        case .lightgbmText:
            return try LightGBMLoader.load(text: artifact.bytes, budget: budget)
        case .onnx:
            throw .unsupported("the tree runtime does not load ONNX models")
        }
    }
}
