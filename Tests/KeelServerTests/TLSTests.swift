import AsyncHTTPClient
import Foundation
import HTTPTypes
import KeelCore
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing
@testable import KeelServer

/// `keel serve --tls-cert/--tls-key[/--tls-client-ca]` on a real socket, against a real TLS
/// client: HTTPS with HTTP/2 by ALPN, HSTS, mutual TLS, the handshake deadline, certificate
/// rotation and the startup errors for bad material.
@Suite(.serialized) struct TLSTests {
    static func pki() throws -> TestPKI {
        try TestPKI.make(in: FileManager.default.temporaryDirectory.appendingPathComponent("keel-tls-\(UUID().uuidString)"))
    }

    static func client(trusting ca: URL, cert: URL? = nil, key: URL? = nil, http1Only: Bool = false) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(ca.path)
        if let cert, let key {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert.path).map { .certificate($0) }
            tls.privateKey = .file(key.path)
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        if http1Only { configuration.httpVersion = .http1Only }
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(10))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// One request with a fresh client; the response, or the error the client met.
    static func call(
        _ port: Int, _ path: String, trusting ca: URL, cert: URL? = nil, key: URL? = nil, http1Only: Bool = false,
        post body: String? = nil
    ) async throws -> Result<(HTTPClientResponse, String), any Error> {
        let client = try client(trusting: ca, cert: cert, key: key, http1Only: http1Only)
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)\(path)")
        if let body {
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let result: Result<(HTTPClientResponse, String), any Error>
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            result = .success((response, text))
        } catch {
            result = .failure(error)
        }
        try await client.shutdown()
        return result
    }

    @Test func httpsServesHTTP2AndHTTP1WithHSTS() async throws {
        let pki = try Self.pki()
        let settings = TLSSettings(certificateFile: pki.serverCert.path, keyFile: pki.serverKey.path)
        let certificate = try ServerCertificate(settings)
        try await ConnectionLimitTests.withLiveServer(repository: TestServer.models, certificate: certificate, { $0.tls = settings }) { port in
            let (h2, _) = try await Self.call(port, "/v2/health/live", trusting: pki.caFile).get()
            #expect(h2.status == .ok)
            #expect(h2.version == .http2)
            #expect(h2.headers["strict-transport-security"].first == "max-age=31536000")
            #expect(h2.headers["x-content-type-options"].first == "nosniff")

            let (h1, _) = try await Self.call(port, "/v2/health/live", trusting: pki.caFile, http1Only: true).get()
            #expect(h1.status == .ok)
            #expect(h1.version == .http1_1)
            #expect(h1.headers["strict-transport-security"].first == "max-age=31536000")

            // A prediction over an HTTP/2 stream goes through the same routes and batcher.
            let (inferred, text) = try await Self.call(port, "/v2/models/churn/infer", trusting: pki.caFile, post: EdgeSecurityTests.infer).get()
            #expect(inferred.status == .ok)
            #expect(inferred.version == .http2)
            #expect(text.contains("\"outputs\""))

            // A client that does not trust the CA refuses the server.
            let other = try Self.pki()
            await #expect(throws: (any Error).self) { try await Self.call(port, "/v2/health/live", trusting: other.caFile).get() }
        }
    }

    @Test func plainHTTPToTheTLSPortGetsNoAnswer() async throws {
        let pki = try Self.pki()
        let settings = TLSSettings(certificateFile: pki.serverCert.path, keyFile: pki.serverKey.path)
        let certificate = try ServerCertificate(settings)
        try await ConnectionLimitTests.withLiveServer(certificate: certificate, { $0.tls = settings }) { port in
            let answer = await onThread { () -> String in
                guard let socket = RawSocket(port: port) else { return "no connection" }
                defer { socket.close() }
                _ = socket.send(Array("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                return socket.receive(timeout: 2)
            }
            #expect(!answer.contains("HTTP/1.1 200"))
        }
    }

    @Test func aClientThatNeverStartsTheHandshakeIsDisconnectedAtTheReadTimeout() async throws {
        let pki = try Self.pki()
        let settings = TLSSettings(certificateFile: pki.serverCert.path, keyFile: pki.serverKey.path)
        let certificate = try ServerCertificate(settings)
        try await ConnectionLimitTests.withLiveServer(certificate: certificate, {
            $0.tls = settings
            $0.readTimeout = .milliseconds(300)
            $0.idleTimeout = .seconds(30)
        }) { port in
            let outcome = await onThread { () -> (closed: Bool, seconds: Double) in
                guard let socket = RawSocket(port: port) else { return (false, 0) }
                defer { socket.close() }
                let started = Date()
                return (socket.receiveClosed(timeout: 5), Date().timeIntervalSince(started))
            }
            #expect(outcome.closed)
            #expect(outcome.seconds < 4)
        }
    }

    @Test func mutualTLSAdmitsOnlyClientsWithACertificateFromTheCA() async throws {
        let pki = try Self.pki()
        let settings = TLSSettings(certificateFile: pki.serverCert.path, keyFile: pki.serverKey.path, clientCAFile: pki.caFile.path)
        let certificate = try ServerCertificate(settings)
        try await ConnectionLimitTests.withLiveServer(certificate: certificate, { $0.tls = settings }) { port in
            let (admitted, _) = try await Self.call(port, "/v2/health/live", trusting: pki.caFile, cert: pki.clientCert, key: pki.clientKey).get()
            #expect(admitted.status == .ok)
            await #expect(throws: (any Error).self) { try await Self.call(port, "/v2/health/live", trusting: pki.caFile).get() }
            await #expect(throws: (any Error).self) {
                try await Self.call(port, "/v2/health/live", trusting: pki.caFile, cert: pki.strangerCert, key: pki.strangerKey).get()
            }
        }
    }

    @Test func aRotatedCertificateServesNewConnectionsAndABrokenOneIsIgnored() async throws {
        let pki = try Self.pki()
        let next = try Self.pki()  // another CA's server pair, so which one is served can be told apart
        let settings = TLSSettings(certificateFile: pki.serverCert.path, keyFile: pki.serverKey.path)
        let certificate = try ServerCertificate(settings)
        try await ConnectionLimitTests.withLiveServer(certificate: certificate, { $0.tls = settings }) { port in
            _ = try await Self.call(port, "/v2/health/live", trusting: pki.caFile).get()
            #expect(certificate.reloadIfChanged() == false)

            try Data(contentsOf: next.serverCert).write(to: pki.serverCert)
            try Data(contentsOf: next.serverKey).write(to: pki.serverKey)
            #expect(certificate.reloadIfChanged())
            _ = try await Self.call(port, "/v2/health/live", trusting: next.caFile).get()
            await #expect(throws: (any Error).self) { try await Self.call(port, "/v2/health/live", trusting: pki.caFile).get() }

            // Half a rotation (a new certificate whose key has not arrived) keeps the working pair.
            try Data(contentsOf: pki.folder.appendingPathComponent("client.pem")).write(to: pki.serverCert)
            #expect(certificate.reloadIfChanged() == false)
            try "not a key".write(to: pki.serverKey, atomically: true, encoding: .utf8)
            #expect(certificate.reloadIfChanged() == false)
            _ = try await Self.call(port, "/v2/health/live", trusting: next.caFile).get()
        }
    }

    @Test func badTLSMaterialIsAStartupErrorThatNamesTheFile() throws {
        let pki = try Self.pki()
        let other = try Self.pki()
        func refusal(_ settings: TLSSettings) -> String {
            do {
                _ = try ServerCertificate(settings)
                return "accepted"
            } catch {
                return error.message
            }
        }
        let missing = pki.folder.appendingPathComponent("nope.pem").path
        #expect(refusal(TLSSettings(certificateFile: missing, keyFile: pki.serverKey.path)).contains("nope.pem"))
        #expect(refusal(TLSSettings(certificateFile: pki.serverKey.path, keyFile: pki.serverKey.path)).contains("not PEM certificates"))
        #expect(refusal(TLSSettings(certificateFile: pki.serverCert.path, keyFile: pki.serverCert.path)).contains("no PEM private key"))
        #expect(refusal(TLSSettings(certificateFile: pki.serverCert.path, keyFile: other.serverKey.path)).contains("cannot be used together"))
        #expect(refusal(TLSSettings(certificateFile: pki.serverCert.path, keyFile: pki.serverKey.path, clientCAFile: missing)).contains("client CA"))
        #expect(refusal(TLSSettings(certificateFile: pki.serverCert.path, keyFile: pki.serverKey.path)) == "accepted")

        func resolve(_ flags: ServerConfiguration.Flags) -> String {
            do {
                let c = try ServerConfiguration.resolve(flags: flags, environment: [:], file: [:], defaultRepositoryExists: false)
                return c.tls.map { "tls \($0.certificateFile) \($0.keyFile) \($0.clientCAFile ?? "-")" } ?? "plain"
            } catch {
                return error.message
            }
        }
        var flags = ServerConfiguration.Flags()
        #expect(resolve(flags) == "plain")
        flags.tlsCert = "c.pem"
        #expect(resolve(flags).contains("both --tls-cert and --tls-key"))
        flags.tlsKey = "k.pem"
        #expect(resolve(flags) == "tls c.pem k.pem -")
        flags.tlsClientCA = "ca.pem"
        #expect(resolve(flags) == "tls c.pem k.pem ca.pem")
        flags = ServerConfiguration.Flags()
        flags.tlsClientCA = "ca.pem"
        #expect(resolve(flags).contains("needs --tls-cert"))
        let fromEnvironment = try ServerConfiguration.resolve(
            flags: .init(), environment: ["KEEL_TLS_CERT": "a.pem", "KEEL_TLS_KEY": "b.pem"], file: [:], defaultRepositoryExists: false)
        #expect(fromEnvironment.tls == TLSSettings(certificateFile: "a.pem", keyFile: "b.pem"))
    }
}
