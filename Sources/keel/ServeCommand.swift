import ArgumentParser
import Foundation
import Hummingbird
import KeelCore
import KeelRegistry
import KeelServer
import KeelStore
import KeelServing
import Logging

/// `keel serve`: the inference server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over HTTP (Open Inference Protocol v2, records API, Prometheus metrics).",
        discussion: """
            Every option can also be set by an environment variable (KEEL_HOST, KEEL_PORT,
            KEEL_MODEL_REPOSITORY, KEEL_DATA_DIR, KEEL_MAX_BODY_BYTES, KEEL_REQUEST_TIMEOUT_MS,
            KEEL_MAX_INSTANCES, KEEL_READ_TIMEOUT_MS, KEEL_IDLE_TIMEOUT_MS, KEEL_MAX_CONNECTIONS,
            KEEL_LOAD_TIMEOUT_MS, KEEL_LOG_LEVEL, KEEL_DATABASE_URL, KEEL_INFERENCE_REQUIRES_KEY) or in
            keel.yaml (the same names in lower case without KEEL_). Flags win over the environment,
            which wins over the file.
            With no model repository given, ./models (the bundled demo churn model) is served.
            """
    )

    @Option(help: "Address to listen on (default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (default 8080).") var port: Int?
    @Option(name: .customLong("grpc-port"), help: "Port of the gRPC server (inference.GRPCInferenceService; default 8001, 0 turns it off).") var grpcPort: Int?
    @Option(name: .customLong("model-repository"), help: "Model repository folder: <dir>/<model>/<version>/model.*") var modelRepository: String?
    @Option(name: .customLong("data-dir"), help: "Data folder (default ./keel-data).") var dataDir: String?
    @Option(name: .customLong("max-body-bytes"), help: "Largest accepted request body (default 64 MiB).") var maxBodyBytes: Int?
    @Option(name: .customLong("request-timeout-ms"), help: "Longest a request may take from arrival to answer, queue and execution (default 30000).") var requestTimeoutMs: Int?
    @Option(name: .customLong("max-instances"), help: "Most records in one records-API request (default 10000).") var maxInstances: Int?
    @Option(name: .customLong("read-timeout-ms"), help: "Longest a client may take to send a request's head and body (default 30000).") var readTimeoutMs: Int?
    @Option(name: .customLong("idle-timeout-ms"), help: "Longest a keep-alive connection may sit idle (default 60000).") var idleTimeoutMs: Int?
    @Option(name: .customLong("max-connections"), help: "Most client connections open at once (default 1024).") var maxConnections: Int?
    @Option(name: .customLong("load-timeout-ms"), help: "Longest loading and warming up one model version may take (default 60000).") var loadTimeoutMs: Int?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical (default info).") var logLevel: String?
    @Option(name: .customLong("config"), help: "Configuration file (default ./keel.yaml if present).") var configFile: String?
    @Option(name: .customLong("database-url"), help: "postgres://user:password@host:port/db for a shared registry (default: SQLite in the data folder).") var databaseURL: String?
    @Option(name: .customLong("log-retention-days"), help: "Days predictions and labels are kept (default 30; 0 keeps them).") var logRetentionDays: Int?
    @Option(name: .customLong("log-max-rows"), help: "Most predictions kept (default 10000000; 0: no cap).") var logMaxRows: Int?
    @Option(name: .customLong("log-queue-rows"), help: "Most prediction log rows waiting to be written before new ones are dropped (default 200000).") var logQueueRows: Int?
    @Option(name: .customLong("monitoring-interval-ms"), help: "How often drift, quality and events are computed (default 60000).") var monitoringIntervalMs: Int?
    @Option(name: .customLong("webhook-url"), help: "POST monitoring events as JSON to this URL.") var webhookURL: String?
    @Option(name: .customLong("blue-green-grace-s"), help: "Seconds a registry version that lost its last alias stays loaded, so a switch back is instant (default 300; 0 unloads at once).") var blueGreenGraceS: Int?
    @Option(name: .customLong("batch-workers"), help: "Batch-job loops on this replica (default 1; 0 scores no jobs here).") var batchWorkers: Int?
    @Option(name: .customLong("batch-folder"), help: "A folder batch jobs may read inputs from and write outputs to, besides the data folder (repeatable).") var batchFolders: [String] = []
    @Option(name: .customLong("max-upload-bytes"), help: "Largest batch input upload (default 10 GiB).") var maxUploadBytes: Int?
    @Option(name: .customLong("job-lease-s"), help: "Seconds a replica holds a batch chunk without renewing it; a dead replica's chunk is taken again after this (default 30).") var jobLeaseS: Int?
    @Option(name: .customLong("cors-origin"), help: "An origin browsers may call the API from, e.g. https://app.example.com, or * (repeatable; default: CORS off).") var corsOrigins: [String] = []
    @Option(name: .customLong("allowed-host"), help: "A Host name the server answers, or *.domain, against DNS rebinding (repeatable; default: any).") var allowedHosts: [String] = []
    @Option(name: .customLong("trusted-proxy"), help: "A proxy address or CIDR block whose Forwarded / X-Forwarded-For is believed (repeatable).") var trustedProxies: [String] = []
    @Option(name: .customLong("inference-rate-limit"), help: "RATE[:BURST] requests a second per API key (per client address when anonymous) on inference routes (default: unlimited).") var inferenceRateLimit: String?
    @Option(name: .customLong("management-rate-limit"), help: "RATE[:BURST] requests a second per API key on management routes (default: unlimited).") var managementRateLimit: String?
    @Option(name: .customLong("jwt-public-key"), help: "PEM public key (RSA, P-256/384/521 or Ed25519) that JWT bearer tokens are verified with.") var jwtPublicKey: String?
    @Option(name: .customLong("jwks-file"), help: "JWKS file of public keys for JWT bearer tokens, selected by kid; re-read when it changes.") var jwksFile: String?
    @Option(name: .customLong("jwt-issuer"), help: "Tokens' iss must equal this.") var jwtIssuer: String?
    @Option(name: .customLong("jwt-audience"), help: "Tokens' aud must be or contain this.") var jwtAudience: String?
    @Option(name: .customLong("jwt-role-claim"), help: "The claim holding Keel roles: roles (default), scope, or a dotted path such as realm_access.roles.") var jwtRoleClaim: String?
    @Option(name: .customLong("jwt-role-map"), help: "Claim values that name roles: VALUE=ROLE,... (e.g. keel-admins=admin).") var jwtRoleMap: String?
    @Option(name: .customLong("jwt-leeway-s"), help: "Clock skew allowed on exp and nbf, seconds (default 60; 0...600).") var jwtLeewayS: Int?
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain (leaf first): serve HTTPS, with HTTP/2 by ALPN. Re-read when it changes.") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.") var tlsKey: String?
    @Option(name: .customLong("tls-client-ca"), help: "PEM CA bundle: require client certificates that chain to it (mutual TLS).") var tlsClientCA: String?
    @Flag(name: .customLong("inference-requires-key"), help: "Require a predictor (or higher) API key on inference routes.") var inferenceRequiresKey = false

    func run() async throws {
        let settings = try Settings.resolve(command: self, environment: ProcessInfo.processInfo.environment)
        let level = settings.logLevel
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        var logger = Logger(label: "keel")
        logger.logLevel = level

        let manager = ModelManager(
            repository: settings.modelRepository.map { ModelRepository(directory: $0) },
            metrics: ServingMetrics(), logger: logger, requestTimeout: settings.requestTimeout, loadTimeout: settings.loadTimeout)
        // Certificate problems stop the start before anything else is opened.
        var certificate: ServerCertificate?
        if let tls = settings.tls { certificate = try ServerCertificate(tls, logger: logger) }
        logger.info("starting", metadata: [
            "address": "\(settings.host):\(settings.port)",
            "scheme": "\(certificate == nil ? "http" : "https")",
            "grpc": "\(settings.grpcPort == 0 ? "off" : "\(settings.host):\(settings.grpcPort)")",
            "model_repository": "\(settings.modelRepository?.path ?? "none")",
        ])
        let store: any Store
        if let url = settings.databaseURL {
            store = try await PostgresStore(url: url, logger: logger)
        } else {
            store = try await SQLiteStore(dataDirectory: settings.dataDirectory)
        }
        let environment = ProcessInfo.processInfo.environment
        let keySecret = try ServerSecret.load(
            environment: environment["KEEL_SECRET"], dataDirectory: settings.dataDirectory, shared: settings.databaseURL != nil)
        logger.info("API keys are hashed with the server secret", metadata: ["from": "\(keySecret.source)"])
        let registry = Registry(store: store, artifacts: ArtifactStore(dataDirectory: settings.dataDirectory), keySecret: keySecret)
        let environmentKey = environment["KEEL_ADMIN_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if let secret = try await registry.keys.bootstrapAdmin(environmentKey: environmentKey) {
            // Only its hash is stored; the secret goes to a file only the owner can read, not to
            // the log, which collectors keep.
            let file = try AdminKeyFile.write(secret, dataDirectory: settings.dataDirectory)
            logger.notice("created the first admin API key; read it from the file, then delete the file", metadata: ["file": "\(file.path)"])
        }
        let follower = RegistryFollower(registry: registry, manager: manager, grace: settings.blueGreenGrace, logger: logger)
        let monitoring = MonitoringRuntime(registry: registry, manager: manager, configuration: settings, logger: logger)
        let jobs = try JobsRuntime(registry: registry, manager: manager, follower: follower, monitoring: monitoring, configuration: settings, logger: logger)
        let tokens = settings.tokens.enabled ? try await TokenVerifier(settings.tokens, logger: logger) : nil
        let app = try KeelApplication.application(
            manager: manager, configuration: settings, logger: logger, follower: follower, monitoring: monitoring, jobs: jobs, tokens: tokens, certificate: certificate)
        try await app.runService()
    }
}

