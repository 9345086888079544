import Foundation
import KeelCore
import Logging
import NIOSSL
import PostgresNIO

/// The shared store for several servers: PostgreSQL via postgres-nio, chosen by
/// `KEEL_DATABASE_URL=postgres://user:password@host:port/database[?sslmode=…]`.
public final class PostgresStore: SQLStore {
    public let backend: any SQLBackend

    /// Connects, checks that the server answers, optionally confines everything to `schema`
    /// (created when missing; used by tests to get a fresh namespace), and migrates.
    public init(url: String, schema: String? = nil, migrations: [Migration] = Migrations.all, logger: Logger = Logger(label: "keel.store")) async throws(KeelError) {
        let settings = try PostgresURL(url)
        // One direct connection first: a wrong password, host or certificate fails here at once
        // with its reason, where the pool would retry with backoff for a minute.
        try await Self.probe(settings, logger: logger)
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: settings.tls.postgres.map { $0.preferred ? .prefer($0.config) : .require($0.config) } ?? .disable)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 10
        if let schema {
            guard schema.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw KeelError.invalidInput("schema name '\(schema)' may only hold letters, digits and '_'")
            }
            configuration.options.additionalStartupParameters = [("search_path", schema)]
        }
        let backend = PostgresBackend(client: PostgresClient(configuration: configuration), logger: logger)
        self.backend = backend
        do {
            if let schema {
                try await backend.client.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger)
            } else {
                try await backend.client.query("SELECT 1", logger: logger)
            }
        } catch {
            await backend.close()
            throw KeelError(.unavailable, "cannot reach PostgreSQL at \(settings.redacted)", logDetail: String(reflecting: error))
        }
        try await migrate(migrations)
    }
}

extension PostgresStore {
    static func probe(_ settings: PostgresURL, logger: Logger) async throws(KeelError) {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch settings.tls.postgres {
            case nil: tls = .disable
            case let (config, preferred)?:
                let context = try NIOSSLContext(configuration: config)
                tls = preferred ? .prefer(context) : .require(context)
            }
        } catch {
            throw KeelError(.invalidInput, "the database TLS settings cannot be used: \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
        } catch {
            var reason = "\(error)"
            if let psql = error as? PSQLError {
                reason = "\(psql.code)"
                if let server = psql.serverInfo?[.message] { reason += ": \(server)" }
                if let underlying = psql.underlying { reason += ": \(underlying)" }
            }
            throw KeelError(.unavailable, "cannot reach PostgreSQL at \(settings.redacted) (\(reason.prefix(300)))", logDetail: String(reflecting: error))
        }
    }
}

/// The parts of a `postgres://` URL.
struct PostgresURL {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String?
    var tls = PostgresTLS(mode: .prefer)
    var redacted: String { "postgres://\(user)@\(host):\(port)/\(database ?? "")?sslmode=\(tls.mode.rawValue)" }

    init(_ text: String) throws(KeelError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql", let host = components.host, !host.isEmpty
        else {
            throw KeelError.invalidInput("database URL must look like postgres://user:password@host:port/database")
        }
        self.host = host
        port = components.port ?? 5432
        user = components.user?.removingPercentEncoding ?? "postgres"
        password = components.password?.removingPercentEncoding
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        database = path.isEmpty ? nil : path
        tls = try PostgresTLS(query: components.queryItems ?? [])
    }
}

