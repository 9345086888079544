import KeelCore

/// The parameters Keel's routes share, each with the rule its handler enforces.
extension APIParameter {
    private static let name = ComponentSchemas.name

    /// `{model}`: checked by `ResourceName` before it touches a folder or a query.
    public static let model = APIParameter("model", in: .path, name, "Model name", example: "churn")

    /// `{version}` on serving routes: a served version, or a registry alias such as `staging`.
    public static let servedVersion = APIParameter("version", in: .path, name, "Version, or a registry alias (`production`, `staging`)", example: "1")

    /// `{version}` on registry routes that need a number.
    public static let versionNumber = APIParameter(
        "version", in: .path, .integer(minimum: 0, maximum: Int(Int32.max)), "Version number", example: 1)

    /// `{version}` on registry reads: a number or an alias name.
    public static let versionReference = APIParameter("version", in: .path, name, "Version number or alias name", example: "1")

    /// `{alias}`: checked by `ResourceName`, and never a number.
    public static let alias = APIParameter("alias", in: .path, name, "Alias name (`production` moves are gated)", example: "staging")

    /// `{id}` of an API key.
    public static let keyID = APIParameter("id", in: .path, name, "Key id (`key_…`)", example: "key_00000000")

    /// `{metric}` of a gate.
    public static let metric = APIParameter("metric", in: .path, .string(minLength: 1), "Metric the gate checks", example: "roc_auc")

    /// A query parameter (optional unless said otherwise).
    public static func query(_ name: String, _ schema: JSONSchema, _ description: String, required: Bool = false, example: JSONValue? = nil) -> APIParameter {
        APIParameter(name, in: .query, required: required, schema, description, example: example)
    }
}
