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

    /// One pass over the path's bytes, no allocation unless a problem is found. When a path has
    /// several problems, control characters are named first, then backslashes, percent-encoded
    /// separators and dot segments.
    static func problem(in path: String) -> String? {
        var path = path
        return path.withUTF8 { problem(inBytes: $0) }
    }

    private static func problem(inBytes b: UnsafeBufferPointer<UInt8>) -> String? {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: "."), percent = UInt8(ascii: "%"), backslash = UInt8(ascii: "\\")
        var backslashSeen = false
        var encoded: String?
        var dotSegment: String?
        var segmentStart = 0
        var i = 0
        while i <= b.count {
            if i == b.count || b[i] == slash {
                let length = i - segmentStart
                if dotSegment == nil, length == 1 || length == 2, b[segmentStart] == dot, length == 1 || b[segmentStart + 1] == dot {
                    dotSegment = length == 1 ? "." : ".."
                }
                segmentStart = i + 1
                i += 1
                continue
            }
            let c = b[i]
            if c < 0x20 || c == 0x7F { return "it holds a control character" }
            if c == backslash { backslashSeen = true }
            if c == percent, encoded == nil, i + 2 < b.count {
                let hi = b[i + 1], raw = b[i + 2]
                let lo = raw >= UInt8(ascii: "a") && raw <= UInt8(ascii: "z") ? raw - 0x20 : raw  // hex digits in upper case
                let code: String? = switch (hi, lo) {
                case (UInt8(ascii: "2"), UInt8(ascii: "F")): "2F"
                case (UInt8(ascii: "5"), UInt8(ascii: "C")): "5C"
                case (UInt8(ascii: "2"), UInt8(ascii: "E")): "2E"
                case (UInt8(ascii: "0"), UInt8(ascii: "0")): "00"
                default: nil
                }
                if let code { encoded = "it percent-encodes '/', '\\', '.' or NUL (%\(code))" }
            }
            i += 1
        }
        if backslashSeen { return "it holds a backslash" }
        if let encoded { return encoded }
        if let dotSegment { return "it holds a '\(dotSegment)' segment" }
        return nil
    }
}
