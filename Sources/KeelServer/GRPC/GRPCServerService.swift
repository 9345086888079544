import GRPCCore
import GRPCNIOTransportHTTP2
import KeelServing
import Logging
import NIOCertificateReloading
import NIOSSL
import ServiceLifecycle

/// The gRPC server as a lifecycle service beside the HTTP server: the same host, its own port
/// (`grpc_port`), the same TLS certificate (rotated the same way) and client CA, messages up
/// to the HTTP body limit, and the same graceful drain on SIGTERM.
public struct GRPCServerService: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let transport: HTTP2ServerTransport.Posix
    let logger: Logger

    init(_ service: GRPCInference, configuration: ServerConfiguration, certificate: ServerCertificate?, logger: Logger) throws {
        var security = HTTP2ServerTransport.Posix.TransportSecurity.plaintext
        if let certificate {
            security = try .tls(certificateReloader: certificate) { tls in
                if let ca = configuration.tls?.clientCAFile {
                    tls.clientCertificateVerification = .noHostnameVerification
                    tls.trustRoots = .certificates([.file(path: ca, format: .pem)])
                }
            }
        }
        let host = configuration.host == "localhost" ? "127.0.0.1" : configuration.host
        transport = HTTP2ServerTransport.Posix(
            address: host.contains(":") ? .ipv6(host: host, port: configuration.grpcPort) : .ipv4(host: host, port: configuration.grpcPort),
            transportSecurity: security,
            config: .defaults { c in
                c.rpc.maxRequestPayloadSize = configuration.maxBodyBytes
                c.connection.maxIdleTime = configuration.idleTimeout
                c.http2.maxConcurrentStreams = 256
            })
        server = GRPCServer(transport: transport, services: [service])
        self.logger = logger
    }

    /// The address the server listens on, once it does.
    public var listeningPort: Int? {
        get async { try? await transport.listeningAddress.ipv4?.port }
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}

/// gRPC's TLS takes the certificate pair from the same holder as HTTPS, so a rotation picked up
/// from disk serves both.
extension ServerCertificate: CertificateReloader {
    public var sslContextConfigurationOverride: NIOSSLContextConfigurationOverride { currentOverride() }
}
