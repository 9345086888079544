import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import ServiceLifecycle

/// HTTPS with HTTP/2 negotiated by ALPN (HTTP/1.1 otherwise), and a deadline on the TLS
/// handshake: a client that connects and never finishes it is disconnected after the read
/// timeout instead of holding a connection slot for ever.
struct KeelTLSChannel: ServerChildChannel {
    let inner: HTTP2UpgradeChannel
    let handshakeTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP2UpgradeChannel.Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let ops = channel.pipeline.syncOperations
            let tls = try ops.handler(type: NIOSSLServerHandler.self)
            try ops.addHandler(HandshakeDeadlineHandler(timeout: handshakeTimeout), position: .after(tls))
            return value
        }
    }

    func handle(value: HTTP2UpgradeChannel.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// Closes the connection unless the TLS handshake completes in time, then leaves the pipeline.
final class HandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        let done: Bool
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls { done = true } else { done = false }
        context.fireUserInboundEventTriggered(event)
        if done {
            timer?.cancel()
            timer = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

/// Checks the certificate files for a rotation every `reloadInterval`.
struct CertificateReloadService: Service {
    let certificate: ServerCertificate

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: certificate.settings.reloadInterval) } catch { return }
                certificate.reloadIfChanged()
            }
        }
    }
}
