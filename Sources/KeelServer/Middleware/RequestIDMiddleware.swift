import HTTPTypes
import Hummingbird
import Synchronization

/// Honours `X-Request-ID` (or generates one) and echoes it on the response. Log lines name it
/// explicitly (`request_id`): setting it as logger metadata would copy the log handler's
/// metadata dictionary on every request.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = KeelRequestContext
    static let header = HTTPField.Name("X-Request-ID")!
    /// Ids are a random per-server prefix plus a counter: unique, and no system call per
    /// request (the system random source costs one).
    let ids = RequestIDSource()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let given = request.headers[Self.header].flatMap { $0.isEmpty || $0.utf8.count > 200 ? nil : $0 }
        let id = given ?? ids.next()
        context.requestID = id
        var response = try await next(request, context)
        response.headers[Self.header] = id
        return response
    }

}

/// Hands out request ids: 8 random hex digits fixed per server, then a hex counter.
final class RequestIDSource: Sendable {
    private let prefix: UInt64
    private let counter = Atomic<UInt64>(0)

    init() {
        var g = SystemRandomNumberGenerator()
        prefix = g.next() & 0xFFFF_FFFF
    }

    func next() -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let hex = Array("0123456789abcdef".utf8)
        var bytes = [UInt8](repeating: 0, count: 16)
        var value = prefix << 32 | (n & 0xFFFF_FFFF)
        for i in (0..<16).reversed() {
            bytes[i] = hex[Int(value & 15)]
            value >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