/// libpq's TLS settings from the URL's query: `sslmode` (disable, allow, prefer — the default,
/// as in libpq —, require, verify-ca, verify-full), `sslrootcert` (PEM CAs the server's
/// certificate must chain to; with `require` it makes the mode verify-ca, as libpq does), and
/// `sslcert` / `sslkey` for a client certificate.
struct PostgresTLS {
    enum Mode: String, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }
    var mode: Mode
    var rootCertificates: [NIOSSLCertificate] = []
    var clientChain: [NIOSSLCertificate] = []
    var clientKey: NIOSSLPrivateKey?

    init(mode: Mode) { self.mode = mode }

    init(query items: [URLQueryItem]) throws(KeelError) {
        func value(_ name: String) throws(KeelError) -> String? {
            let matches = items.filter { $0.name == name }
            guard matches.count <= 1 else { throw .invalidInput("the database URL names \(name) twice") }
            guard let v = matches.first?.value, !v.isEmpty else { return nil }
            return v
        }
        let text = try value("sslmode") ?? Mode.prefer.rawValue
        guard let mode = Mode(rawValue: text) else {
            throw .invalidInput(
                "sslmode '\(text.prefix(40))' is not one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.mode = mode
        if let file = try value("sslrootcert") {
            rootCertificates = try Self.certificates(file, what: "sslrootcert")
            if mode == .require { self.mode = .verifyCA }
        }
        switch (try value("sslcert"), try value("sslkey")) {
        case let (cert?, key?):
            clientChain = try Self.certificates(cert, what: "sslcert")
            guard let text = SmallFile.text(key, limit: 1 << 20), let parsed = try? NIOSSLPrivateKey(bytes: Array(text.utf8), format: .pem) else {
                throw .invalidInput("sslkey \(key) is not a readable PEM private key")
            }
            clientKey = parsed
        case (nil, nil): break
        default: throw .invalidInput("sslcert and sslkey go together")
        }
    }

    static func certificates(_ path: String, what: String) throws(KeelError) -> [NIOSSLCertificate] {
        guard let text = SmallFile.text(path, limit: 1 << 20) else {
            throw .invalidInput("\(what) \(path) cannot be read (missing, unreadable or over 1 MiB)")
        }
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(Array(text.utf8)), !certificates.isEmpty,
              certificates.count <= 200
        else {
            throw .invalidInput("\(what) \(path) holds no PEM certificates")
        }
        return certificates
    }

    /// The client's TLS configuration, and whether plaintext is acceptable when the server
    /// offers no TLS; nil for `disable`.
    var postgres: (config: TLSConfiguration, preferred: Bool)? {
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv12
        switch mode {
        case .disable: return nil
        case .allow, .prefer, .require: config.certificateVerification = .none
        case .verifyCA: config.certificateVerification = .noHostnameVerification
        case .verifyFull: config.certificateVerification = .fullVerification
        }
        if !rootCertificates.isEmpty { config.trustRoots = .certificates(rootCertificates) }
        if let clientKey {
            config.certificateChain = clientChain.map { .certificate($0) }
            config.privateKey = .privateKey(clientKey)
        }
        return (config, mode == .allow || mode == .prefer)
    }
}

/// A postgres-nio client pool whose `run()` loop lives as long as the backend.
final class PostgresBackend: SQLBackend {
    let dialect = SQLDialect.postgres
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        runner = Task { await client.run() }
    }

    /// One transaction on one leased connection. Writes run at READ COMMITTED and take row
    /// locks (`SELECT … FOR UPDATE`) where a decision depends on rows; reads run in a
    /// REPEATABLE READ, READ ONLY snapshot.
    func transaction<T: Sendable>(_ access: SQLAccess, _ body: (any SQLSession) async throws -> T) async throws -> T {
        let begin = access == .read ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN"
        return try await client.withConnection { connection in
            let session = PostgresSession(connection: connection, logger: logger)
            try await session.execute(begin, [])
            do {
                let result = try await body(session)
                try await session.execute("COMMIT", [])
                return result
            } catch {
                try? await session.execute("ROLLBACK", [])
                throw error
            }
        }
    }

    func close() async {
        runner.cancel()
        _ = await runner.value
    }
}

struct PostgresSession: SQLSession {
    let connection: PostgresConnection
    let logger: Logger

    /// `?` placeholders become `$1`, `$2`, … (Keel's SQL holds no `?` in literals).
    static func render(_ sql: String, _ arguments: [SQLValue]) -> PostgresQuery {
        var text = ""
        var n = 0
        for ch in sql {
            if ch == "?" {
                n += 1
                text += "$\(n)"
            } else {
                text.append(ch)
            }
        }
        var binds = PostgresBindings(capacity: arguments.count)
        for a in arguments {
            switch a {
            case .null: binds.appendNull()
            case .int(let i): binds.append(i)
            case .double(let d): binds.append(d)
            case .text(let s): binds.append(s)
            }
        }
        return PostgresQuery(unsafeSQL: text, binds: binds)
    }

    func execute(_ sql: String, _ arguments: [SQLValue]) async throws {
        _ = try await query(sql, arguments)
    }

    func query(_ sql: String, _ arguments: [SQLValue]) async throws -> [SQLRow] {
        let rows = try await connection.query(Self.render(sql, arguments), logger: logger)
        var out: [SQLRow] = []
        for try await row in rows {
            var r: SQLRow = [:]
            for cell in row {
                r[cell.columnName] = try Self.value(cell)
            }
            out.append(r)
        }
        return out
    }

    func queryRows(_ sql: String, _ arguments: [SQLValue], columns: [String]) async throws -> [[SQLValue]] {
        let rows = try await connection.query(Self.render(sql, arguments), logger: logger)
        var out: [[SQLValue]] = []
        for try await row in rows {
            var values: [SQLValue] = []
            for cell in row { values.append(try Self.value(cell)) }
            out.append(values)
        }
        return out
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int8, .int4, .int2: return .int(try cell.decode(Int64.self))
        case .float8, .float4, .numeric: return .double(try cell.decode(Double.self))
        case .bool: return .int(try cell.decode(Bool.self) ? 1 : 0)
        default: return .text(try cell.decode(String.self))
        }
    }
}
