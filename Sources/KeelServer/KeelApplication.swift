import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import KeelCore
import KeelRegistry
import KeelServing
import Logging
import NIOCore
import ServiceLifecycle

/// The router Keel serves and the routes it declared (with their access), for tests and the
/// API document.
public struct KeelRouter {
    public let router: Router<KeelRequestContext>
    public let declared: [DeclaredRoute]
    /// What the routes infer and authorize with, shared by the gRPC server.
    public let service: InferenceService
    let guardian: AccessGuard

    /// `inference.GRPCInferenceService` on the same service, keys and rate limits.
    public func grpc(_ configuration: ServerConfiguration, certificate: ServerCertificate? = nil, logger: Logger) throws -> GRPCServerService {
        try GRPCServerService(
            GRPCInference(manager: service.manager, service: service, guardian: guardian), configuration: configuration, certificate: certificate,
            logger: logger)
    }
}

/// Builds the Keel HTTP application: middleware, routes and the model-loading service.
public enum KeelApplication {
    /// Every route with its middleware; with a registry, the management API (`/api/v1`) is
    /// mounted and API keys are checked. Without one, routes that need a key are closed.
    public static func build(
        manager: ModelManager, configuration: ServerConfiguration, registry: Registry? = nil, monitor: PredictionMonitor? = nil,
        deploymentRouter: DeploymentRouter = DeploymentRouter(), shadow: ShadowRunner? = nil, jobs: JobsRuntime? = nil,
        tokens: TokenVerifier? = nil, logger: Logger = Logger(label: "keel.http")
    ) -> KeelRouter {
        let router = Router(context: KeelRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: EdgeMiddleware(
            origins: configuration.corsOrigins, hosts: configuration.allowedHosts, proxies: TrustedProxies(configuration.trustedProxies),
            hsts: configuration.tls != nil))
        router.add(middleware: HTTPMetricsMiddleware(metrics: manager.metrics))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: PathGuardMiddleware())
        let guardian = AccessGuard(
            keys: registry?.keys, inferenceRequiresKey: configuration.inferenceRequiresKey, metrics: manager.metrics, tokens: tokens,
            inferenceRateLimit: configuration.inferenceRateLimit, managementRateLimit: configuration.managementRateLimit, logger: logger)
        let routes = KeelRoutes(router: router, guardian: guardian)
        let service = InferenceService(manager: manager, monitor: monitor, router: deploymentRouter, shadow: shadow)
        if let registry {
            ModelRoutes(registry: registry, maxBodyBytes: configuration.maxBodyBytes, loadTimeout: configuration.loadTimeout).register(on: routes)
            AccessRoutes(registry: registry, maxBodyBytes: configuration.maxBodyBytes).register(on: routes)
            RolloutRoutes(registry: registry, maxBodyBytes: configuration.maxBodyBytes).register(on: routes)
            let monitoringService = MonitoringService(store: registry.store, manager: manager, registry: registry)
            ExperimentRoutes(registry: registry, judge: ExperimentJudge(monitoring: monitoringService), maxBodyBytes: configuration.maxBodyBytes)
                .register(on: routes)
            MonitoringRoutes(service: monitoringService, registry: registry, maxBodyBytes: configuration.maxBodyBytes).register(on: routes)
            if let jobs { JobRoutes(jobs: jobs, maxBodyBytes: configuration.maxBodyBytes).register(on: routes) }
        }
        HealthRoutes(manager: manager, metrics: manager.metrics).register(on: routes)
        StatisticsRoutes(manager: manager).register(on: routes)
        InferenceRoutes(manager: manager, service: service, maxBodyBytes: configuration.maxBodyBytes).register(on: routes)
        RepositoryRoutes(manager: manager).register(on: routes)
        RecordsRoutes(manager: manager, service: service, maxBodyBytes: configuration.maxBodyBytes, maxInstances: configuration.maxInstances)
            .register(on: routes)
        OpenAPIRoute.register(on: routes)  // last: the document lists every route above
        // After every route: it applies only to requests no route matched.
        router.add(middleware: MethodNotAllowedMiddleware(routes.declared))
        return KeelRouter(router: router, declared: routes.declared, service: service, guardian: guardian)
    }

    /// The router alone (tests drive it in-process).
    public static func router(manager: ModelManager, configuration: ServerConfiguration, registry: Registry? = nil) -> Router<KeelRequestContext> {
        build(manager: manager, configuration: configuration, registry: registry).router
    }

    /// The server: HTTP/1.1 in the clear, or — with a certificate — TLS with HTTP/2 by ALPN
    /// (HTTP/1.1 for clients that do not offer it). Either way each request (each HTTP/2
    /// stream) has the read timeout and each connection the idle timeout; under TLS the
    /// handshake must also finish within the read timeout.
    public static func server(_ configuration: ServerConfiguration, certificate: ServerCertificate? = nil) -> HTTPServerBuilder {
        let read = TimeAmount(configuration.readTimeout)
        let idle = TimeAmount(configuration.idleTimeout)
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestReadTimeoutHandler(readTimeout: read, idleTimeout: idle)], idleTimeout: idle)
        guard let certificate else { return .http1(configuration: http1) }
        let http2 = HTTP2UpgradeChannel.Configuration(
            idleTimeout: configuration.idleTimeout, gracefulCloseTimeout: .seconds(5), streamConfiguration: http1)
        return HTTPServerBuilder { responder in
            KeelTLSChannel(
                inner: try HTTP2UpgradeChannel(tlsConfiguration: certificate.configuration(), configuration: http2, responder: responder),
                handshakeTimeout: read)
        }
    }

    /// Address, server name and the connection cap.
    public static func applicationConfiguration(_ configuration: ServerConfiguration, logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(configuration.host, port: configuration.port), serverName: "keel",
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger))
    }

    /// The whole application: the server plus a service that loads the repository's models
    /// (the server answers liveness at once and readiness once they are warm).
    public static func application(
        manager: ModelManager, configuration: ServerConfiguration, logger: Logger, follower: RegistryFollower? = nil,
        monitoring: MonitoringRuntime? = nil, jobs: JobsRuntime? = nil, tokens: TokenVerifier? = nil, certificate: ServerCertificate? = nil
    ) throws -> some ApplicationProtocol {
        let built = build(
            manager: manager, configuration: configuration, registry: follower?.registry, monitor: monitoring?.monitor,
            deploymentRouter: monitoring?.router ?? DeploymentRouter(), shadow: monitoring?.shadow, jobs: jobs, tokens: tokens, logger: logger)
        let grpc: [any Service] = configuration.grpcPort == 0 ? [] : [try built.grpc(configuration, certificate: certificate, logger: logger)]
        return Application(
            router: built.router,
            server: server(configuration, certificate: certificate),
            configuration: applicationConfiguration(configuration, logger: logger),
            services: [ModelLoadingService(manager: manager, follower: follower)] + (monitoring?.services ?? []) + (jobs?.services ?? [])
                + (certificate.map { [CertificateReloadService(certificate: $0) as any Service] } ?? []) + grpc,
            logger: logger)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (s, atto) = duration.components
        self = .nanoseconds(Int64(clamping: s) &* 1_000_000_000 &+ atto / 1_000_000_000)
    }
}

/// Loads the repository's models and the registry's aliased versions at startup, then
/// follows the registry (if any) until shutdown.
struct ModelLoadingService: Service {
    let manager: ModelManager
    let follower: RegistryFollower?

    func run() async throws {
        if let follower { await follower.syncIfChanged() }
        await manager.loadAll()
        guard let follower else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            await follower.run()
        }
    }
}
