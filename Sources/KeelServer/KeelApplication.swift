import Hummingbird
import KeelCore
import KeelRegistry
import KeelServing
import Logging
import ServiceLifecycle

/// Builds the Keel HTTP application: middleware, routes and the model-loading service.
public enum KeelApplication {
    /// The router with every route and middleware; tests drive it in-process.
    /// With a registry, the management API (`/api/v1`) is mounted too.
    public static func router(manager: ModelManager, configuration: ServerConfiguration, registry: Registry? = nil) -> Router<KeelRequestContext> {
        let router = Router(context: KeelRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: HTTPMetricsMiddleware(metrics: manager.metrics))
        router.add(middleware: ErrorMiddleware())
        if let registry {
            let auth = Authenticator(keys: registry.keys)
            if configuration.inferenceRequiresKey { router.add(middleware: InferenceAuthMiddleware(authenticator: auth)) }
            ModelRoutes(registry: registry, auth: auth, maxBodyBytes: configuration.maxBodyBytes).register(on: router)
            AccessRoutes(registry: registry, auth: auth, maxBodyBytes: configuration.maxBodyBytes).register(on: router)
        }
        HealthRoutes(manager: manager, metrics: manager.metrics).register(on: router)
        InferenceRoutes(manager: manager, maxBodyBytes: configuration.maxBodyBytes).register(on: router)
        RepositoryRoutes(manager: manager).register(on: router)
        RecordsRoutes(manager: manager, maxBodyBytes: configuration.maxBodyBytes).register(on: router)
        return router
    }

    /// The whole application: the server plus a service that loads the repository's models
    /// (the server answers liveness at once and readiness once they are warm).
    public static func application(
        manager: ModelManager, configuration: ServerConfiguration, logger: Logger, registry: Registry? = nil
    ) -> some ApplicationProtocol {
        Application(
            router: router(manager: manager, configuration: configuration, registry: registry),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "keel"),
            services: [ModelLoadingService(manager: manager)],
            logger: logger)
    }
}

/// Loads the repository's models at startup, then idles until shutdown.
struct ModelLoadingService: Service {
    let manager: ModelManager

    func run() async throws {
        await manager.loadAll()
        try? await gracefulShutdown()
    }
}
