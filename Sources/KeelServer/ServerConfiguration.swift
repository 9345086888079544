import Foundation
import KeelCore
import Logging

/// Settings of `keel serve`; each comes from a flag, a `KEEL_*` environment variable or
/// `keel.yaml`, in that order of precedence. Every limit is bounded; the README's
/// configuration table lists them with their defaults.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Port of the gRPC server (`inference.GRPCInferenceService`, Triton's 8001); 0 turns it off.
    public var grpcPort = 8001
    /// Triton-style model folder; nil serves nothing from disk.
    public var modelRepository: URL?
    public var dataDirectory = URL(fileURLWithPath: "keel-data")
    /// Largest accepted request body.
    public var maxBodyBytes = 64 * 1024 * 1024
    /// Longest a request may take from arrival to answer (queue wait and execution): 504 after.
    public var requestTimeout: Duration = .seconds(30)
    /// Most records one records-API request may carry.
    public var maxInstances = 10_000
    /// Longest a client may take to send one request's head and body: the connection is closed after.
    public var readTimeout: Duration = .seconds(30)
    /// Longest a keep-alive connection may sit idle between requests.
    public var idleTimeout: Duration = .seconds(60)
    /// Most client connections open at once; more wait in the listen backlog.
    public var maxConnections = 1024
    /// Longest loading and warming up one model version may take (registration, alias moves, startup).
    public var loadTimeout: Duration = .seconds(60)
    public var logLevel: Logger.Level = .info
    /// `postgres://…` selects PostgreSQL for the registry; nil: SQLite under the data folder.
    public var databaseURL: String?
    /// Inference routes require a `predictor` (or higher) API key.
    public var inferenceRequiresKey = false
    /// Predictions (and labels) older than this are pruned; nil keeps them by age.
    public var logRetention: TimeInterval? = 30 * 86_400
    /// At most this many predictions are kept; nil: no row cap.
    public var logMaxRows: Int? = 10_000_000
    /// Most prediction log rows waiting to be written; more are dropped and counted.
    public var logQueueRows = 200_000
    /// How often drift, quality and events are computed in the background.
    public var monitoringInterval: Duration = .seconds(60)
    /// Where monitoring events are POSTed as JSON (optional).
    public var webhookURL: URL?
    /// How long a registry version that lost its last alias stays loaded, so a switch back
    /// is instant (blue-green); zero unloads it at once.
    public var blueGreenGrace: Duration = .seconds(300)
    /// Batch-job loops on this replica (0: this replica scores no jobs, it only queues them).
    public var batchWorkers = 1
    /// Folders besides the data folder that batch jobs may read inputs from and write outputs to.
    public var batchFolders: [String] = []
    /// Largest file one upload to `/api/v1/jobs/uploads` may be.
    public var maxUploadBytes: Int64 = 10 << 30
    /// How long a replica holds a claimed chunk without renewing it (a dead replica's chunk is
    /// taken again after this).
    public var jobLease: Duration = .seconds(30)
    /// Origins browsers may call the API from (`https://app.example.com`, or `*`); empty: CORS off.
    public var corsOrigins: [String] = []
    /// Host names the server answers (`keel.example.com`, `*.example.com`), against DNS
    /// rebinding; empty: any. Probes answer whatever the Host.
    public var allowedHosts: [String] = []
    /// Proxies (addresses or CIDR blocks) whose `Forwarded` / `X-Forwarded-For` is believed.
    public var trustedProxies: [IPRange] = []
    /// Token bucket per API key (per client address when anonymous) on inference routes; nil: unlimited.
    public var inferenceRateLimit: RateLimit?
    /// Token bucket per API key (per client address for refused keys) on management routes; nil: unlimited.
    public var managementRateLimit: RateLimit?
    /// JWT bearer tokens (off unless a secret, public key or JWKS file is set).
    public var tokens = TokenSettings()
    /// HTTPS (with HTTP/2 by ALPN) when a certificate and key are set; mutual TLS with a client CA.
    public var tls: TLSSettings?

    public init() {}
}

