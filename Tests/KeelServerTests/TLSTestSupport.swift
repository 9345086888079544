import Crypto
import Foundation
import SwiftASN1
import X509

/// Throwaway PKI for TLS tests: a CA, a server certificate for 127.0.0.1 and localhost, and
/// client certificates, written as PEM files into a temporary folder.
struct TestPKI {
    let folder: URL
    let caFile: URL
    let serverCert: URL
    let serverKey: URL
    let clientCert: URL
    let clientKey: URL
    /// A client certificate from a CA the server does not trust.
    let strangerCert: URL
    let strangerKey: URL
    let caPEM: String

    static func make(in folder: URL) throws -> TestPKI {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func write(_ name: String, _ text: String) throws -> URL {
            let url = folder.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
        let (ca, caKey) = try authority("Keel test CA")
        let (server, serverKey) = try leaf("keel test server", issuer: ca, issuerKey: caKey, server: true)
        let (client, clientKey) = try leaf("keel test client", issuer: ca, issuerKey: caKey, server: false)
        let (otherCA, otherKey) = try authority("Some other CA")
        let (stranger, strangerKey) = try leaf("stranger", issuer: otherCA, issuerKey: otherKey, server: false)
        let caPEM = try ca.serializeAsPEM().pemString
        _ = try write("ca-key.pem", caKey.pemRepresentation)
        return TestPKI(
            folder: folder,
            caFile: try write("ca.pem", caPEM),
            serverCert: try write("server.pem", try server.serializeAsPEM().pemString),
            serverKey: try write("server-key.pem", serverKey.pemRepresentation),
            clientCert: try write("client.pem", try client.serializeAsPEM().pemString),
            clientKey: try write("client-key.pem", clientKey.pemRepresentation),
            strangerCert: try write("stranger.pem", try stranger.serializeAsPEM().pemString),
            strangerKey: try write("stranger-key.pem", strangerKey.pemRepresentation),
            caPEM: caPEM)
    }

    private static func authority(_ name: String) throws -> (Certificate, P256.Signing.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(name) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: subject, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        return (certificate, key)
    }

    private static func leaf(
        _ name: String, issuer: Certificate, issuerKey: P256.Signing.PrivateKey, server: Bool
    ) throws -> (Certificate, P256.Signing.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: issuer.subject,
            subject: try DistinguishedName { CommonName(name) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([server ? .serverAuth : .clientAuth])
                if server {
                    SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
                }
            },
            issuerPrivateKey: .init(issuerKey))
        return (certificate, key)
    }
}
