import Hummingbird
import KeelCore
import KeelServing

/// Probes, server metadata and the Prometheus endpoint.
struct HealthRoutes {
    let manager: ModelManager
    let metrics: ServingMetrics

    static let extensions: [JSONValue] = ["binary_tensor_data", "model_repository", "parameters"].map { .string($0) }

    func register(on router: Router<KeelRequestContext>) {
        router.get("/health") { _, _ in JSONResponse.value(.object(["status": "ok"])) }
        router.get("/ready") { _, _ in try ready() }
        router.get("/v2/health/live") { _, _ in JSONResponse.value(.object(["live": .bool(true)])) }
        router.get("/v2/health/ready") { _, _ in try ready() }
        router.get("/v2") { _, _ in
            JSONResponse.value(.object([
                "name": "keel", "version": .string(KeelVersion.current), "extensions": .array(Self.extensions),
            ]))
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
    }

    /// 200 once the startup load (and warm-up) is over, else 503.
    private func ready() throws -> Response {
        guard manager.isReady else {
            throw KeelError(.unavailable, "server is not ready: models are still loading")
        }
        return JSONResponse.value(.object(["ready": .bool(true)]))
    }
}

/// Keel's version string.
public enum KeelVersion {
    public static let current = "0.1.0"
}
