import Foundation
import Logging
import KeelRegistry
import KeelServing
import KeelStore

/// `GET /openapi.json`: the API document of every route the server declared, itself included.
enum OpenAPIRoute {
    static let declaration = DeclaredRoute(
        method: .get, path: "/openapi.json", access: .open, summary: "This API document (OpenAPI 3.1)",
        doc: .json(.object(["openapi": .string, "info": .map(.any), "paths": .map(.any)], required: ["openapi", "info", "paths"])))

    /// Registers the route; call it last, so the document lists every route declared before.
    static func register(on routes: KeelRoutes) {
        let bytes = OpenAPIDocument.bytes(routes.declared + [declaration])
        routes.add(declaration) { _, _ in JSONResponse.ok(bytes) }
    }
}

extension KeelApplication {
    /// The API document of a full server (management API included), as `GET /openapi.json`
    /// serves it, built without starting one: the routes are declared over a throwaway
    /// registry in a temporary folder, and nothing is served. For `keel openapi`.
    public static func openAPIDocument() async throws -> [UInt8] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keel-openapi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let registry = Registry(store: try await SQLiteStore(dataDirectory: folder), artifacts: ArtifactStore(dataDirectory: folder))
        let manager = ModelManager(repository: nil, metrics: ServingMetrics())
        var configuration = ServerConfiguration()
        configuration.dataDirectory = folder
        let jobs = try JobsRuntime(registry: registry, manager: manager, follower: nil, monitoring: nil, configuration: configuration, logger: Logger(label: "keel.openapi"))
        return OpenAPIDocument.bytes(build(manager: manager, configuration: configuration, registry: registry, jobs: jobs).declared)
    }
}
