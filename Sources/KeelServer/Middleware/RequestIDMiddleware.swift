import HTTPTypes
import Hummingbird

/// Honours `X-Request-ID` (or generates one), puts it in the request's log metadata and
/// echoes it on the response.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = KeelRequestContext
    static let header = HTTPField.Name("X-Request-ID")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let given = request.headers[Self.header].flatMap { $0.isEmpty || $0.utf8.count > 200 ? nil : $0 }
        let id = given ?? Self.generate()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await next(request, context)
        response.headers[Self.header] = id
        return response
    }

    static func generate() -> String {
        let hex = Array("0123456789abcdef".utf8)
        var bytes = [UInt8](repeating: 0, count: 16)
        var g = SystemRandomNumberGenerator()
        var r = g.next()
        for i in 0..<16 {
            bytes[i] = hex[Int(r & 15)]
            r >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
