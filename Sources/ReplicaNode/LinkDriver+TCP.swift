import Foundation
import NIOCore
import NIOPosix
import NIOSSL

extension LinkDriver {
    /// The TCP connection to the master (TLS inside it with `--tls-replication`).
    static func connectTCP(_ driver: LinkDriver) -> EventLoopFuture<Channel> {
        let bootstrap = ClientBootstrap(group: driver.loop)
            .connectTimeout(.seconds(Int64(max(1, driver.options.replTimeoutSeconds))))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
            .channelOption(LinkDriver.tcpKeepIdle, value: LinkDriver.tcpKeepAliveSeconds)
            .channelOption(LinkDriver.tcpKeepInterval, value: max(1, LinkDriver.tcpKeepAliveSeconds / 3))
            .channelOption(LinkDriver.tcpKeepCount, value: 3)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    let sync = ch.pipeline.syncOperations
                    if let tls = driver.options.masterTLSContext {
                        // SNI names the master when it is a host name (BoringSSL refuses an IP literal there);
                        // the certificate is checked against the CA only, as Redis does (see TLSFiles).
                        let host = driver.options.masterHost
                        let isIP = (try? SocketAddress(ipAddress: host, port: 0)) != nil
                        try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: isIP ? nil : host))
                    }
                    try sync.addHandler(LinkHandler(driver: driver))
                }
            }
        return bootstrap.connect(host: driver.options.masterHost, port: driver.options.masterPort)
    }

    /// An error on the link's channel (closed next, then retried): a failed TLS handshake (wrong CA, our
    /// certificate refused, a plain-text master) becomes the error `status` shows.
    func channelError(_ ch: Channel, _ error: Error) {
        guard ch === channel, !stopping else { return }
        let tls = error is NIOSSLError || error is BoringSSLError
        lastError = tls ? "TLS handshake with MASTER \(options.masterAddress) failed: \(error)" : "link error: \(error)"
        logger.warning("\(tls ? lastError ?? "" : "Link error: \(error)")")
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
