import NIOSSL
import ReplicaServer
import Replication
import ReplicaStore

/// Everything `redis-replica follow` is configured with.
public struct FollowOptions: Sendable {
    public var masterHost: String
    public var masterPort: Int
    public var directory: String
    public var masterUser: String?
    /// Never logged, never printed.
    public var masterPassword: String?
    public var fsync: FsyncPolicy
    public var replTimeoutSeconds: Int
    /// Announced with `REPLCONF listening-port`.
    public var listeningPort: Int
    /// Reconnect backoff: first delay and cap, doubled per failed attempt, jittered (50–100 %).
    public var backoffInitialMs: Int
    public var backoffMaxMs: Int
    /// How each received RDB is checked before it is published: `full` reads it back with the RDB reader
    /// (every key's structure and the CRC-64), `checksum` only checks the magic and CRC-64, nil skips it.
    public var verifyDepth: SnapshotVerifyDepth?
    /// `--port`: serve RESP (and downstream replicas) on this port; nil = no server.
    public var server: ServerConfiguration?
    /// Without `--port` (and without `--listening-port`): listen on a free port that only refuses
    /// `PSYNC ... FAILOVER`, and announce it, so a FAILOVER on the master never hands over to us.
    public var failoverGuard = false
    /// Keep the master's dataset in memory (`DatasetFollower`); `--no-dataset` turns it off (recording only).
    public var dataset = true
    /// Load a full sync's dataset from its bytes as they arrive (`IncomingLoad`), so it is ready with the
    /// last byte; false: load it from the published snapshot afterwards (the hidden
    /// `--load-after-transfer`, the anchor tools/bench-full-sync-ready measures against).
    public var loadWhileReceiving = true
    /// The most bytes of an unfinished command the link holds before streaming them to the log as
    /// `continues` records (`LinkConfiguration.maxHeldCommandBytes`).
    public var maxHeldCommandBytes = LinkConfiguration.defaultMaxHeldCommandBytes
    /// `--compact-after-bytes`: compact when the log since the snapshot holds this many stream bytes;
    /// nil: the larger of 64 MB and the snapshot's size. 0 turns compaction off. Needs the dataset.
    public var compactAfterBytes: Int64?
    /// `--tls-replication`: the link to the master is TLS, checked against these CA files, presenting our
    /// certificate when given (nil: plain TCP). See `TLSFiles` for what is verified.
    public var masterTLS: TLSFiles?
    /// The context made from `masterTLS` once at startup by `FollowService` (unreadable files stop follow
    /// there, not at each retry); every connection to the master starts with a handshake in it.
    public var masterTLSContext: NIOSSLContext?
    /// `--supervised`: tell systemd (NOTIFY_SOCKET) when the link streams and what state it is in.
    public var supervised: SupervisedMode = .no

    public init(masterHost: String, masterPort: Int, directory: String, masterUser: String? = nil,
                masterPassword: String? = nil, fsync: FsyncPolicy = .everysec, replTimeoutSeconds: Int = 60,
                listeningPort: Int = 0, backoffInitialMs: Int = 100, backoffMaxMs: Int = 5000,
                verifyDepth: SnapshotVerifyDepth? = .full) {
        self.masterHost = masterHost
        self.masterPort = masterPort
        self.directory = directory
        self.masterUser = masterUser
        self.masterPassword = masterPassword
        self.fsync = fsync
        self.replTimeoutSeconds = replTimeoutSeconds
        self.listeningPort = listeningPort
        self.backoffInitialMs = backoffInitialMs
        self.backoffMaxMs = backoffMaxMs
        self.verifyDepth = verifyDepth
    }

    public var masterAddress: String { "\(masterHost):\(masterPort)" }
}

/// Why `follow` stopped with an error, and the exit status it maps to.
public struct FollowError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The master refused AUTH: exit status 2, no retry.
        case authentication
        /// The data directory or a local write failed: exit status 1.
        case local
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
    public var exitStatus: Int32 { kind == .authentication ? 2 : 1 }
}

/// Capped exponential backoff with jitter: attempt n waits `min(cap, initial * 2^n)` scaled by 50–100 %.
public struct Backoff: Sendable {
    public var initialMs: Int
    public var maxMs: Int
    public private(set) var attempt = 0

    public init(initialMs: Int, maxMs: Int) {
        self.initialMs = max(1, initialMs)
        self.maxMs = max(self.initialMs, maxMs)
    }

    /// The next delay in ms, using `random` in 0..<1 for the jitter.
    public mutating func nextDelayMs(random: Double) -> Int {
        let shift = min(attempt, 30)
        let base = min(maxMs, initialMs << shift)
        attempt += 1
        return max(1, Int(Double(base) * (0.5 + 0.5 * min(max(random, 0), 1))))
    }

    public mutating func reset() { attempt = 0 }
}

/// How a received RDB is checked before it is published.
public enum SnapshotVerifyDepth: String, Sendable, CaseIterable {
    /// Magic, EOF opcode and CRC-64 only (about disk speed).
    case checksum
    /// A full read with the streaming RDB reader: every record's structure and the CRC-64.
    case full
}
