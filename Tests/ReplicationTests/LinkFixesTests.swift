import Base
import Testing
import RESP
@testable import Replication
import TestSupport

/// A link streaming from `replidA` at `offset` (after `+CONTINUE`).
func streamingHarness(offset: Int64 = 100, db: Int = 0) -> Harness {
    var h = Harness(position: ReplicationPosition(replid: replidA, offset: offset, streamDB: db))
    h.handshake()
    h.feed("+CONTINUE\r\n")
    return h
}

/// `*<n+2>\r\n$4\r\nSADD\r\n$1\r\ns\r\n` then n small members: one command of n+2 arguments.
func hugeCommand(arguments n: Int) -> [UInt8] {
    var c = bytes("*\(n + 2)\r\n$4\r\nSADD\r\n$1\r\ns\r\n")
    for i in 0..<n {
        let m = String(i)
        c += bytes("$\(m.utf8.count)\r\n\(m)\r\n")
    }
    return c
}

@Suite("Replica link: fixes from the review against replication.c")
struct LinkFixesTests {
    @Test("a huge command fed in small pieces is scanned in linear work, not rescanned from its first byte")
    func hugeCommandLinearScan() throws {
        let command = hugeCommand(arguments: 200_000)
        var h = streamingHarness()
        var rng = SeededRandom(seed: 8)
        var at = 0
        var reads = 0
        while at < command.count {
            let n = min(command.count - at, Int.random(in: 200...1200, using: &rng))
            h.feed(Array(command[at..<(at + n)]))
            at += n
            reads += 1
        }
        #expect(reads > 1000)
        #expect(h.streamed == command)
        #expect(h.link.position?.offset == 100 + Int64(command.count))
        guard case .streaming(let s) = h.link.phase else {
            Issue.record("not streaming: \(h.link.state)")
            return
        }
        // Every byte examined at most about once (a length line cut by a read is re-read from its '$';
        // payloads are skipped). A rescan from the first byte would examine ~ reads * size / 2 bytes.
        #expect(s.scanner.scannedBytes > Int64(command.count) / 2)
        #expect(s.scanner.scannedBytes <= Int64(command.count) * 2)
    }

