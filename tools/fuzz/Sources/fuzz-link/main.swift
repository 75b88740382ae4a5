// libFuzzer target: the replica link (Replication.ReplicaLink) fed arbitrary bytes from a "master".
//
// Input layout: byte 0 picks the state to drive the link into first, with well-formed master
// replies (every handshake state, PSYNC reply, each transfer form, streaming, inside MULTI,
// waiting for the snapshot to be persisted); byte 1 seeds how the rest is split into reads and
// which timer / persistence events are interleaved; the rest is what the "master" sends.
//
// Findings: a crash or trap (bounds, overflow), a hang; and these invariants:
// - the same bytes give the same actions whether they arrive in one read or in seeded pieces
//   (logs dropped, consecutive RDB pieces and stream appends merged);
// - stream appends are contiguous: each ends exactly its byte count after the previous end
//   (the position after the set-up), and never inside what was already appended; unfinished-command
//   chunks (a small `maxHeldCommandBytes` picked from the seed) continue the written end without moving
//   the position, are closed by the next append or dropped by a discard, and a discard comes only with
//   a closed connection;
// - after `.closeConnection` / `.fatal` the harness stops feeding (the driver closes the socket).
import Base
import FuzzDriver
import Glibc
import Replication

let second: UInt64 = 1_000_000_000
let replidA = "8de1787ba490483314a4d30f1c628bc5025eb761"
let replidB = "0123456789abcdef0123456789abcdef01234567"
let mark = "b1ce5e7c3a9f4d20e6d5c4b3a2f1e0d9c8b7a6f5"

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
func command(_ args: String...) -> [UInt8] {
    var out = bytes("*\(args.count)\r\n")
    for a in args { out += bytes("$\(a.utf8.count)\r\n\(a)\r\n") }
    return out
}

/// A starting point: configuration, stored position, and the events that lead into the state.
struct Scenario {
    var name: String
    var password: String?
    var position: ReplicationPosition?
    var replies: [[UInt8]]
    var persistAfterRDB = false
}

let handshake = [bytes("+PONG\r\n"), bytes("+OK\r\n"), bytes("+OK\r\n"), bytes("+OK\r\n")]
let stored = ReplicationPosition(replid: replidA, offset: 1000, streamDB: 3)
let scenarios: [Scenario] = [
    Scenario(name: "RECEIVE_PING_REPLY", replies: []),
    Scenario(name: "RECEIVE_AUTH_REPLY", password: "pw", replies: [bytes("+PONG\r\n")]),
    Scenario(name: "RECEIVE_PORT_REPLY", replies: [bytes("+PONG\r\n")]),
    Scenario(name: "RECEIVE_CAPA_REPLY", replies: [bytes("+PONG\r\n"), bytes("+OK\r\n")]),
    Scenario(name: "RECEIVE_VERSION_REPLY", replies: [bytes("+PONG\r\n"), bytes("+OK\r\n"), bytes("+OK\r\n")]),
    Scenario(name: "RECEIVE_PSYNC_REPLY (PSYNC ? -1)", replies: handshake),
    Scenario(name: "RECEIVE_PSYNC_REPLY (PSYNC id off)", position: stored, replies: handshake),
    Scenario(name: "TRANSFER (preamble)", replies: handshake + [bytes("+FULLRESYNC \(replidB) 42\r\n")]),
    Scenario(name: "TRANSFER (sized)", replies: handshake + [bytes("+FULLRESYNC \(replidB) 42\r\n$4096\r\nREDIS0011")]),
    Scenario(name: "TRANSFER (EOF mark)", replies: handshake + [bytes("+FULLRESYNC \(replidB) 42\r\n$EOF:\(mark)\r\nREDIS0011")]),
    Scenario(name: "TRANSFER (awaiting persist)", replies: handshake + [bytes("+FULLRESYNC \(replidB) 42\r\n$9\r\nREDIS0011")]),
    Scenario(name: "CONNECTED after a full sync", replies: handshake + [bytes("+FULLRESYNC \(replidB) 42\r\n$9\r\nREDIS0011")],
             persistAfterRDB: true),
    Scenario(name: "CONNECTED after +CONTINUE", position: stored, replies: handshake + [bytes("+CONTINUE\r\n")]),
    Scenario(name: "CONNECTED after +CONTINUE <new id>", position: stored, replies: handshake + [bytes("+CONTINUE \(replidB)\r\n")]),
    Scenario(name: "CONNECTED inside MULTI", position: stored,
             replies: handshake + [bytes("+CONTINUE\r\n") + command("SELECT", "5") + command("MULTI") + command("SET", "k", "v")]),
    Scenario(name: "SYNC fallback", replies: handshake + [bytes("-ERR unknown command 'PSYNC'\r\n")]),
]

/// What one run did, with logs dropped and consecutive payload pieces merged.
struct Run {
    var actions: [String] = []
    var appendedEnd: Int64?
}