extension ServerConfiguration {
    /// Values given on the command line; nil where a flag was not passed.
    public struct Flags: Sendable {
        public var host: String?
        public var port: Int?
        public var grpcPort: Int?
        public var modelRepository: String?
        public var dataDirectory: String?
        public var maxBodyBytes: Int?
        public var requestTimeoutMs: Int?
        public var maxInstances: Int?
        public var readTimeoutMs: Int?
        public var idleTimeoutMs: Int?
        public var maxConnections: Int?
        public var loadTimeoutMs: Int?
        public var logLevel: String?
        public var databaseURL: String?
        public var inferenceRequiresKey: Bool?
        public var logRetentionDays: Int?
        public var logMaxRows: Int?
        public var logQueueRows: Int?
        public var monitoringIntervalMs: Int?
        public var webhookURL: String?
        public var blueGreenGraceS: Int?
        public var batchWorkers: Int?
        public var batchFolders: [String]?
        public var maxUploadBytes: Int?
        public var jobLeaseS: Int?
        public var corsOrigins: [String]?
        public var allowedHosts: [String]?
        public var trustedProxies: [String]?
        public var inferenceRateLimit: String?
        public var managementRateLimit: String?
        public var jwtPublicKey: String?
        public var jwksFile: String?
        public var jwtIssuer: String?
        public var jwtAudience: String?
        public var jwtRoleClaim: String?
        public var jwtRoleMap: String?
        public var jwtLeewayS: Int?
        public var tlsCert: String?
        public var tlsKey: String?
        public var tlsClientCA: String?
        public init() {}
    }

