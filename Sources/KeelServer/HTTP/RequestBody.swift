import Hummingbird
import KeelCore

/// Reading request bodies with Keel's size limit and error.
enum RequestBody {
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        // The first value only: the joining getter (`headers[.contentLength]`) allocates.
        if let text = request.headers[values: .contentLength].first {
            guard let length = Int(text), length >= 0 else {
                throw KeelError.invalidInput("Content-Length '\(text.prefix(40))' is not a non-negative integer")
            }
            if length > limit {
                throw KeelError(.payloadTooLarge, "request body of \(length) bytes exceeds the limit of \(limit) bytes")
            }
        }
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw KeelError(.payloadTooLarge, "request body exceeds the limit of \(limit) bytes")
        }
    }
}
