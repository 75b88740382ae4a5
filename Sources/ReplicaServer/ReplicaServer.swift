import Foundation
import Logging
import NIOCore
import NIOPosix
import Base
import NIOSSL
import ReplicaStore

/// The RESP port of `follow --port`: answers the connection/server commands of a read-only Redis
/// replica and serves downstream replicas (PSYNC) from the store's snapshot and log.
///
/// Everything runs on one event loop of its own group, apart from the link's: a slow or hostile client
/// can only delay other clients of this port, never the link to the master. All state below is
/// confined to `loop`.
///
/// `@unchecked Sendable`: `readSource` is guarded by `readSourceLock`; the other mutable properties (listener,
/// poller, clients, logger, ids) are touched only on `loop`: from channel callbacks and from work that `start`/`stop` and the poller schedule on it.
public final class ReplicaServer: @unchecked Sendable {
    /// The Redis version we answer as (HELLO, INFO): the protocol and replication behaviour we implement.
    public static let redisVersion = "7.0.0"

    public let configuration: ServerConfiguration
    let store: ReplicaStore
    let linkStatus: @Sendable () -> LinkStatus
    var logger: Logger
    let group: MultiThreadedEventLoopGroup
    let loop: EventLoop
    private var listeners: [Channel] = []
    private var poller: RepeatedTask?

    var clients: [Int64: ClientHandler] = [:]
    /// Clients waiting in XREAD BLOCK, retried at every poll (see `ClientHandler.retryBlocked`).
    var blockedClients: [Int64: ClientHandler] = [:]
    private var nextClientID: Int64 = 1
    let startedAt = Date()
    let runID: String = (0..<40).map { _ in String("0123456789abcdef".randomElement()!) }.joined()

    // Stats (INFO stats).
    var totalConnections: Int64 = 0
    var totalCommands: Int64 = 0
    var rejectedConnections: Int64 = 0
    var syncFull: Int64 = 0
    var syncPartialOK: Int64 = 0
    var syncPartialErr: Int64 = 0
    var netInputBytes: Int64 = 0
    var netOutputBytes: Int64 = 0
    var errorReplies: Int64 = 0

    /// What the downstream replicas are following: a change of lineage (an upstream full sync; a compaction
    /// keeps the lineage) or of replid (an upstream +CONTINUE with a new id) disconnects them, as Redis does
    /// with its sub-replicas.
    private var servedLineage: String?
    private var servedReplid: String?
    /// When our log last grew (for master_last_io_seconds_ago).
    private(set) var lastLogGrowth = Date()
    private var lastEnd: Int64 = -1