    @Test("the resumable scanner gives scanCommand's result for every split, and resets between commands")
    func scannerMatchesScanCommand() throws {
        let frame = cmd("SET", "key", "value") + cmd("PING")
        let decoder = RESPDecoder()
        let whole = try #require(try decoder.scanCommand(frame))
        for cut in 0...whole.byteCount {
            var scanner = RESPCommandScanner()
            let first = try frame.withUnsafeBytes { try scanner.scan(UnsafeRawBufferPointer(rebasing: $0[0..<cut])) }
            if cut < whole.byteCount { #expect(first == nil) } else { #expect(first == whole) }
            if first == nil {
                let second = try frame.withUnsafeBytes { try scanner.scan(UnsafeRawBufferPointer(rebasing: $0[0...])) }
                #expect(second == whole)
            }
            #expect(!scanner.inProgress)
        }
    }

    @Test("a snapshot rejected by verification is an event: the link closes, forgets it, and asks for a new one")
    func snapshotRejected() {
        let rdb = fakeRDB(size: 200, seed: 3)
        var h = Harness(position: ReplicationPosition(replid: replidB, offset: 9, streamDB: 1))
        h.handshake()
        h.feed("+FULLRESYNC \(replidA) 500\r\n$\(rdb.count)\r\n")
        h.feed(rdb)
        #expect(h.actions.contains(.endOfRDB(totalBytes: Int64(rdb.count))))
        h.handle(.snapshotRejected(now: h.now, reason: "CRC mismatch"))
        #expect(h.closes.map(\.kind) == [.protocolError])
        #expect(h.closes.first?.message.contains("CRC mismatch") == true)
        #expect(h.link.state == .connect)
        #expect(h.link.position == ReplicationPosition(replid: replidB, offset: 9, streamDB: 1))
        // Nothing is pending any more: a late "persisted" is ignored.
        h.handle(.snapshotPersisted(now: h.now, streamDB: 0))
        #expect(h.link.position == ReplicationPosition(replid: replidB, offset: 9, streamDB: 1))
    }

    @Test("every ACK carries its offset as an action field")
    func ackOffsetField() {
        var h = streamingHarness(offset: 100)
        let set = cmd("SET", "a", "b")
        h.feed(set + cmd("REPLCONF", "GETACK", "*"))
        h.now += 2 * sec
        h.handle(.tick(now: h.now))
        let getack = cmd("REPLCONF", "GETACK", "*")
        #expect(h.acks == [100 + Int64(set.count), 100 + Int64(set.count + getack.count)])
        for case .sendAck(let offset, let b) in h.actions {
            #expect(b == cmd("REPLCONF", "ACK", String(offset)))
        }
    }

    @Test("the same protocol error at the same offset 3 times drops the cached master: the next PSYNC is ? -1")
    func retryBound() {
        var h = Harness(position: ReplicationPosition(replid: replidA, offset: 100, streamDB: 0))
        let good = cmd("SET", "a", "b")
        func attempt(_ h: inout Harness, garbageAfter prefix: [UInt8]) {
            h.handshake()
            h.feed("+CONTINUE\r\n")
            h.feed(prefix + bytes("?garbage\r\n"))
            h.handle(.disconnected(now: h.now))
        }
        // Errors at different offsets do not count as identical.
        attempt(&h, garbageAfter: [])
        attempt(&h, garbageAfter: good)
        let committed = 100 + Int64(good.count)
        #expect(h.link.position?.offset == committed)
        attempt(&h, garbageAfter: [])
        #expect(h.link.position?.offset == committed)
        attempt(&h, garbageAfter: [])
        #expect(h.closes.count == 4)
        #expect(h.link.position == nil)
        let logs = h.actions.compactMap { if case .log(_, let m) = $0 { return m } else { return nil } }
        #expect(logs.contains { $0.contains("discarding the cached master \(replidA):\(committed)") && $0.contains("full one") })
        h.handshake()
        #expect(h.sent.suffix(cmd("PSYNC", "?", "-1").count) == ArraySlice(cmd("PSYNC", "?", "-1")))
        // The commands committed before the errors stay committed (nothing is taken back).
        #expect(h.streamed == good)
    }

    @Test("a bulk over 2 GiB from the master is not a protocol error (Redis sets no bulk limit for its master)")
    func hugeBulkIsNotAnError() {
        var h = streamingHarness()
        let set = cmd("SET", "a", "b")
        h.feed(set + bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000000\r\n") + [UInt8](repeating: 0x41, count: 4096))
        #expect(h.closes.isEmpty)
        #expect(h.link.state == .connected)
        #expect(h.streamed == set)
        // A length past any sane size is still refused, naming the offset.
        var g = streamingHarness()
        g.feed(bytes("*2\r\n$3\r\nGET\r\n$9000000000000000000\r\n"))
        #expect(g.closes.map(\.kind) == [.protocolError])
    }

    @Test("while the RDB is persisted, a newline goes to the master every second and repl-timeout does not fire")
    func keepaliveNewlines() {
        let rdb = fakeRDB(size: 100, seed: 4)
        var h = Harness(timeout: 60)
        h.handshake()
        h.feed("+FULLRESYNC \(replidA) 7\r\n$\(rdb.count)\r\n")
        h.feed(rdb)
        let before = h.sent.count
        for _ in 0..<150 {
            h.now += sec
            h.handle(.tick(now: h.now))
        }
        #expect(h.closes.isEmpty)
        #expect(Array(h.sent[before...]) == [UInt8](repeating: UInt8(ascii: "\n"), count: 150))
        h.handle(.snapshotPersisted(now: h.now, streamDB: 0))
        #expect(h.link.state == .connected)
        #expect(h.acks == [7])
    }

    @Test("MULTI/EXEC/DISCARD/SELECT/REPLCONF GETACK are recognized in any case; malformed SELECTs are ignored")
    func commandClassification() {
        var h = streamingHarness(offset: 10)
        let tx = cmd("multi") + cmd("Select", "7") + cmd("set", "a", "b") + cmd("exec")
        h.feed(tx)
        #expect(h.link.position == ReplicationPosition(replid: replidA, offset: 10 + Int64(tx.count), streamDB: 7))
        let discarded = cmd("MuLtI") + cmd("incr", "n") + cmd("DISCARD")
        let getack = cmd("replconf", "getack", "*")
        h.feed(discarded + getack)
        #expect(h.acks.last == 10 + Int64(tx.count + discarded.count))
        h.feed(cmd("SELECT", "+3") + cmd("SELECT", "x") + cmd("SELECT", "12345678901"))
        #expect(h.link.position?.streamDB == 7)
        h.feed(cmd("SELECT", "15"))
        #expect(h.link.position?.streamDB == 15)
    }
}
