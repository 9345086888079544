import Hummingbird
import KeelCore
import KeelServing

/// Probes, server metadata and the Prometheus endpoint: open to anyone.
struct HealthRoutes {
    let manager: ModelManager
    let metrics: ServingMetrics

    static let extensions: [JSONValue] = ["binary_tensor_data", "model_repository", "parameters"].map { .string($0) }

    func register(on routes: KeelRoutes) {
        routes.get("/health", .open, "Liveness (Keel)") { _, _ in JSONResponse.value(.object(["status": "ok"])) }
        routes.get("/ready", .open, "Readiness (Keel)") { _, _ in try ready() }
        routes.get("/v2/health/live", .open, "Server liveness (v2)") { _, _ in JSONResponse.value(.object(["live": .bool(true)])) }
        routes.get("/v2/health/ready", .open, "Server readiness (v2)") { _, _ in try ready() }
        routes.get("/v2", .open, "Server metadata (v2)") { _, _ in
            JSONResponse.value(.object([
                "name": "keel", "version": .string(KeelVersion.current), "extensions": .array(Self.extensions),
            ]))
        }
        routes.get("/metrics", .open, "Prometheus metrics") { _, _ in
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
