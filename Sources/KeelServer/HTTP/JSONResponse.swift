import Hummingbird
import KeelCore

/// Building JSON responses from bytes or values.
enum JSONResponse {
    static func ok(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Management and monitoring JSON: non-finite numbers (which should not occur there) are
    /// written as `null`, so browsers and JSON Schema validators can read every answer.
    static func value(_ v: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var w = JSONWriter(nonFinite: .null)
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
