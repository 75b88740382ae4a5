import Base
import RESP
@testable import Replication
import TestSupport

let sec: UInt64 = 1_000_000_000
let replidA = "8de1787ba490483314a4d30f1c628bc5025eb761"
let replidB = "0123456789abcdef0123456789abcdef01234567"
let markHex = "b1ce5e7c3a9f4d20e6d5c4b3a2f1e0d9c8b7a6f5"

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
func cmd(_ args: String...) -> [UInt8] { RESPEncoder.command(args) }

/// Drives a `ReplicaLink` and records every action.
struct Harness {
    var link: ReplicaLink
    var actions: [LinkAction] = []
    var now: UInt64 = 1 * sec

    init(position: ReplicationPosition? = nil, password: String? = nil, user: String? = nil, port: Int = 6380, timeout: Int = 60,
         maxHeld: Int = LinkConfiguration.defaultMaxHeldCommandBytes) {
        link = ReplicaLink(configuration: LinkConfiguration(masterUser: user, masterPassword: password,
                                                            listeningPort: port, replTimeoutSeconds: timeout,
                                                            maxHeldCommandBytes: maxHeld),
                           position: position)
    }

    @discardableResult
    mutating func handle(_ e: LinkEvent) -> [LinkAction] {
        let a = link.handle(e)
        actions += a
        return a
    }

    @discardableResult
    mutating func feed(_ b: [UInt8]) -> [LinkAction] { handle(.received(b, now: now)) }
    @discardableResult
    mutating func feed(_ s: String) -> [LinkAction] { feed(bytes(s)) }

    /// CONNECT → … → RECEIVE_PSYNC_REPLY with the standard replies.
    mutating func handshake() {
        handle(.connecting(now: now))
        handle(.connected(now: now))
        feed("+PONG\r\n")
        if link.configuration.masterPassword != nil { feed("+OK\r\n") }
        feed("+OK\r\n+OK\r\n-ERR Unrecognized REPLCONF option: version\r\n")
    }

    /// Everything sent to the master, concatenated.
    var sent: [UInt8] {
        actions.flatMap { a -> [UInt8] in
            switch a {
            case .send(let b), .sendAck(_, let b): return b
            default: return []
            }
        }
    }
    /// The offsets of the `REPLCONF ACK`s sent, in order.
    var acks: [Int64] { actions.compactMap { if case .sendAck(let o, _) = $0 { return o } else { return nil } } }
    var rdb: [UInt8] { actions.flatMap { if case .rdbBytes(let b) = $0 { return b } else { return [] } } }
    var streamed: [UInt8] { normalized(actions).flatMap { if case .appendStream(let b, _, _) = $0 { return Array(b) } else { return [] } } }
    /// The bytes of every `.appendUnfinished`, in order, and how many there were.
    var unfinished: (bytes: Int, count: Int) {
        actions.reduce((0, 0)) { if case .appendUnfinished(let b, _) = $1 { return ($0.0 + b.count, $0.1 + 1) } else { return $0 } }
    }
    var states: [LinkState] { actions.compactMap { if case .stateChanged(_, let to) = $0 { return to } else { return nil } } }
    var appends: [(endOffset: Int64, db: Int)] {
        actions.compactMap { if case .appendStream(_, let o, let d) = $0 { return (o, d) } else { return nil } }
    }
    var closes: [LinkFailure] { actions.compactMap { if case .closeConnection(let f) = $0 { return f } else { return nil } } }
}

/// Actions with logs dropped and consecutive RDB pieces / stream appends merged, so feeding the same bytes
/// in different splits must give an identical list. Unfinished-command chunks are applied as a store
/// would: merged into the append that completes them, dropped by a discard, dropped when still pending at
/// the end (where they are handed out depends on the split; what is committed does not).
func normalized(_ actions: [LinkAction]) -> [LinkAction] {
    var out: [LinkAction] = []
    var pending: ArraySlice<UInt8> = []
    for a in actions {
        switch a {
        case .log: continue
        case .rdbBytes(let b):
            if case .rdbBytes(let prev)? = out.last { out[out.count - 1] = .rdbBytes(prev + b) } else { out.append(a) }
        case .appendUnfinished(let b, _):
            pending += b
        case .discardUnfinished:
            pending = []
        case .appendStream(let b, let o, let d):
            let all = pending + b
            pending = []
            if case .appendStream(let prev, _, _)? = out.last { out[out.count - 1] = .appendStream(bytes: prev + all, endOffset: o, db: d) } else { out.append(.appendStream(bytes: all, endOffset: o, db: d)) }
        default: out.append(a)
        }
    }
    return out
}

