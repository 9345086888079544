import KeelCore

/// Where a version's answers come from when it cannot give them (`fallback:` in config.yaml):
/// another served model (its default version unless one is named), or a static default answer.
public enum FallbackSettings: Sendable, Equatable {
    /// `fallback: {model: churn-small, version: "1"}`; `version` may also be an alias.
    case model(name: String, version: String?)
    /// `fallback: {outputs: {probabilities: [0.9, 0.1], label: 0}}`: one row's value per output,
    /// checked against the version's output signature when it loads (`StaticAnswer`).
    case outputs([String: YAMLValue])

    /// Most outputs a static answer may name.
    public static let maxOutputs = 256

    /// Reads the `fallback:` mapping (nil when absent).
    static func parse(_ value: YAMLValue?, source: String) throws(KeelError) -> FallbackSettings? {
        guard let value else { return nil }
        let f = try ConfigFields(value, source: source, context: "fallback", known: ["model", "version", "outputs"])
        switch (f.values["model"], f.values["outputs"]) {
        case (.some, nil):
            guard let name = try f.string("model"), ResourceName.isValid(name) else {
                throw f.fail("'model' must be a model name (1–\(ResourceName.maxLength) ASCII letters, digits, '-', '_' or '.')")
            }
            let version = try f.values["version"].map { (v: YAMLValue) throws(KeelError) -> String in
                let text = try f.text(of: v, "'version'")
                guard ResourceName.isValid(text) else { throw f.fail("'version' must be a version number or an alias, got '\(text.prefix(40))'") }
                return text
            }
            return .model(name: name, version: version)
        case (nil, .some(let outputs)):
            if f.has("version") { throw f.fail("'version' goes with 'model', not with 'outputs'") }
            guard case .mapping(let values) = outputs, !values.isEmpty else {
                throw f.fail("'outputs' must map output names to one row's value, got \(f.describe(outputs))")
            }
            guard values.count <= maxOutputs else { throw f.fail("'outputs' names \(values.count) outputs; at most \(maxOutputs) are allowed") }
            return .outputs(values)
        case (.some, .some):
            throw f.fail("give either 'model' or 'outputs', not both")
        case (nil, nil):
            throw f.fail("needs 'model' (another served model) or 'outputs' (a static default answer)")
        }
    }
}
