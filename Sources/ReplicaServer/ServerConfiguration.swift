import NIOCore

/// How `follow --port` serves: address, password, limits.
public struct ServerConfiguration: Sendable {
    /// TCP port; 0 picks a free one (tests read `ReplicaServer.boundPort`).
    public var port: Int
    /// `--bind`: the address to listen on (Redis's default since 7.0 is loopback; ours always is).
    public var bindAddress: String
    /// `--requirepass-file`: the default user's password. Never logged.
    public var password: String?
    /// `maxclients` (Redis default 10000).
    public var maxClients: Int
    /// Protected mode (Redis default yes): without a password, refuse clients that are not on loopback.
    public var protectedMode: Bool
    /// `proto-max-bulk-len` (Redis default 512 MB).
    public var maxBulkLength: Int
    /// `client-query-buffer-limit` (Redis default 1 GB): the most bytes one command may take.
    public var queryBufferLimit: Int
    /// A client whose command stays incomplete this long is closed (Redis has no such limit; it keeps a
    /// half-sent command forever, holding its memory).
    public var incompleteCommandTimeout: TimeAmount
    /// `client-output-buffer-limit replica <hard> <soft> <seconds>` (Redis default 256mb 64mb 60), here
    /// counted as how far behind our log a downstream replica's stream is (we read the log from disk, so
    /// the lag costs no memory; the limit says when a replica is too slow to be worth keeping).
    public var replicaHardLimit: Int64
    public var replicaSoftLimit: Int64
    public var replicaSoftSeconds: Int
    /// The master we follow, for INFO and ROLE.
    public var masterHost: String
    public var masterPort: Int
    /// How often streaming replicas look for new log bytes.
    public var pollInterval: TimeAmount
    /// The failover guard of a `follow` without `--port`: the port announced to the master only so that a
    /// FAILOVER there (which picks any replica whose ACK equals its offset, replication.c
    /// `updateFailoverStatus`) reaches us and is refused at `PSYNC ... FAILOVER`. It serves nothing: any
    /// client may connect (no data, so no protected mode), PING/AUTH/REPLCONF get +PONG/+OK, everything
    /// else an error and the connection closed.
    public var failoverGuardOnly = false
    /// `--tls-port`: also serve RESP (and downstream replicas) over TLS on this port (0 picks a free one,
    /// read back from `ReplicaServer.boundTLSPort`); nil: no TLS listener. As in Redis, `port` and
    /// `tls-port` are separate listeners; `servePlain` false (`--port 0 --tls-port P`) leaves only TLS.
    public var tlsPort: Int?
    /// Certificates for the TLS listener (`--tls-cert-file`, `--tls-key-file`, `--tls-ca-cert-file/dir`).
    public var tlsFiles = TLSFiles()
    /// `--tls-auth-clients` (Redis default yes: clients must present a certificate the CA signed).
    public var tlsAuthClients = TLSAuthClients.yes
    /// Whether the plain `port` listens (false when only `--tls-port` is given).
    public var servePlain = true

    /// The guard: all interfaces (the master connects to the address it sees us at), a free port.
    public static func failoverGuard(masterHost: String, masterPort: Int) -> ServerConfiguration {
        var c = ServerConfiguration(port: 0, bindAddress: "0.0.0.0", maxClients: 16, protectedMode: false,
                                    maxBulkLength: 64 << 10, queryBufferLimit: 1 << 20,
                                    incompleteCommandTimeout: .seconds(10), masterHost: masterHost, masterPort: masterPort,
                                    pollInterval: .seconds(1))
        c.failoverGuardOnly = true
        return c
    }

    public init(port: Int, bindAddress: String = "127.0.0.1", password: String? = nil, maxClients: Int = 10000,
                protectedMode: Bool = true, maxBulkLength: Int = 512 << 20, queryBufferLimit: Int = 1 << 30,
                incompleteCommandTimeout: TimeAmount = .seconds(30),
                replicaHardLimit: Int64 = 256 << 20, replicaSoftLimit: Int64 = 64 << 20, replicaSoftSeconds: Int = 60,
                masterHost: String = "", masterPort: Int = 0, pollInterval: TimeAmount = .milliseconds(5)) {
        self.port = port
        self.bindAddress = bindAddress
        self.password = password
        self.maxClients = maxClients
        self.protectedMode = protectedMode
        self.maxBulkLength = maxBulkLength
        self.queryBufferLimit = queryBufferLimit
        self.incompleteCommandTimeout = incompleteCommandTimeout
        self.replicaHardLimit = replicaHardLimit
        self.replicaSoftLimit = replicaSoftLimit
        self.replicaSoftSeconds = replicaSoftSeconds
        self.masterHost = masterHost
        self.masterPort = masterPort
        self.pollInterval = pollInterval
    }
}

/// The link to our master as INFO and ROLE show it.
public struct LinkStatus: Sendable {
    /// ROLE's state: connect, connecting, handshake, sync, connected.
    public var roleState: String
    public var linkUp: Bool
    public var syncInProgress: Bool
    /// Seconds since the link went down (nil while up).
    public var downSinceSeconds: Int64?
    public init(roleState: String, linkUp: Bool, syncInProgress: Bool, downSinceSeconds: Int64?) {
        self.roleState = roleState
        self.linkUp = linkUp
        self.syncInProgress = syncInProgress
        self.downSinceSeconds = downSinceSeconds
    }
}
