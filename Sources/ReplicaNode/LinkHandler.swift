import NIOCore

/// Feeds the socket's bytes to the driver; no decoding here.
/// `Sendable` as checked by the compiler: its one property is the (loop-confined) driver, a `let`.
final class LinkHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let driver: LinkDriver

    init(driver: LinkDriver) {
        self.driver = driver
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        driver.channelRead(context.channel, unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        driver.channelInactive(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        driver.channelError(context.channel, error)
        context.close(promise: nil)
    }
}
