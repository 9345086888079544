import Hummingbird
import KeelCore
import KeelServing

/// Probes, server metadata and the Prometheus endpoint: open to anyone.
struct HealthRoutes {
    let manager: ModelManager
    let metrics: ServingMetrics

    static let extensions: [JSONValue] = ["binary_tensor_data", "model_repository", "parameters", "statistics", "model_configuration"].map { .string($0) }

    func register(on routes: KeelRoutes) {
        routes.get("/health", .open, "Liveness (Keel)", doc: .json(.object(["status": .string(oneOf: ["ok"])], required: ["status"]))) { _, _ in JSONResponse.value(.object(["status": "ok"])) }
        routes.get("/ready", .open, "Readiness (Keel)", doc: Self.readyDoc) { _, _ in try ready() }
        routes.get("/v2/health/live", .open, "Server liveness (v2)", doc: .json(.object(["live": .boolean], required: ["live"]))) { _, _ in JSONResponse.value(.object(["live": .bool(true)])) }
        routes.get("/v2/health/ready", .open, "Server readiness (v2)", doc: Self.readyDoc) { _, _ in try ready() }
        routes.get("/v2", .open, "Server metadata (v2)", doc: .json(.ref("ServerMetadata"))) { _, _ in
            JSONResponse.value(.object([
                "name": "keel", "version": .string(KeelVersion.current), "extensions": .array(Self.extensions),
            ]))
        }
        let exposition = ResponseDoc(
            status: 200, "Prometheus text exposition format", content: [MediaTypeDoc("text/plain", .string)])
        routes.get("/metrics", .open, "Prometheus metrics", doc: RouteDoc(responses: [exposition])) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
    }

    static let readyDoc = RouteDoc.json(
        .object(["ready": .boolean], required: ["ready"]), "200 once the startup load (and warm-up) of the models is over, 503 before.",
        errors: [.unavailable])

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
