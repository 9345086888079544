import Foundation
import KeelCore
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// Where the server's TLS material lives (`--tls-cert`, `--tls-key`, `--tls-client-ca`).
public struct TLSSettings: Sendable, Equatable {
    /// PEM certificate chain, leaf first.
    public var certificateFile: String
    /// PEM private key of the leaf certificate.
    public var keyFile: String
    /// PEM bundle of the CAs that client certificates must chain to; set, every client must
    /// present one (mutual TLS).
    public var clientCAFile: String?
    /// How often the certificate and key files are checked for a change.
    public var reloadInterval: Duration = .seconds(10)

    public init(certificateFile: String, keyFile: String, clientCAFile: String? = nil) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
    }
}

/// The server's certificate and key, loaded and checked at startup and re-read when the files
/// change (cert-manager and similar tools rotate them in place): new connections get the new
/// pair, open ones keep theirs. A changed pair that cannot be used — unreadable, not PEM, a key
/// that does not match the certificate — keeps the previous one and is logged.
public final class ServerCertificate: Sendable {
    public let settings: TLSSettings
    let logger: Logger
    /// PEM files larger than this are refused (a chain is a few KiB).
    static let maxFileBytes = 1 << 20
    /// Most certificates in a chain or a CA bundle.
    static let maxCertificates = 200

    struct Pair: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
        var stamp: String
    }
    private let pair: Mutex<Pair>
    private let clientRoots: [NIOSSLCertificate]

    /// Loads and checks everything; anything wrong is a startup error that names the file.
    public init(_ settings: TLSSettings, logger: Logger = Logger(label: "keel.tls")) throws(KeelError) {
        self.settings = settings
        self.logger = logger
        let stamp = Self.stamp(settings)
        pair = Mutex(try Self.loadPair(settings, stamp: stamp))
        if let ca = settings.clientCAFile {
            clientRoots = try Self.certificates(ca, what: "client CA file")
        } else {
            clientRoots = []
        }
        // Building a context checks that the key belongs to the certificate.
        _ = try Self.context(configuration())
    }

    /// The certificate chain served now (leaf first).
    public var chain: [NIOSSLCertificate] { pair.withLock { $0.chain } }

    /// The server configuration: TLS 1.2 or newer; with a client CA, a verified client
    /// certificate is required. The certificate callback hands each handshake the current pair.
    public func configuration() -> TLSConfiguration {
        let (chain, key) = pair.withLock { ($0.chain, $0.key) }
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        config.minimumTLSVersion = .tlsv12
        if !clientRoots.isEmpty {
            config.certificateVerification = .noHostnameVerification
            config.trustRoots = .certificates(clientRoots)
            config.sendCANameList = true
        }
        config.sslContextCallback = { [self] _, promise in promise.succeed(currentOverride()) }
        return config
    }

    /// The current pair, as a handshake's configuration override.
    func currentOverride() -> NIOSSLContextConfigurationOverride {
        let (chain, key) = pair.withLock { ($0.chain, $0.key) }
        var change = NIOSSLContextConfigurationOverride()
        change.certificateChain = chain.map { .certificate($0) }
        change.privateKey = .privateKey(key)
        return change
    }

    /// Re-reads the files if either changed; true when a new pair was installed.
    @discardableResult
    public func reloadIfChanged() -> Bool {
        let stamp = Self.stamp(settings)
        guard stamp != pair.withLock({ $0.stamp }) else { return false }
        do {
            var fresh = try Self.loadPair(settings, stamp: stamp)
            var config = configuration()
            config.certificateChain = fresh.chain.map { .certificate($0) }
            config.privateKey = .privateKey(fresh.key)
            config.sslContextCallback = nil
            _ = try Self.context(config)
            fresh.stamp = stamp
            pair.withLock { $0 = fresh }
            logger.notice("TLS certificate reloaded", metadata: [
                "file": .string(settings.certificateFile), "subject": .string(Self.describe(fresh.chain.first)),
            ])
            return true
        } catch {
            logger.warning("the TLS certificate or key changed but cannot be used; keeping the previous pair", metadata: [
                "file": .string(settings.certificateFile), "error": .string(error.message),
            ])
            pair.withLock { $0.stamp = stamp }
            return false
        }
    }

    static func describe(_ certificate: NIOSSLCertificate?) -> String {
        guard let certificate else { return "none" }
        return String(describing: certificate).prefix(200).description
    }

    /// Size and modification time of both files, to notice a rotation.
    static func stamp(_ s: TLSSettings) -> String {
        [s.certificateFile, s.keyFile].map { path in
            guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return "missing" }
            let date = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(a[.size] as? Int ?? -1):\(date)"
        }.joined(separator: "|")
    }

    static func loadPair(_ s: TLSSettings, stamp: String) throws(KeelError) -> Pair {
        let chain = try certificates(s.certificateFile, what: "TLS certificate file")
        guard let text = SmallFile.text(s.keyFile, limit: maxFileBytes) else {
            throw KeelError(.invalidInput, "cannot read the TLS key file \(s.keyFile) (missing, unreadable or over 1 MiB)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: Array(text.utf8), format: .pem)
        } catch {
            throw KeelError(.invalidInput, "the TLS key file \(s.keyFile) holds no PEM private key (an encrypted key is not supported)")
        }
        return Pair(chain: chain, key: key, stamp: stamp)
    }

    static func certificates(_ path: String, what: String) throws(KeelError) -> [NIOSSLCertificate] {
        guard let text = SmallFile.text(path, limit: maxFileBytes) else {
            throw KeelError(.invalidInput, "cannot read the \(what) \(path) (missing, unreadable or over 1 MiB)")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(Array(text.utf8))
        } catch {
            throw KeelError(.invalidInput, "the \(what) \(path) is not PEM certificates")
        }
        guard !certificates.isEmpty else { throw KeelError(.invalidInput, "the \(what) \(path) holds no certificate") }
        guard certificates.count <= maxCertificates else {
            throw KeelError(.invalidInput, "the \(what) \(path) holds over \(maxCertificates) certificates")
        }
        return certificates
    }

    static func context(_ configuration: TLSConfiguration) throws(KeelError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw KeelError(.invalidInput, "the TLS certificate and key cannot be used together (\(error)); is the key the certificate's?")
        }
    }
}