    /// Merges flags, `KEEL_*` environment variables and the keel.yaml mapping (in that order of
    /// precedence) over the defaults. `defaultRepositoryExists` decides whether ./models is used
    /// when no repository is named.
    public static func resolve(
        flags: Flags, environment env: [String: String], file: [String: Any], defaultRepositoryExists: Bool
    ) throws(KeelError) -> ServerConfiguration {
        // Every keel.yaml key this function knows is noted as it is looked up (whether or not a
        // flag or variable wins), so a key left over at the end is a typo and is refused.
        var known: Set<String> = []
        func fromFile(_ key: String) -> Any? {
            known.insert(key)
            return file[key]
        }
        func string(_ flag: String?, _ envKey: String, _ fileKey: String) -> String? {
            let inFile = fromFile(fileKey)
            return flag ?? env[envKey] ?? inFile.map { "\($0)" }
        }
        func int(_ flag: Int?, _ envKey: String, _ fileKey: String, _ range: ClosedRange<Int>) throws(KeelError) -> Int? {
            let value: Int
            let inFile = fromFile(fileKey)
            if let flag {
                value = flag
            } else {
                guard let text = env[envKey] ?? inFile.map({ "\($0)" }) else { return nil }
                guard let v = Int(text.trimmingCharacters(in: .whitespaces)) else {
                    throw .invalidInput("\(envKey) / \(fileKey) must be an integer, got '\(text.prefix(40))'")
                }
                value = v
            }
            guard range.contains(value) else {
                throw .invalidInput("\(envKey) / \(fileKey) is \(value); it must be in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        func milliseconds(_ flag: Int?, _ envKey: String, _ fileKey: String, _ range: ClosedRange<Int>) throws(KeelError) -> Duration? {
            try int(flag, envKey, fileKey, range).map { .milliseconds($0) }
        }
        var s = ServerConfiguration()
        s.host = string(flags.host, "KEEL_HOST", "host") ?? s.host
        s.port = try int(flags.port, "KEEL_PORT", "port", 0...65535) ?? s.port
        s.grpcPort = try int(flags.grpcPort, "KEEL_GRPC_PORT", "grpc_port", 0...65535) ?? s.grpcPort
        if s.grpcPort != 0, s.grpcPort == s.port { throw .invalidInput("the gRPC port and the HTTP port are both \(s.port); give them different ports (or --grpc-port 0)") }
        if let dir = string(flags.dataDirectory, "KEEL_DATA_DIR", "data_dir") { s.dataDirectory = URL(fileURLWithPath: dir) }
        if let repo = string(flags.modelRepository, "KEEL_MODEL_REPOSITORY", "model_repository") {
            s.modelRepository = URL(fileURLWithPath: repo)
        } else if defaultRepositoryExists {
            s.modelRepository = URL(fileURLWithPath: "models")
        }
        s.maxBodyBytes = try int(flags.maxBodyBytes, "KEEL_MAX_BODY_BYTES", "max_body_bytes", 1...(1 << 30)) ?? s.maxBodyBytes
        s.requestTimeout = try milliseconds(flags.requestTimeoutMs, "KEEL_REQUEST_TIMEOUT_MS", "request_timeout_ms", 1...3_600_000) ?? s.requestTimeout
        s.maxInstances = try int(flags.maxInstances, "KEEL_MAX_INSTANCES", "max_instances", 1...1_000_000) ?? s.maxInstances
        s.readTimeout = try milliseconds(flags.readTimeoutMs, "KEEL_READ_TIMEOUT_MS", "read_timeout_ms", 1...3_600_000) ?? s.readTimeout
        s.idleTimeout = try milliseconds(flags.idleTimeoutMs, "KEEL_IDLE_TIMEOUT_MS", "idle_timeout_ms", 1...3_600_000) ?? s.idleTimeout
        s.maxConnections = try int(flags.maxConnections, "KEEL_MAX_CONNECTIONS", "max_connections", 1...1_000_000) ?? s.maxConnections
        s.loadTimeout = try milliseconds(flags.loadTimeoutMs, "KEEL_LOAD_TIMEOUT_MS", "load_timeout_ms", 1...3_600_000) ?? s.loadTimeout
        if let level = string(flags.logLevel, "KEEL_LOG_LEVEL", "log_level") {
            guard let l = Logger.Level(rawValue: level.lowercased()) else {
                throw .invalidInput("log level '\(level.prefix(40))' is not one of trace, debug, info, notice, warning, error, critical")
            }
            s.logLevel = l
        }
        s.databaseURL = string(flags.databaseURL, "KEEL_DATABASE_URL", "database_url").flatMap { $0.isEmpty ? nil : $0 }
        let requiresKey = flags.inferenceRequiresKey.map { $0 ? "true" : "false" }
            ?? string(nil, "KEEL_INFERENCE_REQUIRES_KEY", "inference_requires_key")
        s.inferenceRequiresKey = ["true", "1", "yes"].contains(requiresKey?.lowercased() ?? "")
        if let days = try int(flags.logRetentionDays, "KEEL_LOG_RETENTION_DAYS", "log_retention_days", 0...36_500) {
            s.logRetention = days == 0 ? nil : Double(days) * 86_400
        }
        if let rows = try int(flags.logMaxRows, "KEEL_LOG_MAX_ROWS", "log_max_rows", 0...1_000_000_000) { s.logMaxRows = rows == 0 ? nil : rows }
        s.logQueueRows = try int(flags.logQueueRows, "KEEL_LOG_QUEUE_ROWS", "log_queue_rows", 1...10_000_000) ?? s.logQueueRows
        s.monitoringInterval = try milliseconds(flags.monitoringIntervalMs, "KEEL_MONITORING_INTERVAL_MS", "monitoring_interval_ms", 100...86_400_000) ?? s.monitoringInterval
        if let grace = try int(flags.blueGreenGraceS, "KEEL_BLUE_GREEN_GRACE_S", "blue_green_grace_s", 0...86_400) { s.blueGreenGrace = .seconds(grace) }
        s.batchWorkers = try int(flags.batchWorkers, "KEEL_BATCH_WORKERS", "batch_workers", 0...64) ?? s.batchWorkers
        let folderList = fromFile("batch_folders")
        if let folders = flags.batchFolders, !folders.isEmpty {
            s.batchFolders = folders
        } else if let text = env["KEEL_BATCH_FOLDERS"] {
            s.batchFolders = text.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        } else if let list = folderList as? [Any] {
            s.batchFolders = list.map { "\($0)" }
        } else if let one = folderList as? String {
            s.batchFolders = [one]
        }
        if let bytes = try int(flags.maxUploadBytes, "KEEL_MAX_UPLOAD_BYTES", "max_upload_bytes", 1...(1 << 50)) { s.maxUploadBytes = Int64(bytes) }
        if let lease = try int(flags.jobLeaseS, "KEEL_JOB_LEASE_S", "job_lease_s", 1...3600) { s.jobLease = .seconds(lease) }
        func list(_ flag: [String]?, _ envKey: String, _ fileKey: String) throws(KeelError) -> [String] {
            var out: [String]
            let inFile = fromFile(fileKey)
            if let flag, !flag.isEmpty {
                out = flag
            } else if let text = env[envKey] {
                out = text.split(separator: ",").map(String.init)
            } else if let items = inFile as? [Any] {
                out = items.map { "\($0)" }
            } else if let one = inFile.map({ "\($0)" }) {
                out = one.split(separator: ",").map(String.init)
            } else {
                out = []
            }
            out = out.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard out.count <= 256, out.allSatisfy({ $0.utf8.count <= 300 }) else {
                throw .invalidInput("\(envKey) / \(fileKey) takes at most 256 entries of at most 300 characters")
            }
            return out
        }
        s.corsOrigins = try list(flags.corsOrigins, "KEEL_CORS_ORIGINS", "cors_origins")
        for origin in s.corsOrigins where origin != "*" {
            guard let url = URL(string: origin), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil,
                  url.path.isEmpty, url.query == nil
            else {
                throw .invalidInput("CORS origin '\(origin.prefix(80))' must be '*' or scheme://host[:port], e.g. https://app.example.com")
            }
        }
        s.allowedHosts = try list(flags.allowedHosts, "KEEL_ALLOWED_HOSTS", "allowed_hosts")
        for host in s.allowedHosts {
            let name = host.hasPrefix("*.") ? String(host.dropFirst(2)) : host
            let bracketed = name.hasPrefix("[") && name.hasSuffix("]") && IPRange.parse(String(name.dropFirst().dropLast())) != nil
            let plain = !name.isEmpty && name.utf8.allSatisfy { $0 == 0x2E || $0 == 0x2D || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
            guard bracketed || plain else {
                throw .invalidInput("allowed host '\(host.prefix(80))' must be a host name (no port), or *.domain")
            }
        }
        for text in try list(flags.trustedProxies, "KEEL_TRUSTED_PROXIES", "trusted_proxies") {
            guard let range = IPRange(text) else {
                throw .invalidInput("trusted proxy '\(text.prefix(80))' must be an IPv4 or IPv6 address or CIDR block, e.g. 10.0.0.0/8")
            }
            s.trustedProxies.append(range)
        }
        if let text = string(flags.inferenceRateLimit, "KEEL_INFERENCE_RATE_LIMIT", "inference_rate_limit"), !text.isEmpty, text != "0" {
            s.inferenceRateLimit = try RateLimit(parsing: text)
        }
        if let text = string(flags.managementRateLimit, "KEEL_MANAGEMENT_RATE_LIMIT", "management_rate_limit"), !text.isEmpty, text != "0" {
            s.managementRateLimit = try RateLimit(parsing: text)
        }
        // The HMAC secret only from the environment or the file: a flag would show in `ps`.
        if let secret = string(nil, "KEEL_JWT_SECRET", "jwt_secret"), !secret.isEmpty {
            guard secret.utf8.count >= 32, secret.utf8.count <= 4096 else {
                throw .invalidInput("KEEL_JWT_SECRET / jwt_secret must be 32 to 4096 bytes long (HS256 needs at least 256 bits)")
            }
            s.tokens.hmacSecret = secret
        }
        s.tokens.publicKeyFile = string(flags.jwtPublicKey, "KEEL_JWT_PUBLIC_KEY", "jwt_public_key").flatMap { $0.isEmpty ? nil : $0 }
        s.tokens.jwksFile = string(flags.jwksFile, "KEEL_JWKS_FILE", "jwks_file").flatMap { $0.isEmpty ? nil : $0 }
        for (name, value) in [("issuer", string(flags.jwtIssuer, "KEEL_JWT_ISSUER", "jwt_issuer")), ("audience", string(flags.jwtAudience, "KEEL_JWT_AUDIENCE", "jwt_audience")),
                              ("role claim", string(flags.jwtRoleClaim, "KEEL_JWT_ROLE_CLAIM", "jwt_role_claim"))] {
            guard let value, !value.isEmpty else { continue }
            guard value.utf8.count <= 512 else { throw .invalidInput("the JWT \(name) is over 512 characters") }
            switch name {
            case "issuer": s.tokens.issuer = value
            case "audience": s.tokens.audience = value
            default: s.tokens.roleClaim = value
            }
        }
        if let map = string(flags.jwtRoleMap, "KEEL_JWT_ROLE_MAP", "jwt_role_map"), !map.isEmpty {
            s.tokens.roleMap = try TokenSettings.parseRoleMap(map)
        }
        s.tokens.leewaySeconds = try int(flags.jwtLeewayS, "KEEL_JWT_LEEWAY_S", "jwt_leeway_s", 0...600) ?? s.tokens.leewaySeconds
        let nonEmpty = { (text: String?) in text.flatMap { $0.isEmpty ? nil : $0 } }
        let cert = nonEmpty(string(flags.tlsCert, "KEEL_TLS_CERT", "tls_cert"))
        let key = nonEmpty(string(flags.tlsKey, "KEEL_TLS_KEY", "tls_key"))
        let clientCA = nonEmpty(string(flags.tlsClientCA, "KEEL_TLS_CLIENT_CA", "tls_client_ca"))
        switch (cert, key) {
        case let (cert?, key?): s.tls = TLSSettings(certificateFile: cert, keyFile: key, clientCAFile: clientCA)
        case (nil, nil):
            if clientCA != nil { throw .invalidInput("--tls-client-ca needs --tls-cert and --tls-key (client certificates are checked only over TLS)") }
        default: throw .invalidInput("TLS needs both --tls-cert and --tls-key (KEEL_TLS_CERT, KEEL_TLS_KEY)")
        }
        if let text = string(flags.webhookURL, "KEEL_WEBHOOK_URL", "webhook_url"), !text.isEmpty {
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                throw .invalidInput("webhook URL '\(text.prefix(80))' must be an http(s) URL")
            }
            s.webhookURL = url
        }
        if let unknown = Set(file.keys).subtracting(known).sorted().first {
            let near = known.sorted().min { Self.distance($0, unknown) < Self.distance($1, unknown) }
            throw .invalidInput("keel.yaml: unknown setting '\(unknown.prefix(80))'" + (near.map { Self.distance($0, unknown) <= 3 ? " (did you mean '\($0)'?)" : "" } ?? ""))
        }
        return s
    }

    /// Edit distance between two short keys (for the "did you mean" hint).
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8.prefix(64)), y = Array(b.utf8.prefix(64))
        var row = Array(0...y.count)
        for i in 1...max(1, x.count) where !x.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: y.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (x[i - 1] == y[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return x.isEmpty ? y.count : row[y.count]
    }
}
