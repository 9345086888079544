import Hummingbird
import KeelCore

/// Refuses request paths that only an attacker or a broken client sends: dot segments
/// (`/./`, `/../`), percent-encoded separators or dots (`%2F`, `%5C`, `%2E`), NUL and control
/// characters. Access is checked per route regardless (so no spelling can skip it); this keeps
/// such paths from ever being interpreted, and answers them with a clear 400.
struct PathGuardMiddleware: RouterMiddleware {
    typealias Context = KeelRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let problem = Self.problem(in: request.uri.path) {
            throw KeelError.invalidInput("request path refused: \(problem)")
        }
        return try await next(request, context)
    }

    static func problem(in path: String) -> String? {
        let bytes = Array(path.utf8)
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "it holds a control character" }
        if bytes.contains(UInt8(ascii: "\\")) { return "it holds a backslash" }
        var i = 0
        while i + 2 < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                let code = String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self).uppercased()
                if ["2F", "5C", "2E", "00"].contains(code) { return "it percent-encodes '/', '\\', '.' or NUL (%\(code))" }
            }
            i += 1
        }
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) where segment == "." || segment == ".." {
            return "it holds a '\(segment)' segment"
        }
        return nil
    }
}