/// Reads keel.yaml and merges it with flags and the environment.
enum Settings {
    static func resolve(command c: ServeCommand, environment env: [String: String]) throws -> ServerConfiguration {
        var file: [String: Any] = [:]
        let path = c.configFile ?? env["KEEL_CONFIG"] ?? "keel.yaml"
        if FileManager.default.fileExists(atPath: path) {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            // keel.yaml is read with the same bounded loader as model configs (no alias bombs).
            let doc: YAMLValue
            do {
                doc = try SafeYAML.load(text, source: path, errorCode: .invalidInput)
            } catch {
                throw ValidationError(error.message)
            }
            guard case .mapping(let dict) = doc else {
                throw ValidationError("\(path) must be a YAML mapping")
            }
            file = dict.mapValues(\.plainValue).filter { !($0.value is NSNull) }
        } else if c.configFile != nil {
            throw ValidationError("configuration file '\(path)' does not exist")
        }
        var flags = ServerConfiguration.Flags()
        flags.host = c.host
        flags.port = c.port
        flags.grpcPort = c.grpcPort
        flags.modelRepository = c.modelRepository
        flags.dataDirectory = c.dataDir
        flags.maxBodyBytes = c.maxBodyBytes
        flags.requestTimeoutMs = c.requestTimeoutMs
        flags.maxInstances = c.maxInstances
        flags.readTimeoutMs = c.readTimeoutMs
        flags.idleTimeoutMs = c.idleTimeoutMs
        flags.maxConnections = c.maxConnections
        flags.loadTimeoutMs = c.loadTimeoutMs
        flags.logRetentionDays = c.logRetentionDays
        flags.logMaxRows = c.logMaxRows
        flags.logQueueRows = c.logQueueRows
        flags.monitoringIntervalMs = c.monitoringIntervalMs
        flags.webhookURL = c.webhookURL
        flags.blueGreenGraceS = c.blueGreenGraceS
        flags.batchWorkers = c.batchWorkers
        flags.batchFolders = c.batchFolders
        flags.maxUploadBytes = c.maxUploadBytes
        flags.jobLeaseS = c.jobLeaseS
        flags.corsOrigins = c.corsOrigins
        flags.allowedHosts = c.allowedHosts
        flags.trustedProxies = c.trustedProxies
        flags.inferenceRateLimit = c.inferenceRateLimit
        flags.managementRateLimit = c.managementRateLimit
        flags.jwtPublicKey = c.jwtPublicKey
        flags.jwksFile = c.jwksFile
        flags.jwtIssuer = c.jwtIssuer
        flags.jwtAudience = c.jwtAudience
        flags.jwtRoleClaim = c.jwtRoleClaim
        flags.jwtRoleMap = c.jwtRoleMap
        flags.jwtLeewayS = c.jwtLeewayS
        flags.tlsCert = c.tlsCert
        flags.tlsKey = c.tlsKey
        flags.tlsClientCA = c.tlsClientCA
        flags.logLevel = c.logLevel
        flags.databaseURL = c.databaseURL
        flags.inferenceRequiresKey = c.inferenceRequiresKey ? true : nil
        do {
            return try ServerConfiguration.resolve(
                flags: flags, environment: env, file: file,
                defaultRepositoryExists: FileManager.default.fileExists(atPath: "models"))
        } catch {
            throw ValidationError(error.message)
        }
    }
}

/// Where the first-start admin key is handed over: `<data folder>/admin-key`, mode 0600.
enum AdminKeyFile {
    static let fileName = "admin-key"

    static func write(_ secret: String, dataDirectory: URL) throws(KeelError) -> URL {
        do {
            try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw KeelError(.unavailable, "cannot create the data folder \(dataDirectory.path): \(error.localizedDescription)")
        }
        let url = dataDirectory.appendingPathComponent(fileName)
        // A file left from an earlier store holds a key that no longer exists: replace it.
        try? FileManager.default.removeItem(at: url)
        guard try OwnerOnlyFile.create(url, contents: secret + "\n") else {
            throw KeelError(.unavailable, "\(url.path) appeared while the admin key was being written")
        }
        return url
    }
}
