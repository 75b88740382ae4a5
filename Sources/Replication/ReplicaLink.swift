import Base
import RESP

/// The replica side of Redis replication as a pure state machine: events in, actions out, no I/O.
///
/// It follows Redis 7's `replication.c` (`syncWithMaster`, `slaveTryPartialResynchronization`,
/// `readSyncBulkPayload`, `replicationCron`) byte for byte:
/// - handshake: `PING`; then in one burst `AUTH [user] pass` (if configured), `REPLCONF listening-port <port>`,
///   `REPLCONF capa eof capa psync2`; replies read in order; then `PSYNC <replid> <offset+1>` or `PSYNC ? -1`.
/// - `+FULLRESYNC <replid> <offset>` → RDB as `$<len>\r\n<len bytes>` or `$EOF:<mark>\r\n<rdb><mark>`;
///   `+CONTINUE [<newid>]` → streaming resumes; `-NOMASTERLINK`/`-LOADING` → retry later; other errors → `SYNC`.
/// - stream: the offset counts every byte of every complete command; inside MULTI it advances only at EXEC.
///   Only committed bytes are handed out for persistence, so the log always ends at a command boundary outside
///   MULTI. `REPLCONF GETACK *` is answered with the offset before the GETACK; `REPLCONF ACK` goes out every second.
public struct ReplicaLink: Sendable {
    public let configuration: LinkConfiguration
    public private(set) var state: LinkState = .connect
    /// The committed position (Redis's cached master / `reploff`); nil before the first full sync.
    public private(set) var position: ReplicationPosition?

    private let decoder: RESPDecoder
    /// Bytes received and not yet consumed; `readIndex` is the first unconsumed byte.
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Bytes received on this connection before `buffer[0]` (for error offsets in the handshake).
    private var connectionBase: Int64 = 0
    private var lastActivity: UInt64 = 0
    private var lastAckSent: UInt64 = 0

    private enum Transfer: Sendable {
        case awaitingPreamble(replid: String?, offset: Int64)
        case sized(remaining: Int64, total: Int64)
        case eofMark(mark: [UInt8], holdback: [UInt8], total: Int64)
        case awaitingPersist(replid: String?, offset: Int64)
    }
    private var transfer: Transfer?
    /// The id and offset the RDB in transfer belongs to.
    private var fullSyncTarget: (replid: String?, offset: Int64)?
    /// A snapshot whose persistence outlived its connection: adopt it when `.snapshotPersisted` arrives.
    private var orphanedPersist: (replid: String?, offset: Int64)?

    // Stream parsing: after `readIndex`, `parsed` bytes are complete commands; the first `committable`
    // of them end outside MULTI (`dbAtCommittable` is the db selected there).
    private var parsed = 0
    private var committable = 0
    private var dbAtCommittable = 0
    private var currentDb = 0
    private var inMulti = false
    private var sentPsyncWith: ReplicationPosition?

    public init(configuration: LinkConfiguration, position: ReplicationPosition?) {
        self.configuration = configuration
        self.position = position
        self.decoder = RESPDecoder(limits: configuration.limits)
    }

    // MARK: Events

    public mutating func handle(_ event: LinkEvent) -> [LinkAction] {
        var out: [LinkAction] = []
        switch event {
        case .connecting(let now):
            if state != .connect { resetConnection(&out, now: now) }
            lastActivity = now
            move(to: .connecting, &out)
        case .connected(let now):
            guard state == .connecting else {
                out.append(.log(.debug, "connected event ignored in state \(state.rawValue)"))
                break
            }
            resetBuffers()
            lastActivity = now
            out.append(.log(.notice, "Non blocking connect for SYNC fired the event."))
            move(to: .receivePingReply, &out)
            out.append(.send(RESPEncoder.command("PING")))
        case .received(let bytes, let now):
            guard state != .connect, state != .connecting else {
                out.append(.log(.debug, "\(bytes.count) bytes ignored in state \(state.rawValue)"))
                break
            }
            lastActivity = now
            buffer.append(contentsOf: bytes)
            process(&out, now: now)
            compact()
        case .tick(let now):
            tick(&out, now: now)
        case .disconnected(let now):
            if state != .connect {
                out.append(.log(.warning, "Connection with master lost."))
                resetConnection(&out, now: now)
            }
        case .snapshotPersisted(let now, let streamDB):
            snapshotPersisted(&out, now: now, streamDb: streamDB)
        }
        return out
    }

