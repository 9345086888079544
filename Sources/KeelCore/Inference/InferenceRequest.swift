/// A named tensor in a request or response, with its per-tensor parameters.
public struct NamedTensor: Sendable, Equatable {
    public var name: String
    public var tensor: Tensor
    public var parameters: [String: JSONValue]

    public init(name: String, tensor: Tensor, parameters: [String: JSONValue] = [:]) {
        self.name = name
        self.tensor = tensor
        self.parameters = parameters
    }
}

/// An output the caller asked for, with its parameters (e.g. `binary_data`).
public struct RequestedOutput: Sendable, Equatable {
    public var name: String
    public var parameters: [String: JSONValue]

    public init(name: String, parameters: [String: JSONValue] = [:]) {
        self.name = name
        self.parameters = parameters
    }
}

/// An inference request in the shape of the Open Inference Protocol v2.
public struct InferenceRequest: Sendable, Equatable {
    public var id: String?
    public var parameters: [String: JSONValue]
    public var inputs: [NamedTensor]
    /// Requested outputs; empty means all.
    public var outputs: [RequestedOutput]

    public init(
        id: String? = nil, parameters: [String: JSONValue] = [:], inputs: [NamedTensor],
        outputs: [RequestedOutput] = []
    ) {
        self.id = id
        self.parameters = parameters
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Inputs by name, for `LoadedModel.infer`.
    public var tensorsByName: [String: Tensor] {
        var out: [String: Tensor] = [:]
        for input in inputs { out[input.name] = input.tensor }
        return out
    }
}

/// An inference response in the shape of the Open Inference Protocol v2.
public struct InferenceResponse: Sendable, Equatable {
    public var modelName: String
    public var modelVersion: String?
    public var id: String?
    public var parameters: [String: JSONValue]
    public var outputs: [NamedTensor]

    public init(
        modelName: String, modelVersion: String? = nil, id: String? = nil,
        parameters: [String: JSONValue] = [:], outputs: [NamedTensor]
    ) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.id = id
        self.parameters = parameters
        self.outputs = outputs
    }
}
