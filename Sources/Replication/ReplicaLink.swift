import Base
import RESP

/// The replica side of Redis replication as a pure state machine: events in, actions out, no I/O.
///
/// It follows Redis 7's `replication.c` (`syncWithMaster`, `slaveTryPartialResynchronization`,
/// `readSyncBulkPayload`, `replicationCron`) byte for byte:
/// - handshake (`ReplicaLink+Handshake.swift`): `PING`; then in one burst `AUTH [user] pass` (if configured),
///   `REPLCONF listening-port <port>`, `REPLCONF capa eof capa psync2`; replies read in order; then
///   `PSYNC <replid> <offset+1>` or `PSYNC ? -1`.
/// - transfer (`ReplicaLink+Transfer.swift`): `+FULLRESYNC <replid> <offset>` → RDB as `$<len>\r\n<len bytes>`
///   or `$EOF:<mark>\r\n<rdb><mark>`; `+CONTINUE [<newid>]` → streaming resumes; `-NOMASTERLINK`/`-LOADING`
///   → retry later; other errors → `SYNC`.
/// - stream (`ReplicaLink+Stream.swift`): the offset counts every byte of every complete command; inside
///   MULTI it advances only at EXEC. Committed bytes are handed out for persistence at command boundaries
///   outside MULTI; an unfinished command larger than `maxHeldCommandBytes` is handed out in chunks that
///   do not move the position (`.appendUnfinished`), so the position always is a command boundary. `REPLCONF GETACK *` is answered with the offset before the
///   GETACK; `REPLCONF ACK` goes out every second.
///
/// The state is one enum whose cases carry their own data (as swift-nio-http2's and NIOSOCKS's state
/// machines do); `state` names it with Redis's `REPL_STATE_*` values for logs and the status file.
public struct ReplicaLink: Sendable {
    public let configuration: LinkConfiguration
    /// The committed position (Redis's cached master / `reploff`); nil before the first full sync.
    public internal(set) var position: ReplicationPosition?

    /// Where the link is, with the data that only that phase has.
    enum Phase: Sendable {
        /// Must (re)connect.
        case connect
        /// The driver is connecting.
        case connecting
        case handshake(HandshakeState)
        case transfer(TransferState)
        case streaming(StreamState)
    }
    var phase: Phase = .connect
    /// The bytes of the current connection (empty outside one).
    var input = LinkInput()
    /// A snapshot whose persistence outlived its connection: adopt it when `.snapshotPersisted` arrives.
    var orphanedPersist: FullSyncTarget?
    /// Protocol errors in the stream at one offset, to stop a PSYNC retry loop (see `streamFailed`).
    var repeatedStreamFailure: (offset: Int64, count: Int)?
    /// Reads handshake reply lines with the configured limits.
    let decoder: RESPDecoder

    public init(configuration: LinkConfiguration, position: ReplicationPosition?) {
        self.configuration = configuration
        self.position = position
        self.decoder = RESPDecoder(limits: configuration.limits)
    }

    /// Redis's name for the current state.
    public var state: LinkState {
        switch phase {
        case .connect: return .connect
        case .connecting: return .connecting
        case .handshake(let h): return h.step.replState
        case .transfer: return .transfer
        case .streaming: return .connected
        }
    }

    // MARK: Events

    public mutating func handle(_ event: LinkEvent) -> [LinkAction] {
        var out: [LinkAction] = []
        switch event {
        case .connecting(let now):
            if state != .connect { resetConnection(&out) }
            input = LinkInput(lastActivity: now)
            move(to: .connecting, &out)
        case .connected(let now):
            guard case .connecting = phase else {
                out.append(.log(.debug, "connected event ignored in state \(state.rawValue)"))
                break
            }
            connected(&out, now: now)
        case .received(let bytes, let now):
            return bytes.withUnsafeBytes { receive($0, now: now) }
        case .tick(let now):
            tick(&out, now: now)
        case .disconnected:
            if state != .connect {
                out.append(.log(.warning, "Connection with master lost."))
                resetConnection(&out)
            }
        case .snapshotPersisted(let now, let streamDB):
            snapshotPersisted(&out, now: now, streamDB: streamDB)
        case .snapshotRejected(let now, let reason):
            snapshotRejected(&out, now: now, reason: reason)
        }
        return out
    }

    /// Bytes arrived from the master: the same as `.received`, without an intermediate array (the driver
    /// passes its socket buffer's bytes, copied once, into the link's input buffer).
    public mutating func receive(_ bytes: UnsafeRawBufferPointer, now: UInt64) -> [LinkAction] {
        var out: [LinkAction] = []
        switch phase {
        case .connect, .connecting:
            out.append(.log(.debug, "\(bytes.count) bytes ignored in state \(state.rawValue)"))
        default:
            // Compact before appending: the previous event's `.appendStream` slices are gone by now, so
            // this moves bytes without copying storage that a slice still shares.
            // While a command streams through in chunks, keep the buffer's storage (no reallocation per chunk).
            var chunking = false
            if case .streaming(let s) = phase { chunking = s.handedOut > 0 }
            input.compact(keepCapacity: chunking)
            input.lastActivity = now
            input.buffer.append(contentsOf: bytes)
            process(&out, now: now)
        }
        return out
    }

    // MARK: Connection bookkeeping

    /// Enters `phase`, announcing the change of `REPL_STATE` if there is one.
    mutating func move(to new: Phase, _ out: inout [LinkAction]) {
        let from = state
        phase = new
        if state != from { out.append(.stateChanged(from: from, to: state)) }
    }

