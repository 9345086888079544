import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelServing
import Logging
import Synchronization
import Testing
@testable import KeelServer

#if canImport(Glibc)
import Glibc
#endif

/// Slow or idle clients cannot hold the server: a request must arrive within the read
/// timeout, and past the connection cap new clients wait instead of exhausting it.
@Suite(.serialized) struct ConnectionLimitTests {
    /// Runs a real Keel server on a free loopback port (as `keel serve` builds it: timeouts and
    /// connection cap included) for the duration of `body`.
    static func withLiveServer(
        repository: URL? = nil, certificate: ServerCertificate? = nil,
        _ configure: (inout ServerConfiguration) -> Void, _ body: @Sendable (Int) async throws -> Void
    ) async throws {
        let manager = try await TestServer.manager(repository: repository)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let port = PortBox()
        let app = Application(
            router: KeelApplication.router(manager: manager, configuration: configuration),
            server: KeelApplication.server(configuration, certificate: certificate),
            configuration: KeelApplication.applicationConfiguration(configuration, logger: logger),
            onServerRunning: { channel in port.set(channel.localAddress?.port ?? 0) },
            logger: logger)
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        let deadline = ContinuousClock.now + .seconds(60)
        while port.value == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let bound = try #require(port.value)
        try await body(bound)
        server.cancel()
        _ = await server.result
    }

    @Test func aClientTricklingItsRequestIsDisconnectedAtTheReadTimeout() async throws {
        try await Self.withLiveServer({
            $0.readTimeout = .milliseconds(300)
            $0.idleTimeout = .seconds(10)
        }) { port in
            let outcome = await onThread { () -> (closed: Bool, seconds: Double) in
                guard let socket = RawSocket(port: port) else { return (false, 0) }
                defer { socket.close() }
                let started = Date()
                // One byte every 100 ms: the idle timeout never fires, the read timeout must.
                for byte in Array("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 100) {
                    if !socket.send([byte]) { return (true, Date().timeIntervalSince(started)) }
                    usleep(100_000)
                    if Date().timeIntervalSince(started) > 5 { break }
                }
                return (socket.receiveClosed(timeout: 2), Date().timeIntervalSince(started))
            }
            #expect(outcome.closed, "the trickling connection was not closed")
            #expect(outcome.seconds < 4, "closed only after \(outcome.seconds) s")
        }
    }

    @Test func aCompleteRequestIsServedNormally() async throws {
        try await Self.withLiveServer({ $0.readTimeout = .milliseconds(300) }) { port in
            let reply = await onThread { () -> String in
                guard let socket = RawSocket(port: port) else { return "" }
                defer { socket.close() }
                _ = socket.send(Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                return socket.receive(timeout: 2)
            }
            #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply.prefix(40))")
        }
    }

    @Test func pastTheConnectionCapNewClientsWaitUntilASlotFrees() async throws {
        try await Self.withLiveServer({ $0.maxConnections = 2 }) { port in
            let result = await onThread { () -> (whileFull: String, afterFree: String) in
                guard let a = RawSocket(port: port), let b = RawSocket(port: port) else { return ("no socket", "") }
                // Make sure both are accepted and counted.
                _ = a.send(Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                _ = a.receive(timeout: 2)
                _ = b.send(Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                _ = b.receive(timeout: 2)
                guard let c = RawSocket(port: port) else { return ("no socket", "") }
                defer { c.close() }
                _ = c.send(Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                let whileFull = c.receive(timeout: 0.5)
                a.close()
                let afterFree = c.receive(timeout: 3)
                b.close()
                return (whileFull, afterFree)
            }
            #expect(result.whileFull.isEmpty, "a third connection was served while two were open: \(result.whileFull.prefix(40))")
            #expect(result.afterFree.hasPrefix("HTTP/1.1 200"), "\(result.afterFree.prefix(40))")
        }
    }
}

/// Runs blocking socket code on its own thread, off the Swift cooperative pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// A plain blocking TCP client on loopback, for tests that must control bytes and timing.
final class RawSocket: Sendable {
    let fd: Int32

    init?(port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            return nil
        }
        var noSignal: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &noSignal, socklen_t(MemoryLayout<Int32>.size))
        self.fd = fd
    }

    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Reads whatever arrives within `timeout` seconds (empty if nothing).
    func receive(timeout: Double) -> String {
        var out: [UInt8] = []
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, end.timeIntervalSinceNow * 1000)))
            guard ready > 0 else { break }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            out += buffer[0..<n]
            if String(decoding: out, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether the server closed the connection within `timeout` seconds.
    func receiveClosed(timeout: Double) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(max(1, end.timeIntervalSinceNow * 1000))) > 0 else { return false }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return true }
        }
        return false
    }

    func close() { Glibc.close(fd) }
}

/// The port a live test server bound to, once known.
final class PortBox: Sendable {
    private let port = Mutex<Int?>(nil)
    func set(_ p: Int) { port.withLock { $0 = p } }
    var value: Int? { port.withLock { $0 } }
}