/// Feeds the scenario, then `payload` split at `cuts` (empty: one read), with timer and
/// persistence events between reads when `events` is set. Checks the per-run invariants.
func run(_ s: Scenario, _ payload: [UInt8], cuts: [Int], events: [UInt8], maxHeld: Int) -> Run {
    var link = ReplicaLink(configuration: LinkConfiguration(masterPassword: s.password, listeningPort: 6380,
                                                            replTimeoutSeconds: 60, maxHeldCommandBytes: maxHeld),
                           position: s.position)
    var now = second
    var result = Run()
    var rdbPending = false
    var closed = false
    var merged: [LinkAction] = []
    var end: Int64? = s.position?.offset
    // Bytes handed out as unfinished since `end` (the position), and those not yet merged into `merged`.
    var unfinished: Int64 = 0
    var pendingBytes: [UInt8] = []

    func apply(_ actions: [LinkAction], recording: Bool) {
        for a in actions {
            switch a {
            case .endOfRDB: rdbPending = true
            case .beginFullSync(_, let offset, _): end = offset
            case .partialResyncAccepted(let p, _, _): end = p.offset
            case .appendStream(let b, let endOffset, _):
                guard let previous = end else { finding("\(s.name): stream append before any position") }
                if endOffset != previous + unfinished + Int64(b.count) {
                    finding("\(s.name): append of \(b.count) bytes after \(unfinished) unfinished ends at \(endOffset), previous end \(previous)")
                }
                end = endOffset
                unfinished = 0
            case .appendUnfinished(let b, let endOffset):
                guard let previous = end else { finding("\(s.name): unfinished append before any position") }
                if b.isEmpty { finding("\(s.name): empty unfinished append") }
                unfinished += Int64(b.count)
                if endOffset != previous + unfinished {
                    finding("\(s.name): unfinished append of \(b.count) bytes ends at \(endOffset), expected \(previous + unfinished)")
                }
            case .discardUnfinished:
                if unfinished == 0 { finding("\(s.name): discard without unfinished bytes") }
                unfinished = 0
            case .closeConnection, .fatal: closed = true
            default: break
            }
            if case .stateChanged(_, .connect) = a, unfinished != 0 {
                finding("\(s.name): the connection was reset with \(unfinished) unfinished bytes not discarded")
            }
            guard recording else { continue }
            switch a {
            case .log: continue
            case .appendUnfinished(let b, _):
                pendingBytes += Array(b)
                continue
            case .discardUnfinished:
                pendingBytes = []
                continue
            case .rdbBytes(let b):
                if case .rdbBytes(let p)? = merged.last { merged[merged.count - 1] = .rdbBytes(p + b) } else { merged.append(a) }
            case .appendStream(let b, let o, let d):
                // A slice of the link's buffer: copied here, as the driver does before the next event.
                let all = pendingBytes + Array(b)
                pendingBytes = []
                if case .appendStream(let p, _, _)? = merged.last {
                    merged[merged.count - 1] = .appendStream(bytes: ArraySlice(Array(p) + all), endOffset: o, db: d)
                } else { merged.append(.appendStream(bytes: ArraySlice(all), endOffset: o, db: d)) }
            default: merged.append(a)
            }
        }
    }

    apply(link.handle(.connecting(now: now)), recording: false)
    apply(link.handle(.connected(now: now)), recording: false)
    for r in s.replies { apply(link.handle(.received(r, now: now)), recording: false) }
    if s.persistAfterRDB {
        guard rdbPending else { finding("\(s.name): set-up did not reach the end of the RDB") }
        rdbPending = false
        apply(link.handle(.snapshotPersisted(now: now, streamDB: nil)), recording: false)
    }
    if closed { finding("\(s.name): set-up closed the connection") }

    var start = 0
    var eventIndex = 0
    for cut in cuts + [payload.count] where cut >= start {
        if closed { break }
        apply(link.handle(.received(Array(payload[start..<cut]), now: now)), recording: true)
        start = cut
        if closed || events.isEmpty { continue }
        // Between reads: maybe a tick (time passes, under the repl-timeout), maybe the snapshot persisted.
        let e = events[eventIndex % events.count]
        eventIndex += 1
        if e & 1 != 0 {
            now += UInt64(e >> 1) * 50_000_000
            _ = link.handle(.tick(now: now))   // ACKs: timing-dependent, not compared
        }
        if e & 6 != 0 && rdbPending {
            rdbPending = false
            if e & 4 != 0 && e & 2 == 0 {
                apply(link.handle(.snapshotRejected(now: now, reason: "fuzz: verification failed")), recording: true)
            } else {
                apply(link.handle(.snapshotPersisted(now: now, streamDB: Int(e >> 4))), recording: true)
            }
        }
    }
    result.actions = merged.map { "\($0)" }
    result.appendedEnd = end
    return result
}

func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let scenario = scenarios[Int(input.byte()) % scenarios.count]
    var seed = UInt64(input.byte()) &* 0x9E37_79B9_7F4A_7C15 | 1
    let payload = input.rest()
    func next() -> UInt64 {
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
        return seed
    }
    var cuts: [Int] = []
    var at = 0
    while payload.count > 1 {
        at += 1 + Int(next() % 64)
        if at >= payload.count { break }
        cuts.append(at)
    }
    // Small enough that commands of a few dozen bytes are handed out in unfinished chunks.
    let maxHeld = 8 + Int(next() % 120)
    let whole = run(scenario, payload, cuts: [], events: [], maxHeld: maxHeld)
    let pieces = run(scenario, payload, cuts: cuts, events: [], maxHeld: maxHeld)
    if whole.actions != pieces.actions {
        let i = (0..<min(whole.actions.count, pieces.actions.count)).first { whole.actions[$0] != pieces.actions[$0] }
            ?? min(whole.actions.count, pieces.actions.count)
        finding("\(scenario.name): one read and \(cuts.count + 1) reads differ at action \(i):\n"
                + " one:    \(whole.actions.dropFirst(i).first?.prefix(300) ?? "(none)")\n"
                + " pieces: \(pieces.actions.dropFirst(i).first?.prefix(300) ?? "(none)")")
    }
    // With timer and persistence events interleaved: only the invariants inside `run`.
    let events = (0..<8).map { _ in UInt8(truncatingIfNeeded: next()) }
    _ = run(scenario, payload, cuts: cuts, events: events, maxHeld: maxHeld)
    _ = run(scenario, payload, cuts: cuts, events: events, maxHeld: LinkConfiguration.defaultMaxHeldCommandBytes)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzOne(data, size)
}

runFuzzer { data, size in fuzzOne(data, size) }
