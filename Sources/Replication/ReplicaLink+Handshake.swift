import Base
import RESP

/// The handshake phase: PING, AUTH/REPLCONF, PSYNC (replication.c `syncWithMaster`,
/// `slaveTryPartialResynchronization`).
struct HandshakeState: Sendable {
    /// Which reply is awaited next.
    enum Step: Sendable {
        case receivePingReply, receiveAuthReply, receivePortReply, receiveCapaReply, receiveVersionReply, receivePsyncReply

        var replState: LinkState {
            switch self {
            case .receivePingReply: return .receivePingReply
            case .receiveAuthReply: return .receiveAuthReply
            case .receivePortReply: return .receivePortReply
            case .receiveCapaReply: return .receiveCapaReply
            case .receiveVersionReply: return .receiveVersionReply
            case .receivePsyncReply: return .receivePsyncReply
            }
        }
    }
    var step: Step
    /// The position PSYNC asked for (nil: `PSYNC ? -1`).
    var sentPsyncWith: ReplicationPosition?
}

extension ReplicaLink {
    /// The TCP connection is up: send PING (`REPL_STATE_CONNECTING` → `RECEIVE_PING_REPLY`).
    mutating func connected(_ out: inout [LinkAction], now: UInt64) {
        input = LinkInput(lastActivity: now)
        out.append(.log(.notice, "Non blocking connect for SYNC fired the event."))
        move(to: .handshake(HandshakeState(step: .receivePingReply)), &out)
        out.append(.send(RESPEncoder.command("PING")))
    }

    mutating func handleReply(_ line: [UInt8], _ h: inout HandshakeState, _ out: inout [LinkAction], now: UInt64) {
        let text = ReplicaLink.text(line)
        switch h.step {
        case .receivePingReply:
            // Redis accepts +anything, and -NOAUTH / -NOPERM / -ERR operation not permitted (auth comes next).
            if ReplicaLink.hasPrefix(line, "+") || ReplicaLink.hasPrefix(line, "-NOAUTH")
                || ReplicaLink.hasPrefix(line, "-NOPERM") || ReplicaLink.hasPrefix(line, "-ERR operation not permitted") {
                out.append(.log(.notice, "Master replied to PING, replication can continue..."))
                sendHandshake(&h, &out)
            } else if ReplicaLink.hasPrefix(line, "-") {
                fail(LinkFailure(.masterError, "Error reply to PING from master: '\(text)'"), &out)
            } else {
                fail(LinkFailure(.protocolError, "Unexpected reply to PING from master: '\(text)'"), &out)
            }
        case .receiveAuthReply:
            if ReplicaLink.hasPrefix(line, "-") {
                fatal(LinkFailure(.authenticationFailed, "Unable to AUTH to MASTER: \(text)"), &out)
                return
            }
            h.step = .receivePortReply
            move(to: .handshake(h), &out)
        case .receivePortReply:
            if ReplicaLink.hasPrefix(line, "-") {
                out.append(.log(.notice, "(Non critical) Master does not understand REPLCONF listening-port: \(text)"))
            }
            h.step = .receiveCapaReply
            move(to: .handshake(h), &out)
        case .receiveCapaReply:
            if ReplicaLink.hasPrefix(line, "-") {
                out.append(.log(.notice, "(Non critical) Master does not understand REPLCONF capa: \(text)"))
            }
            h.step = .receiveVersionReply
            move(to: .handshake(h), &out)
        case .receiveVersionReply:
            // Redis masters answer -ERR Unrecognized REPLCONF option; Valkey 8+ answer +OK.
            if ReplicaLink.hasPrefix(line, "-") {
                out.append(.log(.info, "(Non critical) Master does not understand REPLCONF version: \(text)"))
            }
            sendPsync(&h, &out)
        case .receivePsyncReply:
            handlePsyncReply(line, h, &out, now: now)
        }
    }

    /// The version sent as `REPLCONF version` (Valkey's replication.c, `REPL_STATE_SEND_HANDSHAKE`).
    ///
    /// A Valkey 9 master writes the full-sync RDB in the newest format the replica's version can load,
    /// and falls back to RDB 11 for a replica that names no version. RDB 11 cannot hold Valkey 9's
    /// hash-field expiries, so such a master fails the sync ("Can't store key ... in RDB version 11")
    /// for every replica that stays silent. The reader loads `VALKEY080` files, so this names the
    /// newest Valkey release whose format was checked against it. Redis masters reject the option
    /// with an error, which the handshake ignores, as Valkey's own replica does.
    public static let announcedValkeyVersion = "9.1.2"