    // MARK: Connection bookkeeping

    private mutating func move(to new: LinkState, _ out: inout [LinkAction]) {
        guard new != state else { return }
        out.append(.stateChanged(from: state, to: new))
        state = new
    }

    private mutating func resetBuffers() {
        buffer = []
        readIndex = 0
        connectionBase = 0
        parsed = 0
        committable = 0
        inMulti = false
        currentDb = position?.streamDB ?? 0
        dbAtCommittable = currentDb
    }

    /// Drops everything tied to the current connection and returns to CONNECT.
    private mutating func resetConnection(_ out: inout [LinkAction], now: UInt64) {
        if let t = transfer {
            switch t {
            case .sized, .eofMark: out.append(.fullSyncAborted)
            case .awaitingPersist(let replid, let offset): orphanedPersist = (replid, offset)
            case .awaitingPreamble: break
            }
        }
        transfer = nil
        fullSyncTarget = nil
        resetBuffers()
        move(to: .connect, &out)
    }

    private mutating func fail(_ failure: LinkFailure, _ out: inout [LinkAction], now: UInt64) {
        if state == .connected { flushCommitted(&out) }
        out.append(.log(.warning, failure.message))
        resetConnection(&out, now: now)
        out.append(.closeConnection(failure))
    }

    private mutating func compact() {
        if readIndex > 0 && readIndex >= buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            connectionBase += Int64(readIndex)
            readIndex = 0
        } else if readIndex >= 65536 && readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            connectionBase += Int64(readIndex)
            readIndex = 0
        }
    }

    private var available: Int { buffer.count - readIndex }

    // MARK: Timer

    private mutating func tick(_ out: inout [LinkAction], now: UInt64) {
        let idle = now >= lastActivity ? now - lastActivity : 0
        let timeout = configuration.replTimeoutNanos
        switch state {
        case .connect:
            break
        case .connecting, .receivePingReply, .sendHandshake, .receiveAuthReply, .receivePortReply,
             .receiveCapaReply, .sendPsync, .receivePsyncReply:
            if idle > timeout {
                fail(LinkFailure(.timeout, "Timeout connecting to the MASTER... (no reply for \(timeout / 1_000_000_000) s in \(state.rawValue))"), &out, now: now)
            }
        case .transfer:
            if case .awaitingPersist = transfer { break }
            if idle > timeout {
                fail(LinkFailure(.timeout, "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter to a larger value."), &out, now: now)
            }
        case .connected:
            if idle > timeout {
                fail(LinkFailure(.timeout, "MASTER timeout: no data nor PING received for \(timeout / 1_000_000_000) s"), &out, now: now)
                break
            }
            // Ticks come about once per interval; allow a quarter of jitter so one early tick does not
            // skip a whole interval.
            if now &- lastAckSent >= configuration.ackIntervalNanos - configuration.ackIntervalNanos / 4 {
                sendAck(&out, now: now, offset: position?.offset ?? 0)
            }
        }
    }

    private mutating func sendAck(_ out: inout [LinkAction], now: UInt64, offset: Int64) {
        lastAckSent = now
        out.append(.send(RESPEncoder.command("REPLCONF", "ACK", String(offset))))
    }

    // MARK: Input processing

    private mutating func process(_ out: inout [LinkAction], now: UInt64) {
        while available > 0 {
            let before = (state, readIndex, buffer.count)
            switch state {
            case .connect, .connecting:
                return
            case .receivePingReply, .receiveAuthReply, .receivePortReply, .receiveCapaReply, .receivePsyncReply,
                 .sendHandshake, .sendPsync:
                guard let line = readReplyLine(&out, now: now) else { return }
                handleReply(line, &out, now: now)
            case .transfer:
                processTransfer(&out, now: now)
            case .connected:
                processStream(&out, now: now)
                return
            }
            // Stop when nothing moved (need more data) or the connection was dropped.
            if state == .connect { return }
            if before.0 == state && before.1 == readIndex && before.2 == buffer.count { return }
        }
    }

    /// Reads one `\n`-terminated line of a handshake reply (CR stripped), nil if incomplete.
    private mutating func readReplyLine(_ out: inout [LinkAction], now: UInt64) -> [UInt8]? {
        do {
            let start = readIndex
            let base = connectionBase + Int64(start)
            let result = try buffer.withUnsafeBytes { raw in
                try decoder.readLine(UnsafeRawBufferPointer(rebasing: raw[start...]), baseOffset: base)
            }
            guard let (line, used) = result else { return nil }
            readIndex += used
            return line
        } catch {
            fail(LinkFailure(.protocolError, "Protocol error in the master's reply during \(state.rawValue): \(error)"), &out, now: now)
            return nil
        }
    }

    private static func text(_ line: [UInt8]) -> String {
        String(decoding: line.prefix(512), as: UTF8.self)
    }

    private static func hasPrefix(_ line: [UInt8], _ prefix: String) -> Bool {
        let p = Array(prefix.utf8)
        return line.count >= p.count && Array(line[0..<p.count]) == p
    }

    private mutating func handleReply(_ line: [UInt8], _ out: inout [LinkAction], now: UInt64) {
        let text = ReplicaLink.text(line)
        switch state {
        case .receivePingReply:
            // Redis accepts +anything, and -NOAUTH / -NOPERM / -ERR operation not permitted (auth comes next).
            if ReplicaLink.hasPrefix(line, "+") || ReplicaLink.hasPrefix(line, "-NOAUTH")
                || ReplicaLink.hasPrefix(line, "-NOPERM") || ReplicaLink.hasPrefix(line, "-ERR operation not permitted") {
                out.append(.log(.notice, "Master replied to PING, replication can continue..."))
                sendHandshake(&out)
            } else if ReplicaLink.hasPrefix(line, "-") {
                fail(LinkFailure(.masterError, "Error reply to PING from master: '\(text)'"), &out, now: now)
            } else {
                fail(LinkFailure(.protocolError, "Unexpected reply to PING from master: '\(text)'"), &out, now: now)
            }
        case .receiveAuthReply:
            if ReplicaLink.hasPrefix(line, "-") {
                let failure = LinkFailure(.authenticationFailed, "Unable to AUTH to MASTER: \(text)")
                out.append(.log(.warning, failure.message))
                resetConnection(&out, now: now)
                out.append(.fatal(failure))
                return
            }
            move(to: .receivePortReply, &out)
        case .receivePortReply:
            if ReplicaLink.hasPrefix(line, "-") {
                out.append(.log(.notice, "(Non critical) Master does not understand REPLCONF listening-port: \(text)"))
            }
            move(to: .receiveCapaReply, &out)
        case .receiveCapaReply:
            if ReplicaLink.hasPrefix(line, "-") {
                out.append(.log(.notice, "(Non critical) Master does not understand REPLCONF capa: \(text)"))
            }
            move(to: .sendPsync, &out)
            sendPsync(&out)
        case .receivePsyncReply:
            handlePsyncReply(line, &out, now: now)
        default:
            break
        }
    }

    private mutating func sendHandshake(_ out: inout [LinkAction]) {
        move(to: .sendHandshake, &out)
        var burst: [UInt8] = []
        if let password = configuration.masterPassword {
            if let user = configuration.masterUser {
                burst += RESPEncoder.command("AUTH", user, password)
            } else {
                burst += RESPEncoder.command("AUTH", password)
            }
        }
        burst += RESPEncoder.command("REPLCONF", "listening-port", String(configuration.listeningPort))
        burst += RESPEncoder.command("REPLCONF", "capa", "eof", "capa", "psync2")
        out.append(.send(burst))
        move(to: configuration.masterPassword != nil ? .receiveAuthReply : .receivePortReply, &out)
    }

    private mutating func sendPsync(_ out: inout [LinkAction]) {
        if let p = position {
            out.append(.log(.notice, "Trying a partial resynchronization (request \(p.replid):\(p.offset + 1))."))
            out.append(.send(RESPEncoder.command("PSYNC", p.replid, String(p.offset + 1))))
        } else {
            out.append(.log(.notice, "Partial resynchronization not possible (no cached master)"))
            out.append(.send(RESPEncoder.command("PSYNC", "?", "-1")))
        }
        sentPsyncWith = position
        move(to: .receivePsyncReply, &out)
    }

    private mutating func handlePsyncReply(_ line: [UInt8], _ out: inout [LinkAction], now: UInt64) {
        let text = ReplicaLink.text(line)
        if line.isEmpty {
            // The master sends newlines to keep the connection alive while it prepares the reply.
            return
        }
        if ReplicaLink.hasPrefix(line, "+FULLRESYNC") {
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 3, ReplicationID.isValid(parts[1]), let offset = Int64(parts[2]), offset >= 0 else {
                fail(LinkFailure(.protocolError, "Master replied with wrong +FULLRESYNC syntax: '\(text)'"), &out, now: now)
                return
            }
            let replid = String(parts[1])
            out.append(.log(.notice, "Full resync from master: \(replid):\(offset)"))
            transfer = .awaitingPreamble(replid: replid, offset: offset)
            move(to: .transfer, &out)
            return
        }
        if ReplicaLink.hasPrefix(line, "+CONTINUE") {
            guard var p = sentPsyncWith else {
                fail(LinkFailure(.protocolError, "Master replied +CONTINUE to PSYNC ? -1"), &out, now: now)
                return
            }
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            var newReplid: String?
            if parts.count >= 2 {
                guard ReplicationID.isValid(parts[1]) else {
                    fail(LinkFailure(.protocolError, "Master replied with wrong +CONTINUE syntax: '\(text)'"), &out, now: now)
                    return
                }
                if parts[1] != p.replid { newReplid = String(parts[1]) }
            }
            let previous = p.replid
            if let newReplid {
                out.append(.log(.notice, "Master replication ID changed to \(newReplid) (previous \(previous) valid up to offset \(p.offset + 1))"))
                p.replid = newReplid
            }
            position = p
            out.append(.log(.notice, "Successful partial resynchronization with master."))
            out.append(.partialResyncAccepted(position: p, previousReplid: previous, newReplid: newReplid))
            out.append(.log(.notice, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."))
            currentDb = p.streamDB
            dbAtCommittable = p.streamDB
            lastAckSent = now
            move(to: .connected, &out)
            return
        }
        if ReplicaLink.hasPrefix(line, "-NOAUTH") || ReplicaLink.hasPrefix(line, "-NOPERM") {
            // Redis would fall back to SYNC and retry forever; without (enough) credentials that cannot
            // succeed, so this is a configuration error like a refused AUTH.
            let failure = LinkFailure(.authenticationFailed, "Master refused PSYNC: \(text)")
            out.append(.log(.warning, failure.message))
            resetConnection(&out, now: now)
            out.append(.fatal(failure))
            return
        }
        if ReplicaLink.hasPrefix(line, "-NOMASTERLINK") || ReplicaLink.hasPrefix(line, "-LOADING") {
            fail(LinkFailure(.masterNotReady, "Master is currently unable to PSYNC but should be in the future: \(text)"), &out, now: now)
            return
        }
        if ReplicaLink.hasPrefix(line, "-") {
            out.append(.log(.warning, "Unexpected reply to PSYNC from master: \(text)"))
            out.append(.fallingBackToSync(reply: text))
            out.append(.send(Array("SYNC\r\n".utf8)))
            transfer = .awaitingPreamble(replid: nil, offset: 0)
            move(to: .transfer, &out)
            return
        }
        fail(LinkFailure(.protocolError, "Unexpected reply to PSYNC from master: '\(text)'"), &out, now: now)
    }

    // MARK: RDB transfer

    private mutating func processTransfer(_ out: inout [LinkAction], now: UInt64) {
        guard let t = transfer else { return }
        switch t {
        case .awaitingPreamble(let replid, let offset):
            guard let line = readReplyLine(&out, now: now) else { return }
            if line.isEmpty { return } // keepalive newline while the master prepares the RDB
            let text = ReplicaLink.text(line)
            if ReplicaLink.hasPrefix(line, "-") {
                fail(LinkFailure(.masterNotReady, "MASTER aborted replication with an error: \(text)"), &out, now: now)
                return
            }
            guard ReplicaLink.hasPrefix(line, "$") else {
                fail(LinkFailure(.protocolError, "Bad protocol from MASTER, the first byte is not '$' (we received '\(text)'), are you sure the host and port are right?"), &out, now: now)
                return
            }
            fullSyncTarget = (replid, offset)
            if ReplicaLink.hasPrefix(line, "$EOF:") {
                guard line.count >= 5 + 40 else {
                    fail(LinkFailure(.protocolError, "Bad EOF mark from MASTER: '\(text)'"), &out, now: now)
                    return
                }
                let mark = Array(line[5..<45])
                out.append(.log(.notice, "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk"))
                out.append(.beginFullSync(replid: replid, offset: offset, transfer: .eofMark))
                transfer = .eofMark(mark: mark, holdback: [], total: 0)
            } else {
                guard let length = Int64(String(decoding: line[1...], as: UTF8.self)), length >= 0, length <= (1 << 50) else {
                    fail(LinkFailure(.protocolError, "Bad RDB length from MASTER: '\(text)'"), &out, now: now)
                    return
                }
                out.append(.log(.notice, "MASTER <-> REPLICA sync: receiving \(length) bytes from master to disk"))
                out.append(.beginFullSync(replid: replid, offset: offset, transfer: .sized(length: length)))
                transfer = .sized(remaining: length, total: length)
                if length == 0 { finishRDB(&out, total: 0) }
            }
        case .sized(let remaining, let total):
            let n = Int(min(Int64(available), remaining))
            if n > 0 {
                out.append(.rdbBytes(Array(buffer[readIndex..<(readIndex + n)])))
                readIndex += n
            }
            let left = remaining - Int64(n)
            transfer = .sized(remaining: left, total: total)
            if left == 0 { finishRDB(&out, total: total) }
        case .eofMark(let mark, let holdback, let total):
            // The last 40 bytes might be the mark: hold back up to 39 bytes of a possible partial mark,
            // and look for the whole mark anywhere in holdback + new bytes (it may span reads).
            var window = holdback
            window.append(contentsOf: buffer[readIndex...])
            readIndex = buffer.count
            if let at = ReplicaLink.find(mark, in: window) {
                if at > 0 { out.append(.rdbBytes(Array(window[0..<at]))) }
                let rest = window[(at + 40)...]
                // Anything after the mark is stream data: keep it for after the snapshot.
                buffer = Array(rest)
                readIndex = 0
                connectionBase = 0
                finishRDB(&out, total: total + Int64(at))
            } else {
                let keep = min(window.count, 39)
                let emit = window.count - keep
                if emit > 0 { out.append(.rdbBytes(Array(window[0..<emit]))) }
                transfer = .eofMark(mark: mark, holdback: Array(window[emit...]), total: total + Int64(emit))
            }
        case .awaitingPersist:
            return // stream bytes wait until the snapshot is persisted
        }
    }

    private mutating func finishRDB(_ out: inout [LinkAction], total: Int64) {
        let target = fullSyncTarget ?? (nil, 0)
        transfer = .awaitingPersist(replid: target.replid, offset: target.offset)
        out.append(.log(.notice, "MASTER <-> REPLICA sync: Finished with success (\(total) bytes)"))
        out.append(.endOfRDB(totalBytes: total))
    }

    /// First index of `needle` in `haystack` (a simple scan keyed on the first byte).
    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        let last = haystack.count - needle.count
        var i = 0
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    private mutating func snapshotPersisted(_ out: inout [LinkAction], now: UInt64, streamDb: Int?) {
        let target: (replid: String?, offset: Int64)
        if case .awaitingPersist(let replid, let offset) = transfer {
            target = (replid, offset)
        } else if let orphan = orphanedPersist {
            target = orphan
        } else {
            out.append(.log(.debug, "snapshotPersisted ignored: no snapshot pending"))
            return
        }
        orphanedPersist = nil
        let replid = target.replid ?? String(repeating: "0", count: 40)
        if target.replid == nil {
            out.append(.log(.warning, "The master did not send a replication id (SYNC): partial resynchronization will not be possible"))
        }
        position = ReplicationPosition(replid: replid, offset: target.offset, streamDB: streamDb ?? 0)
        guard state == .transfer else { return }
        transfer = nil
        fullSyncTarget = nil
        currentDb = position?.streamDB ?? 0
        dbAtCommittable = currentDb
        lastActivity = now
        move(to: .connected, &out)
        // A diskless master starts streaming only after this first ACK.
        sendAck(&out, now: now, offset: target.offset)
        process(&out, now: now)
        compact()
    }

    // MARK: Command stream

    private static func lowercasedASCII(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        bytes.map { ($0 >= 0x41 && $0 <= 0x5a) ? $0 | 0x20 : $0 }
    }

    private mutating func processStream(_ out: inout [LinkAction], now: UInt64) {
        guard var p = position else { return }
        while true {
            let start = readIndex + parsed
            guard start < buffer.count else { break }
            let streamOffset = p.offset + 1 + Int64(parsed)
            let scan: RESPCommandScan?
            var name: [UInt8] = []
            var arg1: [UInt8] = []
            do {
                scan = try buffer.withUnsafeBytes { raw -> RESPCommandScan? in
                    let frame = UnsafeRawBufferPointer(rebasing: raw[start...])
                    guard let s = try decoder.scanCommand(frame, baseOffset: streamOffset) else { return nil }
                    if let r = s.argumentRange(0), r.count <= 16 {
                        name = ReplicaLink.lowercasedASCII(UnsafeRawBufferPointer(rebasing: frame[r]))
                    }
                    if let r = s.argumentRange(1), r.count <= 32 {
                        arg1 = ReplicaLink.lowercasedASCII(UnsafeRawBufferPointer(rebasing: frame[r]))
                    }
                    return s
                }
            } catch {
                position = p
                fail(LinkFailure(.protocolError, "Protocol error in the replication stream at master offset \(streamOffset): \(error)"), &out, now: now)
                return
            }
            guard let scan else { break }
            let offsetBefore = p.offset + Int64(parsed)
            switch name {
            case Array("multi".utf8):
                inMulti = true
            case Array("exec".utf8), Array("discard".utf8):
                inMulti = false
            case Array("select".utf8):
                if let db = Int(String(decoding: arg1, as: UTF8.self)), db >= 0 {
                    currentDb = db
                } else {
                    out.append(.log(.warning, "SELECT with a bad db index at master offset \(streamOffset) ignored"))
                }
            case Array("replconf".utf8) where arg1 == Array("getack".utf8):
                // Answer with the offset processed before this GETACK (inside MULTI: before the MULTI).
                position = p
                flushCommitted(&out)
                p = position ?? p
                sendAck(&out, now: now, offset: inMulti ? p.offset : offsetBefore)
            default:
                break
            }
            parsed += scan.byteCount
            if !inMulti {
                committable = parsed
                dbAtCommittable = currentDb
            }
        }
        position = p
        flushCommitted(&out)
    }

    /// Hands out the complete commands that end outside MULTI and advances the committed position.
    private mutating func flushCommitted(_ out: inout [LinkAction]) {
        guard committable > 0, var p = position else { return }
        let bytes = Array(buffer[readIndex..<(readIndex + committable)])
        p.offset += Int64(committable)
        p.streamDB = dbAtCommittable
        position = p
        readIndex += committable
        parsed -= committable
        committable = 0
        out.append(.appendStream(bytes: bytes, endOffset: p.offset, db: p.streamDB))
    }
}