    public init(configuration: ServerConfiguration, store: ReplicaStore, logger: Logger,
                linkStatus: @escaping @Sendable () -> LinkStatus) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.linkStatus = linkStatus
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
    }

    /// Where reads get the dataset (`serveReads(from:)`); none until it is set.
    private let readSourceLock = Lock()
    private var readSource: (@Sendable () -> DatasetView)?

    /// Answers the read commands from `source`, which returns the dataset as of its last applied command
    /// (an O(1) copy) or why there is none. Without it, reads answer that no dataset is kept.
    public func serveReads(from source: @escaping @Sendable () -> DatasetView) {
        readSourceLock.withLock { readSource = source }
    }

    func datasetView() -> DatasetView {
        readSourceLock.withLock { readSource }?() ?? .notKept
    }

    /// The port actually bound (useful with port 0); 0 without a plain listener.
    public private(set) var boundPort = 0
    /// The TLS port actually bound (`tlsPort`); 0 without a TLS listener.
    public private(set) var boundTLSPort = 0

    /// Binds and starts accepting clients; throws when the address cannot be bound or the TLS files
    /// cannot be used (`TLSSetupError`).
    public func start() throws {
        let tlsContext = try configuration.tlsPort.map { _ in
            try configuration.tlsFiles.makeServerContext(authClients: configuration.tlsAuthClients)
        }
        if configuration.servePlain {
            let ch = try bootstrap(tls: nil).bind(host: configuration.bindAddress, port: configuration.port).wait()
            listeners.append(ch)
            boundPort = ch.localAddress?.port ?? configuration.port
        }
        if let tlsContext, let tlsPort = configuration.tlsPort {
            let ch: Channel
            do {
                ch = try bootstrap(tls: tlsContext).bind(host: configuration.bindAddress, port: tlsPort).wait()
            } catch {
                for l in listeners { try? l.close().wait() }
                listeners = []
                throw error
            }
            listeners.append(ch)
            boundTLSPort = ch.localAddress?.port ?? tlsPort
        }
        try loop.submit {
            self.refreshServedPosition(disconnect: false)
            self.poller = self.loop.scheduleRepeatedTask(initialDelay: self.configuration.pollInterval,
                                                         delay: self.configuration.pollInterval) { _ in self.poll() }
        }.wait()
        if configuration.failoverGuardOnly {
            logger.notice("Failover guard on \(configuration.bindAddress):\(boundPort != 0 ? boundPort : boundTLSPort)\(boundPort != 0 ? "" : " (TLS)"), announced to the master: a FAILOVER there reaches us and is refused (it serves nothing else)")
            return
        }
        let auth = configuration.password == nil ? "none, protected mode" : "required"
        if boundPort != 0 {
            logger.notice("Serving RESP on \(configuration.bindAddress):\(boundPort) (auth \(auth), maxclients \(configuration.maxClients))")
        }
        if boundTLSPort != 0 {
            logger.notice("Serving RESP over TLS on \(configuration.bindAddress):\(boundTLSPort) (auth \(auth), tls-auth-clients \(configuration.tlsAuthClients.rawValue), maxclients \(configuration.maxClients))")
        }
    }

    /// The listener's bootstrap; with `tls`, every connection starts with a TLS server handshake.
    private func bootstrap(tls: NIOSSLContext?) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 511)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.writeBufferWaterMark, value: .init(low: 256 << 10, high: 1 << 20))
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 4)
            .childChannelInitializer { ch in
                // The initializer runs on the child's loop: the handler is created and added there.
                ch.eventLoop.makeCompletedFuture {
                    let sync = ch.pipeline.syncOperations
                    if let tls {
                        try sync.addHandler(NIOSSLServerHandler(context: tls))
                        try sync.addHandler(TLSErrorLogger(server: self))
                    }
                    try sync.addHandler(ClientHandler(server: self))
                }
            }
    }

    /// Closes the listener and every client; waits for the loop to finish.
    public func stop() {
        let done: EventLoopFuture<Void> = loop.flatSubmit {
            self.poller?.cancel()
            self.poller = nil
            for c in self.clients.values { c.close() }
            let closes = self.listeners.map { $0.close() }
            self.listeners = []
            return EventLoopFuture.andAllComplete(closes, on: self.loop)
        }
        try? done.wait()
        try? group.syncShutdownGracefully()
    }

    // MARK: Clients (on loop)

    var sessions: [ClientSession] { clients.values.map(\.session).sorted { $0.id < $1.id } }

    /// Admits a new connection (Redis `acceptCommonHandler` / `clientAcceptHandler`): nil when it is
    /// admitted, else the error to write before closing it.
    func admit(_ handler: ClientHandler, isLoopback: Bool) -> Reply? {
        totalConnections += 1
        if clients.count >= configuration.maxClients {
            rejectedConnections += 1
            return Errors.maxClients
        }
        if configuration.protectedMode && configuration.password == nil && !isLoopback && !configuration.failoverGuardOnly {
            rejectedConnections += 1
            return Errors.denied
        }
        return nil
    }

    func newClientID() -> Int64 {
        defer { nextClientID += 1 }
        return nextClientID
    }

    func register(_ h: ClientHandler) { clients[h.session.id] = h }
    func unregister(_ h: ClientHandler) {
        clients.removeValue(forKey: h.session.id)
        blockedClients.removeValue(forKey: h.session.id)
    }

    var downstreams: [DownstreamReplica] { clients.values.compactMap(\.replica).sorted { $0.session.id < $1.session.id } }

    // MARK: Streaming (on loop)

    private func poll() {
        refreshServedPosition(disconnect: true)
        for r in downstreams { r.pump() }
        // XREAD BLOCK: every poll (5 ms by default) the blocked clients look at the dataset as last applied;
        // one copy of it serves them all.
        if !blockedClients.isEmpty {
            let view = datasetView()
            let now = ReadCommands.nowMs()
            for h in blockedClients.values.sorted(by: { $0.session.id < $1.session.id }) { h.retryBlocked(view: view, nowMs: now) }
        }
    }

    private func refreshServedPosition(disconnect: Bool) {
        let m = store.currentManifest
        let end = store.position?.offset ?? -1
        if end != lastEnd {
            lastEnd = end
            lastLogGrowth = Date()
        }
        // The lineage (the full sync the data descends from), not the snapshot file: a compaction replaces the
        // snapshot but keeps the history, and a downstream replica streams on through it.
        let lineage = m?.lineage
        let replid = m?.replid
        if disconnect && (lineage != servedLineage || replid != servedReplid) {
            let why = lineage != servedLineage ? "a new full sync from our master" : "a new replication id from our master (\(replid ?? "none"))"
            for r in downstreams {
                logger.notice("Disconnecting replica \(r.describe) after \(why), as Redis does with its sub-replicas")
                r.handler.close()
            }
        }
        servedLineage = lineage
        servedReplid = replid
    }
}
