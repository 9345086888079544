import Hummingbird
import NIOCore

/// The baseline of scripts/bench/http.sh: a bare Hummingbird server, built with the same flags
/// as keel, that answers `POST /echo` with the JSON body it was sent. Keel's REST path is
/// measured against it — the distance between the two is what Keel itself costs per request.
///
///     keel-echo [port]        # default 18070, loopback only
@main
struct EchoServer {
    static func main() async throws {
        let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) }.flatMap { (1...65535).contains($0) ? $0 : nil } ?? 18070
        let router = Router()
        router.post("/echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: body))
        }
        router.get("/health") { _, _ in "ok" }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "keel-echo"))
        try await app.runService()
    }
}
