import KeelCore

/// What the prediction log needs of one version, worked out once when the version loads (not
/// per logged row): its output profile, the position of each schema field by name, and the
/// class labels rows are written with. Events share it by reference.
public final class LogLayout: Sendable {
    public let profile: OutputProfile
    /// Schema field name → index in `profile.schema.fields`.
    public let fieldIndex: [String: Int]

    public init(profile: OutputProfile) {
        self.profile = profile
        var index: [String: Int] = [:]
        for (k, f) in (profile.schema?.fields ?? []).enumerated() where index[f.name] == nil { index[f.name] = k }
        fieldIndex = index
    }

    /// Labels of `classes` classes: the profile's when they match, else the class indices.
    func labels(classes: Int) -> [String] {
        profile.classLabels.count == classes ? profile.classLabels : (0..<classes).map(String.init)
    }
}
