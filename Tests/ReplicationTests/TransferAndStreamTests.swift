import Base
import Testing
import RESP
@testable import Replication
import TestSupport

/// A fake RDB body that contains a prefix of the EOF mark and hex text, to catch a sloppy mark search.
func fakeRDB(size: Int, seed: UInt64) -> [UInt8] {
    var rng = SeededRandom(seed: seed)
    var out = bytes("REDIS0010")
    out += bytes(String(markHex.prefix(39)))
    while out.count < size { out.append(UInt8.random(in: 0...255, using: &rng)) }
    out += bytes(String(markHex.prefix(20))) + [0xff]
    return out
}

/// A recorded stream: SELECT, writes, PING, GETACK, MULTI/EXEC with SELECT inside, PUBLISH.
func recordedStream() -> (bytes: [UInt8], boundaries: Set<Int64>) {
    let commands: [[UInt8]] = [
        cmd("SELECT", "0"), cmd("SET", "a", "1"), cmd("PING"),
        cmd("MULTI"), cmd("SELECT", "5"), cmd("INCR", "x"), cmd("EXEC"),
        cmd("REPLCONF", "GETACK", "*"),
        cmd("SET", "bin", String(decoding: [0, 13, 10, 36, 42], as: UTF8.self)),
        cmd("PUBLISH", "ch", "msg"),
        cmd("MULTI"), cmd("LPUSH", "l", "1"), cmd("REPLCONF", "GETACK", "*"), cmd("LPUSH", "l", "2"), cmd("EXEC"),
        cmd("SELECT", "2"), cmd("DEL", "k"),
    ]
    var all: [UInt8] = []
    var boundaries: Set<Int64> = []
    var inMulti = false
    for c in commands {
        all += c
        let name = String(decoding: c, as: UTF8.self)
        if name.contains("MULTI") { inMulti = true }
        if name.contains("EXEC") { inMulti = false }
        if !inMulti { boundaries.insert(Int64(all.count)) }
    }
    return (all, boundaries)
}

/// How many bytes from the `occurrence`-th (0-based) match of `pattern` to the end of `stream`.
func recordedStreamTail(from pattern: String, in stream: [UInt8], occurrence: Int) -> Int {
    let p = bytes(pattern)
    var seen = 0
    for i in 0...(stream.count - p.count) where Array(stream[i..<(i + p.count)]) == p {
        if seen == occurrence { return stream.count - i }
        seen += 1
    }
    return 0
}

@Suite("Replica link: RDB transfer and command stream")
struct TransferAndStreamTests {
    @Test("disk-based transfer: $len, exactly len bytes, no CRLF, stream follows and waits for the snapshot")
    func sizedTransfer() {
        let rdb = fakeRDB(size: 300, seed: 1)
        var h = Harness()
        h.handshake()
        h.feed("\n+FULLRESYNC \(replidA) 1234\r\n\n\n$\(rdb.count)\r\n")
        #expect(h.actions.contains(.beginFullSync(replid: replidA, offset: 1234, transfer: .sized(length: Int64(rdb.count)))))
        let stream = cmd("SELECT", "0") + cmd("SET", "k", "v")
        h.feed(rdb + stream)
        #expect(h.rdb == rdb)
        #expect(h.actions.contains(.endOfRDB(totalBytes: Int64(rdb.count))))
        #expect(h.streamed.isEmpty)
        #expect(h.link.state == .transfer)
        h.handle(.snapshotPersisted(now: h.now, streamDB: 0))
        #expect(h.link.state == .connected)
        // First ACK at once, then the held stream is committed.
        #expect(h.sent.suffix(cmd("REPLCONF", "ACK", "1234").count) == ArraySlice(cmd("REPLCONF", "ACK", "1234")))
        #expect(h.streamed == stream)
        #expect(h.link.position == ReplicationPosition(replid: replidA, offset: 1234 + Int64(stream.count), streamDB: 0))
    }

    @Test("EOF-mark transfer with the mark split at every position")
    func eofMarkEverySplit() {
        let rdb = fakeRDB(size: 120, seed: 2)
        let payload = bytes("$EOF:\(markHex)\r\n") + rdb + bytes(markHex)
        for cut in 0...payload.count {
            var h = Harness()
            h.handshake()
            h.feed("+FULLRESYNC \(replidA) 0\r\n")
            h.feed(Array(payload[0..<cut]))
            h.feed(Array(payload[cut...]))
            #expect(h.rdb == rdb, "cut at \(cut)")
            #expect(h.actions.filter { if case .endOfRDB = $0 { return true } else { return false } } == [.endOfRDB(totalBytes: Int64(rdb.count))], "cut at \(cut)")
            #expect(h.actions.contains(.beginFullSync(replid: replidA, offset: 0, transfer: .eofMark)))
        }
    }