    /// Drops everything tied to the current connection and returns to CONNECT. A snapshot still being
    /// persisted is remembered (`orphanedPersist`) unless `keepPendingSnapshot` is false.
    mutating func resetConnection(_ out: inout [LinkAction], keepPendingSnapshot: Bool = true) {
        if case .streaming(let s) = phase, s.handedOut > 0 { out.append(.discardUnfinished) }
        if case .transfer(let t) = phase {
            switch t.progress {
            case .sized, .eofMark: out.append(.fullSyncAborted)
            case .awaitingPersist: if keepPendingSnapshot { orphanedPersist = t.target }
            case .awaitingPreamble: break
            }
        }
        input = LinkInput()
        move(to: .connect, &out)
    }

    /// Closes the connection for a retry with backoff.
    mutating func fail(_ failure: LinkFailure, _ out: inout [LinkAction], keepPendingSnapshot: Bool = true) {
        if case .streaming(var s) = phase {
            flushCommitted(&s, &out)
            phase = .streaming(s)
        }
        out.append(.log(.warning, failure.message))
        resetConnection(&out, keepPendingSnapshot: keepPendingSnapshot)
        out.append(.closeConnection(failure))
    }

    /// Stops for good: retrying cannot help (a refused AUTH).
    mutating func fatal(_ failure: LinkFailure, _ out: inout [LinkAction]) {
        out.append(.log(.warning, failure.message))
        resetConnection(&out)
        out.append(.fatal(failure))
    }

    // MARK: Timer

    private mutating func tick(_ out: inout [LinkAction], now: UInt64) {
        let idle = now >= input.lastActivity ? now - input.lastActivity : 0
        let timeout = configuration.replTimeoutNanos
        switch phase {
        case .connect:
            break
        case .connecting, .handshake:
            if idle > timeout {
                fail(LinkFailure(.timeout, "Timeout connecting to the MASTER... (no reply for \(timeout / 1_000_000_000) s in \(state.rawValue))"), &out)
            }
        case .transfer(var t):
            transferTick(&t, &out, now: now, idle: idle)
        case .streaming(var s):
            if idle > timeout {
                fail(LinkFailure(.timeout, "MASTER timeout: no data nor PING received for \(timeout / 1_000_000_000) s"), &out)
                break
            }
            // Ticks come about once per interval; allow a quarter of jitter so one early tick does not
            // skip a whole interval.
            if now &- s.lastAckSent >= configuration.ackIntervalNanos - configuration.ackIntervalNanos / 4 {
                sendAck(&s, &out, now: now, offset: position?.offset ?? 0)
            }
            phase = .streaming(s)
        }
    }

    // MARK: Input processing

    /// Consumes input for as long as the current phase makes progress.
    mutating func process(_ out: inout [LinkAction], now: UInt64) {
        while input.available > 0 {
            let before = (state, input.readIndex, input.buffer.count)
            switch phase {
            case .connect, .connecting:
                return
            case .handshake(var h):
                guard let line = readReplyLine(&out) else { return }
                handleReply(line, &h, &out, now: now)
            case .transfer(var t):
                processTransfer(&t, &out, now: now)
            case .streaming(var s):
                processStream(&s, &out, now: now)
                return
            }
            // Stop when nothing moved (need more data) or the connection was dropped.
            if state == .connect { return }
            if before.0 == state && before.1 == input.readIndex && before.2 == input.buffer.count { return }
        }
    }

    /// Reads one `\n`-terminated reply line (CR stripped), nil if incomplete or on a protocol error
    /// (then the connection is already failed).
    mutating func readReplyLine(_ out: inout [LinkAction]) -> [UInt8]? {
        do {
            let start = input.readIndex
            let base = input.connectionBase + Int64(start)
            let result = try input.buffer.withUnsafeBytes { raw in
                try decoder.readLine(UnsafeRawBufferPointer(rebasing: raw[start...]), baseOffset: base)
            }
            guard let (line, used) = result else { return nil }
            input.readIndex += used
            return line
        } catch {
            fail(LinkFailure(.protocolError, "Protocol error in the master's reply during \(state.rawValue): \(error)"), &out)
            return nil
        }
    }

    static func text(_ line: [UInt8]) -> String {
        String(decoding: line.prefix(512), as: UTF8.self)
    }

    static func hasPrefix(_ line: [UInt8], _ prefix: String) -> Bool {
        let p = Array(prefix.utf8)
        return line.count >= p.count && Array(line[0..<p.count]) == p
    }
}

/// The bytes received on one connection and not yet consumed.
struct LinkInput: Sendable {
    /// `buffer[readIndex...]` is unconsumed.
    var buffer: [UInt8] = []
    var readIndex = 0
    /// Bytes received on this connection before `buffer[0]` (for error offsets in the handshake).
    var connectionBase: Int64 = 0
    /// When the master last sent anything (for `repl-timeout`).
    var lastActivity: UInt64 = 0

    init(lastActivity: UInt64 = 0) {
        self.lastActivity = lastActivity
    }

    var available: Int { buffer.count - readIndex }

    /// Drops consumed bytes: all of them when everything was consumed, else the consumed prefix once it is
    /// at least 64 KiB and half the buffer (amortized O(1) per byte).
    mutating func compact(keepCapacity: Bool = false) {
        if readIndex > 0 && readIndex >= buffer.count {
            buffer.removeAll(keepingCapacity: keepCapacity || buffer.capacity <= 1 << 20)
            connectionBase += Int64(readIndex)
            readIndex = 0
        } else if readIndex >= 65536 && readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            connectionBase += Int64(readIndex)
            readIndex = 0
        }
    }
}
