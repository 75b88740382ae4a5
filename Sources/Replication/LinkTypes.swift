import Base
import RESP

/// The replica link's state, named exactly as Redis's `repl_state` values (`REPL_STATE_*` in server.h).
public enum LinkState: String, Sendable, Equatable, CaseIterable {
    /// Must (re)connect.
    case connect = "CONNECT"
    /// Connecting to the master.
    case connecting = "CONNECTING"
    /// Waiting for the reply to PING.
    case receivePingReply = "RECEIVE_PING_REPLY"
    /// Sending AUTH / REPLCONF in one burst (transient).
    case sendHandshake = "SEND_HANDSHAKE"
    case receiveAuthReply = "RECEIVE_AUTH_REPLY"
    case receivePortReply = "RECEIVE_PORT_REPLY"
    case receiveCapaReply = "RECEIVE_CAPA_REPLY"
    /// Waiting for the reply to `REPLCONF version` (Valkey's `REPL_STATE_RECEIVE_VERSION_REPLY`).
    case receiveVersionReply = "RECEIVE_VERSION_REPLY"
    /// Sending PSYNC (transient).
    case sendPsync = "SEND_PSYNC"
    case receivePsyncReply = "RECEIVE_PSYNC_REPLY"
    /// Receiving the RDB payload.
    case transfer = "TRANSFER"
    /// Streaming commands.
    case connected = "CONNECTED"
}

/// How the master sends the RDB after +FULLRESYNC.
public enum RDBTransferKind: Sendable, Equatable {
    /// Disk-based: `$<len>\r\n` then exactly `len` bytes, no trailing CRLF.
    case sized(length: Int64)
    /// Diskless: `$EOF:<40 bytes>\r\n`, the RDB, then the same 40 bytes.
    case eofMark
}

/// Why the link went down or cannot proceed.
public struct LinkFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// `repl-timeout` elapsed without data (handshake, transfer or a silent link).
        case timeout
        /// The master sent bytes that are not what the protocol allows here.
        case protocolError
        /// The master replied with an error that means "try again later" (-NOMASTERLINK, -LOADING)
        /// or aborted the transfer.
        case masterNotReady
        /// The master replied to PING with an unexpected error.
        case masterError
        /// AUTH was refused: configuration error, never retried.
        case authenticationFailed
        /// The connection closed or failed.
        case connectionLost
        /// The local side (store, verification) failed.
        case local
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// What a replica link is configured with. The password is never part of a description.
public struct LinkConfiguration: Sendable {
    public var masterUser: String?
    public var masterPassword: String?
    /// Announced with `REPLCONF listening-port` (shown in the master's INFO replication).
    public var listeningPort: Int
    /// Redis's `repl-timeout`, in nanoseconds (default 60 s).
    public var replTimeoutNanos: UInt64
    /// How often `REPLCONF ACK` is sent (Redis: every second from `replicationCron`).
    public var ackIntervalNanos: UInt64
    /// Bounds for the master's replies and stream. The default, `.masterStream`, sets no bulk limit: Redis
    /// checks `proto-max-bulk-len` for every client but its master (networking.c `processMultibulkBuffer`).
    public var limits: RESPLimits
    /// After this many protocol errors in a row in the stream at the same master offset, the cached master
    /// is dropped and the next sync is a full one (Redis drops it after the first: `freeClient` of the
    /// master on a protocol error does not cache it).
    public var maxIdenticalStreamFailures: Int
    /// While the driver persists a received RDB, a newline goes to the master this often, so its
    /// `repl-timeout` does not cut us (replication.c `replicationSendNewlineToMaster`, once a second).
    public var keepaliveNewlineIntervalNanos: UInt64
    /// The most bytes of an unfinished command (or MULTI/EXEC transaction) the link holds: past it, the
    /// bytes it no longer needs to scan are handed out with `.appendUnfinished` (written as log records
    /// flagged `continues`), so a bulk of any size streams through bounded memory. Redis itself holds a
    /// whole command (`querybuf`) however large, since it must execute it.
    public var maxHeldCommandBytes: Int
    public static let defaultMaxHeldCommandBytes = 16 << 20