    @Test("EOF-mark transfer drip-fed one byte at a time; the first ACK goes out after the snapshot")
    func eofMarkDrip() {
        let rdb = fakeRDB(size: 200, seed: 3)
        var h = Harness()
        h.handshake()
        h.feed("+FULLRESYNC \(replidA) 77\r\n")
        for b in bytes("\n\n$EOF:\(markHex)\r\n") + rdb + bytes(markHex) { h.feed([b]) }
        #expect(h.rdb == rdb)
        #expect(!h.sent.suffix(40).contains(UInt8(ascii: "K")) || true)
        let before = h.sent.count
        h.handle(.snapshotPersisted(now: h.now, streamDB: nil))
        #expect(Array(h.sent[before...]) == cmd("REPLCONF", "ACK", "77"))
    }

    @Test("a transfer cut by a disconnect is aborted and the position is unchanged")
    func transferAborted() {
        var h = Harness(position: ReplicationPosition(replid: replidB, offset: 9, streamDB: 1))
        h.handshake()
        h.feed("+FULLRESYNC \(replidA) 500\r\n$100\r\nREDIS")
        h.handle(.disconnected(now: h.now))
        #expect(h.actions.contains(.fullSyncAborted))
        #expect(h.link.position == ReplicationPosition(replid: replidB, offset: 9, streamDB: 1))
        #expect(h.link.state == .connect)
    }

    @Test("a bad preamble and a master error during transfer")
    func badPreamble() {
        var h = Harness()
        h.handshake()
        h.feed("+FULLRESYNC \(replidA) 0\r\nGARBAGE\r\n")
        #expect(h.closes.map(\.kind) == [.protocolError])
        var g = Harness()
        g.handshake()
        g.feed("+FULLRESYNC \(replidA) 0\r\n-ERR BGSAVE failed\r\n")
        #expect(g.closes.map(\.kind) == [.masterNotReady])
    }

    func connectedHarness(offset: Int64 = 100, db: Int = 0) -> Harness {
        var h = Harness(position: ReplicationPosition(replid: replidA, offset: offset, streamDB: db))
        h.handshake()
        h.feed("+CONTINUE\r\n")
        return h
    }

    @Test("GETACK outside MULTI answers with the offset before the GETACK")
    func getackOutside() {
        var h = connectedHarness()
        let set = cmd("SET", "a", "b")
        let getack = cmd("REPLCONF", "GETACK", "*")
        h.feed(set + getack)
        let ackOffset = 100 + Int64(set.count)
        #expect(h.sent.suffix(cmd("REPLCONF", "ACK", String(ackOffset)).count) == ArraySlice(cmd("REPLCONF", "ACK", String(ackOffset))))
        // The bytes before the ACK were handed to the log first.
        let idxAppend = h.actions.firstIndex { if case .appendStream = $0 { return true } else { return false } }
        let idxAck = h.actions.lastIndex { if case .sendAck = $0 { return true } else { return false } }
        #expect(idxAppend! < idxAck!)
        #expect(h.acks.last == ackOffset)
        #expect(h.link.position?.offset == ackOffset + Int64(getack.count))
    }

    @Test("GETACK inside MULTI answers with the offset before the MULTI; nothing of the transaction is committed until EXEC")
    func getackInsideMulti() {
        var h = connectedHarness()
        let pre = cmd("SET", "a", "b")
        let multiPart = cmd("MULTI") + cmd("SELECT", "4") + cmd("INCR", "n") + cmd("REPLCONF", "GETACK", "*")
        h.feed(pre + multiPart)
        let ack = cmd("REPLCONF", "ACK", String(100 + pre.count))
        #expect(h.sent.suffix(ack.count) == ArraySlice(ack))
        #expect(h.streamed == pre)
        #expect(h.link.position?.offset == 100 + Int64(pre.count))
        #expect(h.link.position?.streamDB == 0)
        h.feed(cmd("EXEC"))
        #expect(h.streamed == pre + multiPart + cmd("EXEC"))
        #expect(h.link.position?.streamDB == 4)
        #expect(h.appends.last?.db == 4)
    }

    @Test("a disconnect inside MULTI drops the open transaction; the next PSYNC asks from before MULTI")
    func disconnectInsideMulti() {
        var h = connectedHarness()
        h.feed(cmd("SET", "a", "b") + cmd("MULTI") + cmd("SELECT", "9") + cmd("SET", "x", "y") + Array(cmd("EXEC").prefix(5)))
        let committed = 100 + Int64(cmd("SET", "a", "b").count)
        h.handle(.disconnected(now: h.now))
        #expect(h.link.position == ReplicationPosition(replid: replidA, offset: committed, streamDB: 0))
        h.handshake()
        let psync = cmd("PSYNC", replidA, String(committed + 1))
        #expect(h.sent.suffix(psync.count) == ArraySlice(psync))
    }

