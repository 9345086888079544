import Hummingbird
import KeelServing

/// Counts requests and records their duration per route pattern, method and status.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = KeelRequestContext
    let metrics: ServingMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let t0 = ContinuousClock.now
        let response = try await next(request, context)
        // Unmatched paths share one label so scanners cannot blow up the label set.
        let route = context.endpointPath ?? "unmatched"
        let m = metrics.route(route, method: request.method.rawValue, status: Int(response.status.code))
        m.requests.increment()
        let (s, atto) = (ContinuousClock.now - t0).components
        m.duration.recordNanoseconds(s * 1_000_000_000 + atto / 1_000_000_000)
        return response
    }
}
