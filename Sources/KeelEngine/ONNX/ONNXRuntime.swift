import KeelCore

/// The native ONNX runtime: loads a `.onnx` model, checks and plans its graph once, and runs
/// it with Keel's own kernels (no ONNX Runtime library).
public struct ONNXRuntime: Runtime {
    public init() {}

    public var formats: [ModelFormat] { [.onnx] }

    public func load(_ artifact: ModelArtifact, format: ModelFormat) throws(KeelError) -> any LoadedModel {
        guard format == .onnx else {
            throw .unsupported("the ONNX runtime does not load \(format.rawValue) models")
        }
        return try ONNXModel(bytes: artifact.bytes)
    }
}

/// A loaded ONNX model: an immutable execution plan plus its v2 signature. `infer` validates
/// the inputs against the graph's declared types and shapes and runs the plan; it does no
/// graph work and is safe to call from many tasks at once.
public struct ONNXModel: LoadedModel {
    public let metadata: ModelMetadata
    let plan: ExecutionPlan

    public init(bytes: [UInt8]) throws(KeelError) {
        let budget = LoadBudget(fileSize: bytes.count)
        // What decoding builds is paid for before it is built.
        try WireCostScan.charge(bytes, to: budget)
        let model = try ModelDecoder.decode(bytes)
        let opsets = try ModelDecoder.opsets(model)
        var planner = GraphPlanner(graph: model.graph, opsets: opsets, budget: budget)
        let (plan, inferred) = try planner.plan()
        self.plan = plan

        var outputs: [TensorSignature] = []
        for (k, output) in model.graph.output.enumerated() {
            let (declared, kind) = ModelDecoder.valueInfo(output)
            let info = kind == "tensor" ? declared : inferred[k]
            guard let type = info.dataType ?? inferred[k].dataType else {
                throw .unsupported("graph output '\(output.name)' is a \(kind) Keel cannot return as a tensor")
            }
            var shape = info.shape ?? inferred[k].shape ?? []
            // Some exporters declare a batch dimension of 1 (onnxmltools labels); ONNX Runtime
            // ignores declared output shapes, so a batch dimension the graph computes wins.
            if let computed = inferred[k].shape, computed.count == shape.count, computed.first == -1 {
                shape[0] = -1
            }
            outputs.append(TensorSignature(name: output.name, dataType: type, shape: shape))
        }
        var labels: [String] = []
        for step in plan.steps {
            if let zip = step.kernel as? ZipMapKernel { labels = zip.labels }
        }
        if labels.isEmpty, let classifier = plan.steps.lazy.compactMap({ $0.kernel as? ClassLabelled }).first {
            labels = classifier.classLabels
        }
        var properties: [String: String] = [
            "ir_version": String(model.irVersion),
            "opsets": opsets.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
            "nodes": String(model.graph.node.count),
            "steps": String(plan.steps.count),
        ]
        if !model.producerName.isEmpty {
            properties["producer"] = model.producerName + (model.producerVersion.isEmpty ? "" : " " + model.producerVersion)
        }
        for entry in model.metadataProps { properties["metadata." + entry.key] = entry.value }
        metadata = ModelMetadata(
            format: .onnx, inputs: plan.inputs.map(\.signature), outputs: outputs, classLabels: labels,
            featureNames: nil, properties: properties)
    }

    public func infer(_ inputs: [String: Tensor]) throws(KeelError) -> [String: Tensor] {
        var feeds: [Tensor] = []
        feeds.reserveCapacity(plan.inputs.count)
        for input in plan.inputs {
            guard let tensor = inputs[input.signature.name] else {
                throw .invalidInput("missing input '\(input.signature.name)'; model expects \(describeInputs())")
            }
            try input.signature.validate(tensor)
            // Bounds every shape the graph derives from this one (see ShapeMath).
            _ = try ShapeMath.count(tensor.shape, what: "input '\(input.signature.name)'")
            feeds.append(tensor)
        }
        if inputs.count > plan.inputs.count {
            let known = Set(plan.inputs.map(\.signature.name))
            if let extra = inputs.keys.sorted().first(where: { !known.contains($0) }) {
                throw .invalidInput("unknown input '\(extra)'; model expects \(describeInputs())")
            }
        }
        let results = try plan.run(feeds)
        var out: [String: Tensor] = [:]
        out.reserveCapacity(results.count)
        for (name, tensor) in zip(plan.outputNames, results) { out[name] = tensor }
        return out
    }

    private func describeInputs() -> String {
        plan.inputs.map { "'\($0.signature.name)' \($0.signature.dataType.rawValue) \(Tensor.describe($0.signature.shape))" }
            .joined(separator: ", ")
    }
}

/// A kernel that knows the class labels its model predicts (classifiers), for metadata.
protocol ClassLabelled {
    var classLabels: [String] { get }
}
