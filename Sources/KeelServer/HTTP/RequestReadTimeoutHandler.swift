import NIOCore
import NIOHTTPTypes

/// Closes a connection whose client is too slow to send a request: the first request's head
/// must arrive within `readTimeout` of the connection opening, each request's body within
/// `readTimeout` of its head, and the next head within `idleTimeout + readTimeout` of the
/// previous response. The idle timeout alone cannot stop a client that trickles one byte at a
/// time (every byte resets it); this bounds the whole request.
///
/// Requests only move a deadline; one timer per connection checks it every quarter of the read
/// timeout (so a connection is closed at most that much after its deadline), instead of two
/// timers scheduled and cancelled per request.
final class RequestReadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let readTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    /// When the connection is closed unless the deadline moves (nil: a request is being served).
    private var deadline: NIODeadline?
    private var timer: Scheduled<Void>?
    private var period: TimeAmount { max(.milliseconds(10), .nanoseconds(readTimeout.nanoseconds / 4)) }

    init(readTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        deadline = .now() + readTimeout
        check(context, after: period)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: deadline = .now() + readTimeout
        case .body: break
        case .end: deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { deadline = .now() + idleTimeout + readTimeout }
        context.write(data, promise: promise)
    }

    private func check(_ context: ChannelHandlerContext, after delay: TimeAmount) {
        let loop = context.eventLoop.assumeIsolated()
        timer = loop.scheduleTask(in: delay) { [self, context] in
            if let deadline = self.deadline, deadline <= .now() {  // nil: serving a request
                self.timer = nil
                context.close(promise: nil)
            } else {
                self.check(context, after: self.period)
            }
        }
    }
}
