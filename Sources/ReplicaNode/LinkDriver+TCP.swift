import Foundation
import NIOCore
import NIOPosix

extension LinkDriver {
    /// The TCP connection to the master.
    static func connectTCP(_ driver: LinkDriver) -> EventLoopFuture<Channel> {
        let bootstrap = ClientBootstrap(group: driver.loop)
            .connectTimeout(.seconds(Int64(max(1, driver.options.replTimeoutSeconds))))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .channelOption(LinkDriver.tcpKeepIdle, value: LinkDriver.tcpKeepAliveSeconds)
            .channelOption(LinkDriver.tcpKeepInterval, value: max(1, LinkDriver.tcpKeepAliveSeconds / 3))
            .channelOption(LinkDriver.tcpKeepCount, value: 3)
            .channelInitializer { ch in
                ch.pipeline.addHandler(LinkHandler(driver: driver))
            }
        return bootstrap.connect(host: driver.options.masterHost, port: driver.options.masterPort)
    }

    /// TCP keepalive as Redis sets it on every connection, the one to its master included (anet.c
    /// `anetKeepAlive` with `tcp-keepalive 300`): probes after 300 s idle, every 100 s, 3 of them.
    static let tcpKeepAliveSeconds = 300
    #if os(Linux)
    static let tcpKeepIdle = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: CInt(TCP_KEEPIDLE)))
    #else
    static let tcpKeepIdle = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: CInt(TCP_KEEPALIVE)))
    #endif
    static let tcpKeepInterval = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: CInt(TCP_KEEPINTVL)))
    static let tcpKeepCount = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: CInt(TCP_KEEPCNT)))
}