    /// `REPL_STATE_SEND_HANDSHAKE`: AUTH (if configured) and the three REPLCONFs in one burst.
    private mutating func sendHandshake(_ h: inout HandshakeState, _ out: inout [LinkAction]) {
        out.append(.stateChanged(from: state, to: .sendHandshake))
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
        burst += RESPEncoder.command("REPLCONF", "version", ReplicaLink.announcedValkeyVersion)
        out.append(.send(burst))
        h.step = configuration.masterPassword != nil ? .receiveAuthReply : .receivePortReply
        phase = .handshake(h)
        out.append(.stateChanged(from: .sendHandshake, to: state))
    }

    /// `REPL_STATE_SEND_PSYNC`: `PSYNC <replid> <offset+1>` with a cached master, else `PSYNC ? -1`.
    private mutating func sendPsync(_ h: inout HandshakeState, _ out: inout [LinkAction]) {
        out.append(.stateChanged(from: state, to: .sendPsync))
        if let p = position {
            out.append(.log(.notice, "Trying a partial resynchronization (request \(p.replid):\(p.offset + 1))."))
            out.append(.send(RESPEncoder.command("PSYNC", p.replid, String(p.offset + 1))))
        } else {
            out.append(.log(.notice, "Partial resynchronization not possible (no cached master)"))
            out.append(.send(RESPEncoder.command("PSYNC", "?", "-1")))
        }
        h.sentPsyncWith = position
        h.step = .receivePsyncReply
        phase = .handshake(h)
        out.append(.stateChanged(from: .sendPsync, to: state))
    }

    private mutating func handlePsyncReply(_ line: [UInt8], _ h: HandshakeState, _ out: inout [LinkAction], now: UInt64) {
        let text = ReplicaLink.text(line)
        if line.isEmpty {
            // The master sends newlines to keep the connection alive while it prepares the reply.
            return
        }
        if ReplicaLink.hasPrefix(line, "+FULLRESYNC") {
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 3, ReplicationID.isValid(parts[1]), let offset = Int64(parts[2]), offset >= 0 else {
                fail(LinkFailure(.protocolError, "Master replied with wrong +FULLRESYNC syntax: '\(text)'"), &out)
                return
            }
            let replid = String(parts[1])
            out.append(.log(.notice, "Full resync from master: \(replid):\(offset)"))
            move(to: .transfer(TransferState(target: FullSyncTarget(replid: replid, offset: offset))), &out)
            return
        }
        if ReplicaLink.hasPrefix(line, "+CONTINUE") {
            guard var p = h.sentPsyncWith else {
                fail(LinkFailure(.protocolError, "Master replied +CONTINUE to PSYNC ? -1"), &out)
                return
            }
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            var newReplid: String?
            if parts.count >= 2 {
                guard ReplicationID.isValid(parts[1]) else {
                    fail(LinkFailure(.protocolError, "Master replied with wrong +CONTINUE syntax: '\(text)'"), &out)
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
            move(to: .streaming(StreamState(db: p.streamDB, lastAckSent: now, limits: configuration.limits)), &out)
            return
        }
        if ReplicaLink.hasPrefix(line, "-NOAUTH") || ReplicaLink.hasPrefix(line, "-NOPERM") {
            // Redis would fall back to SYNC and retry forever; without (enough) credentials that cannot
            // succeed, so this is a configuration error like a refused AUTH.
            fatal(LinkFailure(.authenticationFailed, "Master refused PSYNC: \(text)"), &out)
            return
        }
        if ReplicaLink.hasPrefix(line, "-NOMASTERLINK") || ReplicaLink.hasPrefix(line, "-LOADING") {
            fail(LinkFailure(.masterNotReady, "Master is currently unable to PSYNC but should be in the future: \(text)"), &out)
            return
        }
        if ReplicaLink.hasPrefix(line, "-") {
            out.append(.log(.warning, "Unexpected reply to PSYNC from master: \(text)"))
            out.append(.fallingBackToSync(reply: text))
            out.append(.send(Array("SYNC\r\n".utf8)))
            move(to: .transfer(TransferState(target: FullSyncTarget(replid: nil, offset: 0))), &out)
            return
        }
        fail(LinkFailure(.protocolError, "Unexpected reply to PSYNC from master: '\(text)'"), &out)
    }
}
