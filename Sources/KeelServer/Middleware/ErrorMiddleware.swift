import Foundation
import Hummingbird
import KeelCore

/// Turns every error into `{"error": "…"}` with a fitting status: KeelError by its code,
/// framework errors by theirs, anything else 500 (a bug).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = KeelRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as KeelError {
            if error.httpStatus >= 500 {
                context.logger.warning("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            }
            return JSONResponse.error(error.httpStatus, error.message)
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound: message = "no route for \(request.method.rawValue) \(request.uri.path)"
            case .contentTooLarge: message = "request body is too large"
            case .methodNotAllowed: message = "method \(request.method.rawValue) is not allowed on \(request.uri.path)"
            default: message = error.body ?? error.status.reasonPhrase
            }
            return JSONResponse.error(error.status.code, message)
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return JSONResponse.error(500, "internal error: \(error)")
        }
    }
}

/// Building JSON responses from bytes.
enum JSONResponse {
    static func ok(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func value(_ v: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var w = JSONWriter()
        w.value(v)
        return ok(w.bytes, status: status)
    }

    static func error(_ status: Int, _ message: String) -> Response {
        var w = JSONWriter()
        w.raw("{\"error\":")
        w.string(message)
        w.raw("}")
        return ok(w.bytes, status: HTTPResponse.Status(code: status))
    }
}
