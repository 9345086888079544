import Hummingbird
import KeelCore

extension KeelRequestContext {
    /// The `{model}` path parameter, checked as a resource name before it touches a folder,
    /// a query or a log line.
    func modelName() throws(KeelError) -> String {
        try ResourceName.validate(try parameter("model"), what: "model name")
    }

    /// A path parameter the route pattern guarantees; 404 when absent.
    func parameter(_ name: String) throws(KeelError) -> String {
        guard let value = parameters.get(name), !value.isEmpty else { throw KeelError.notFound("no \(name) in the path") }
        return value
    }

    /// A path parameter that must be a version number.
    func versionNumber() throws(KeelError) -> Int {
        let text = try parameter("version")
        guard let n = Int(text), n >= 0 else { throw KeelError.invalidInput("version must be a non-negative number, got '\(text.prefix(40))'") }
        return n
    }
}
