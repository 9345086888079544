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
        manager: ModelManager, configuration: ServerConfiguration, logger: Logger, follower: RegistryFollower? = nil
    ) -> some ApplicationProtocol {
        Application(
            router: router(manager: manager, configuration: configuration, registry: follower?.registry),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "keel"),
            services: [ModelLoadingService(manager: manager, follower: follower)],
            logger: logger)
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
