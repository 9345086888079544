import Foundation
import Hummingbird
import KeelCore

/// Turns every error into `{"error": "…"}` with a fitting status: KeelError by its code,
/// framework errors by theirs, anything else 500. A 500's body names only the request id;
/// what went wrong (type names, paths, database errors) goes to the log under that id.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = KeelRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as KeelError {
            if error.code == .internal {
                context.logger.error("request failed", metadata: ["error": "\(error.message)", "route": "\(context.endpointPath ?? "unmatched")", "request_id": "\(context.requestID)"])
                return JSONResponse.error(500, "internal error; the server log has the details under request id \(context.requestID)")
            }
            if error.httpStatus >= 500 {
                context.logger.warning("request failed", metadata: ["error": "\(error.message)", "route": "\(context.endpointPath ?? "unmatched")", "request_id": "\(context.requestID)"])
            }
            return JSONResponse.error(error.httpStatus, error.message)
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound: message = "no route for \(request.method.rawValue) \(Self.shown(request.uri.path))"
            case .contentTooLarge: message = "request body is too large"
            case .methodNotAllowed: message = "method \(request.method.rawValue) is not allowed on \(Self.shown(request.uri.path))"
            default: message = error.status.reasonPhrase
            }
            return JSONResponse.error(error.status.code, message)
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))", "route": "\(context.endpointPath ?? "unmatched")", "request_id": "\(context.requestID)"])
            return JSONResponse.error(500, "internal error; the server log has the details under request id \(context.requestID)")
        }
    }

    /// A client-sent path, shortened and stripped of control characters, for an error message.
    static func shown(_ path: String) -> String {
        let clean = path.unicodeScalars.prefix(200).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) }
        return String(clean) + (path.unicodeScalars.count > 200 ? "…" : "")
    }
}