    public init(masterUser: String? = nil, masterPassword: String? = nil, listeningPort: Int = 0,
                replTimeoutSeconds: Int = 60, ackIntervalNanos: UInt64 = 1_000_000_000,
                limits: RESPLimits = .masterStream, maxIdenticalStreamFailures: Int = 3,
                keepaliveNewlineIntervalNanos: UInt64 = 1_000_000_000,
                maxHeldCommandBytes: Int = LinkConfiguration.defaultMaxHeldCommandBytes) {
        self.masterUser = masterUser
        self.masterPassword = masterPassword
        self.listeningPort = listeningPort
        self.replTimeoutNanos = UInt64(max(1, replTimeoutSeconds)) * 1_000_000_000
        self.ackIntervalNanos = ackIntervalNanos
        self.limits = limits
        self.maxIdenticalStreamFailures = max(1, maxIdenticalStreamFailures)
        self.keepaliveNewlineIntervalNanos = keepaliveNewlineIntervalNanos
        self.maxHeldCommandBytes = max(1, maxHeldCommandBytes)
    }
}

/// Events the driver feeds into the link. `now` is a monotonic clock in nanoseconds.
public enum LinkEvent: Sendable, Equatable {
    /// The driver started connecting.
    case connecting(now: UInt64)
    /// The TCP connection is established.
    case connected(now: UInt64)
    /// Bytes arrived from the master.
    case received([UInt8], now: UInt64)
    /// The periodic timer (about once per second).
    case tick(now: UInt64)
    /// The connection closed (by the peer, an error, or after a `.closeConnection` action).
    case disconnected(now: UInt64)
    /// The driver finished persisting (and verifying) the RDB announced by `.endOfRDB`.
    /// `streamDB` is the RDB's AUX `repl-stream-db` when it has one (the db the stream continues in).
    case snapshotPersisted(now: UInt64, streamDB: Int?)
    /// The RDB announced by `.endOfRDB` failed verification and was discarded: the link closes the
    /// connection (`.closeConnection`) and the next attempt asks for a new transfer.
    case snapshotRejected(now: UInt64, reason: String)
}

public enum LinkLogLevel: String, Sendable, Equatable {
    case debug, info, notice, warning
}

/// What the link asks the driver to do, in order.
public enum LinkAction: Sendable, Equatable {
    case stateChanged(from: LinkState, to: LinkState)
    case log(LinkLogLevel, String)
    /// Write these bytes to the master.
    case send([UInt8])
    /// Write `REPLCONF ACK <offset>` (encoded in `bytes`) to the master; `offset` is what it acknowledges.
    case sendAck(offset: Int64, bytes: [UInt8])
    /// +FULLRESYNC (or the SYNC fallback, with `replid` nil: the master did not say): an RDB follows.
    case beginFullSync(replid: String?, offset: Int64, transfer: RDBTransferKind)
    /// A piece of the RDB payload, in order.
    case rdbBytes([UInt8])
    /// The RDB is complete (`totalBytes` bytes). Persist it, then send `.snapshotPersisted`.
    case endOfRDB(totalBytes: Int64)
    /// The transfer in progress was abandoned (connection lost, timeout): discard the partial RDB.
    case fullSyncAborted
    /// +CONTINUE: resume at `position`. `newReplid` is set when the master's id changed (the old id
    /// becomes its replid2, valid up to `position.offset + 1`): persist it.
    case partialResyncAccepted(position: ReplicationPosition, previousReplid: String, newReplid: String?)
    /// The master does not support PSYNC or refused it: `SYNC` is being sent instead.
    case fallingBackToSync(reply: String)
    /// Complete commands that end at `endOffset`, outside MULTI; `db` is the selected db after them.
    /// Append them to the log. `bytes` is a slice of the link's input buffer (no copy): perform the
    /// action and drop it before the next event, or the link's next buffer mutation copies the buffer.
    /// If `.appendUnfinished` bytes precede them, these bytes complete that command: the position advances
    /// over both.
    case appendStream(bytes: ArraySlice<UInt8>, endOffset: Int64, db: Int)
    /// Bytes of a command (or transaction) still arriving, held past `maxHeldCommandBytes`: append them as
    /// records flagged `continues`; the position stays at the last boundary until an `.appendStream`
    /// completes the command. `endOffset` is the stream offset written so far. Same slice rule as above.
    case appendUnfinished(bytes: ArraySlice<UInt8>, endOffset: Int64)
    /// The connection that was sending the unfinished command is gone: drop its `.appendUnfinished` bytes
    /// (the master resends the command from its first byte after PSYNC from the position).
    case discardUnfinished
    /// Close the connection now and reconnect later (with backoff).
    case closeConnection(LinkFailure)
    /// Stop for good (exit status 2): retrying cannot help.
    case fatal(LinkFailure)
}