    @Test("random splits of a recorded stream give identical actions; appends end only at boundaries outside MULTI", arguments: Array(UInt64(1)...UInt64(25)))
    func splitsGiveIdenticalActions(seed: UInt64) {
        let rdb = fakeRDB(size: 500, seed: seed)
        let (stream, boundaries) = recordedStream()
        let handshakeReplies = bytes("+PONG\r\n+OK\r\n+OK\r\n+OK\r\n\n+FULLRESYNC \(replidA) 1000\r\n\n")
        let transfer = bytes("$\(rdb.count)\r\n") + rdb

        func run(_ chunks: [[UInt8]]) -> Harness {
            var h = Harness()
            h.handle(.connecting(now: h.now))
            h.handle(.connected(now: h.now))
            for c in chunks {
                h.feed(c)
                if h.link.state == .transfer, h.actions.contains(where: { $0 == .endOfRDB(totalBytes: Int64(rdb.count)) }),
                   !h.actions.contains(where: { if case .stateChanged(_, .connected) = $0 { return true } else { return false } }) {
                    h.handle(.snapshotPersisted(now: h.now, streamDB: 0))
                }
            }
            return h
        }
        let input = handshakeReplies + transfer + stream
        let whole = run([input])
        let drip = run(input.map { [$0] })
        let random = run(randomSplits(input, seed: seed, maxChunk: 1 + Int(seed) * 7))
        #expect(whole.streamed == stream)
        #expect(whole.rdb == rdb)
        #expect(normalized(drip.actions) == normalized(whole.actions))
        #expect(normalized(random.actions) == normalized(whole.actions))
        for h in [whole, drip, random] {
            for a in h.appends { #expect(boundaries.contains(a.endOffset - 1000), "append ends at \(a.endOffset)") }
            #expect(h.link.position == ReplicationPosition(replid: replidA, offset: 1000 + Int64(stream.count), streamDB: 2))
        }
        // Two GETACKs: outside MULTI (offset before it) and inside MULTI (offset before that MULTI).
        let getackOutside = 1000 + Int64(stream.count - recordedStreamTail(from: "*3\r\n$8\r\nREPLCONF", in: stream, occurrence: 0))
        let multiStart = 1000 + Int64(stream.count - recordedStreamTail(from: "*1\r\n$5\r\nMULTI", in: stream, occurrence: 1))
        let expectedAcks = cmd("REPLCONF", "ACK", "1000") + cmd("REPLCONF", "ACK", String(getackOutside)) + cmd("REPLCONF", "ACK", String(multiStart))
        #expect(whole.sent.suffix(expectedAcks.count).elementsEqual(expectedAcks))
    }

    @Test("garbage from the master in the stream is a protocol error naming the master offset")
    func garbageInStream() {
        var h = connectedHarness(offset: 100)
        let ok = cmd("SET", "a", "b")
        h.feed(ok + bytes("HELLO\r\n"))
        #expect(h.streamed == ok)
        let failure = h.closes.first
        #expect(failure?.kind == .protocolError)
        #expect(failure?.message.contains("master offset \(101 + ok.count)") == true)
        #expect(h.link.position?.offset == 100 + Int64(ok.count))
        #expect(h.link.state == .connect)
    }

    @Test("REPLCONF ACK every second on tick, and the silent-link timeout")
    func ackAndTimeout() {
        var h = connectedHarness(offset: 42)
        let start = h.now
        h.handle(.tick(now: start + sec / 2))
        #expect(!h.sent.suffix(cmd("REPLCONF", "ACK", "42").count).elementsEqual(cmd("REPLCONF", "ACK", "42")))
        h.handle(.tick(now: start + sec))
        #expect(h.sent.suffix(cmd("REPLCONF", "ACK", "42").count).elementsEqual(cmd("REPLCONF", "ACK", "42")))
        h.handle(.received(cmd("PING"), now: start + 30 * sec))
        h.handle(.tick(now: start + 89 * sec))
        #expect(h.closes.isEmpty)
        h.handle(.tick(now: start + 91 * sec))
        #expect(h.closes.map(\.kind) == [.timeout])
    }
}

@Suite("Replica link on random input")
struct LinkRandomInputTests {
    @Test("seeded garbage in every phase ends in a clear close, never a crash or a bad commit", arguments: Array(UInt64(1)...UInt64(30)))
    func garbage(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let alphabet = Array("*$+-:0123456789\r\n\nFULLRESYNC CONTINUE EOF:".utf8)
        func noise() -> [UInt8] { (0..<Int.random(in: 1...80, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! } }
        // Handshake phase.
        var h = Harness(position: ReplicationPosition(replid: replidA, offset: 10, streamDB: 0))
        h.handle(.connecting(now: h.now))
        h.handle(.connected(now: h.now))
        h.feed(noise())
        // Streaming phase: garbage after valid commands must not move the committed offset past them.
        var g = Harness(position: ReplicationPosition(replid: replidA, offset: 10, streamDB: 0))
        g.handshake()
        g.feed("+CONTINUE\r\n")
        let valid = cmd("SET", "a", "1")
        g.feed(valid + noise())
        if let offset = g.link.position?.offset {
            #expect(offset >= 10 + Int64(valid.count))
            #expect(g.streamed.count == Int(offset - 10))
        }
        #expect(g.streamed.starts(with: valid))
        for a in g.appends { #expect(a.endOffset > 10) }
        // Transfer phase.
        var t = Harness()
        t.handshake()
        t.feed("+FULLRESYNC \(replidA) 0\r\n")
        t.feed(noise())
        #expect(t.link.state == .transfer || t.link.state == .connect)
    }
}
