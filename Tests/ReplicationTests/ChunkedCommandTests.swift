import Base
import Testing
import RESP
@testable import Replication
import TestSupport

/// A command larger than `maxHeldCommandBytes` streams through the link in `.appendUnfinished` chunks:
/// the bytes held stay bounded, the position (ACKs, PSYNC) stays at the last boundary outside MULTI, and
/// what is committed is the same whatever the split.
@Suite("Replica link: commands larger than maxHeldCommandBytes")
struct ChunkedCommandTests {
    static let threshold = 64

    func connected(offset: Int64 = 100, db: Int = 0, maxHeld: Int = threshold) -> Harness {
        var h = Harness(position: ReplicationPosition(replid: replidA, offset: offset, streamDB: db), maxHeld: maxHeld)
        h.handshake()
        h.feed("+CONTINUE\r\n")
        return h
    }

    /// Feeds `stream` in pieces of `piece` bytes, checking after each read that the link holds at most the
    /// threshold plus one read (and a retained short argument), that the position is a boundary, and that
    /// each ACK acknowledges a boundary.
    func feedChecking(_ stream: [UInt8], piece: Int, boundaries: Set<Int64>, base: Int64 = 100) -> Harness {
        var h = connected(offset: base)
        var at = 0
        while at < stream.count {
            let end = min(stream.count, at + piece)
            h.feed(Array(stream[at..<end]))
            at = end
            #expect(h.link.input.available <= ChunkedCommandTests.threshold + piece + RESPCommandScanner.keptArgumentRetainLimit + 16,
                    "held \(h.link.input.available) bytes after a read of \(piece)")
            if let p = h.link.position { #expect(boundaries.contains(p.offset - base), "position \(p.offset) is not a boundary") }
        }
        h.handle(.tick(now: h.now + 2 * sec))
        for a in h.acks { #expect(boundaries.contains(a - base), "ACK \(a) is not a boundary") }
        return h
    }

    func boundariesOf(_ commands: [[UInt8]]) -> Set<Int64> {
        var b: Set<Int64> = [0]
        var total = 0
        var inMulti = false
        for c in commands {
            total += c.count
            let text = String(decoding: c.prefix(16), as: UTF8.self)
            if text.hasSuffix("MULTI\r\n") { inMulti = true }
            if text.hasSuffix("EXEC\r\n") { inMulti = false }
            if !inMulti { b.insert(Int64(total)) }
        }
        return b
    }

    @Test("a bulk of N x threshold in every read size: bounded held bytes, same committed bytes, position at boundaries", arguments: [1, 2, 3, 7, 16, 63, 64, 65, 200])
    func bigBulkEverySplit(piece: Int) {
        var rng = SeededRandom(seed: UInt64(piece))
        let value = String((0..<(ChunkedCommandTests.threshold * 37 + 5)).map { _ in Character(UnicodeScalar(UInt8.random(in: 97...122, using: &rng))) })
        let commands = [cmd("SET", "a", "1"), cmd("SET", "big", value), cmd("SELECT", "3"), cmd("SET", "b", "2")]
        let stream = commands.flatMap { $0 }
        let h = feedChecking(stream, piece: piece, boundaries: boundariesOf(commands))
        #expect(h.streamed == stream)
        #expect(h.unfinished.count > 0, "the big value was never handed out in chunks")
        #expect(h.link.position == ReplicationPosition(replid: replidA, offset: 100 + Int64(stream.count), streamDB: 3))
        var whole = connected(maxHeld: .max)
        whole.feed(stream)
        #expect(normalized(h.actions.filter { if case .sendAck = $0 { return false } else { return true } })
                == normalized(whole.actions))
    }

    @Test("MULTI/EXEC spanning chunks: nothing committed before EXEC, GETACK inside answers the offset before MULTI", arguments: [1, 5, 40, 100])
    func multiSpanningChunks(piece: Int) {
        let pre = cmd("SET", "a", "b")
        var commands = [pre, cmd("MULTI")]
        for i in 0..<30 { commands.append(cmd("INCR", "counter-\(i)")) }
        commands.append(cmd("REPLCONF", "GETACK", "*"))
        commands.append(cmd("SELECT", "7"))
        commands.append(cmd("SET", "v", String(repeating: "x", count: 500)))
        let exec = cmd("EXEC")
        let stream = commands.flatMap { $0 } + exec
        var h = connected()
        let beforeExec = stream.count - exec.count
        var at = 0
        while at < beforeExec {
            let end = min(beforeExec, at + piece)
            h.feed(Array(stream[at..<end]))
            at = end
            #expect(h.link.position?.offset == (at >= pre.count ? 100 + Int64(pre.count) : 100))
        }
        #expect(h.unfinished.count > 0)
        #expect(h.link.input.available <= ChunkedCommandTests.threshold + piece + RESPCommandScanner.keptArgumentRetainLimit + 16)
        #expect(h.acks == [100 + Int64(pre.count)])
        h.feed(exec)
        #expect(h.streamed == stream)
        #expect(h.link.position == ReplicationPosition(replid: replidA, offset: 100 + Int64(stream.count), streamDB: 7))
        #expect(h.appends.last?.db == 7)
    }

    @Test("a disconnect in the middle of a chunked command discards its chunks; PSYNC asks from the boundary before it")
    func disconnectDiscards() {
        var h = connected()
        let pre = cmd("SET", "a", "b")
        let big = cmd("SET", "big", String(repeating: "v", count: 1000))
        h.feed(pre + Array(big.prefix(600)))
        #expect(h.unfinished.count > 0)
        h.handle(.disconnected(now: h.now))
        let discard = h.actions.firstIndex(of: .discardUnfinished)
        let reset = h.actions.firstIndex(of: .stateChanged(from: .connected, to: .connect))
        #expect(discard != nil && reset != nil && discard! < reset!)
        #expect(h.link.position?.offset == 100 + Int64(pre.count))
        h.handshake()
        let psync = cmd("PSYNC", replidA, String(100 + pre.count + 1))
        #expect(h.sent.suffix(psync.count) == ArraySlice(psync))
        // The resent command from its first byte commits normally on the new connection.
        h.feed("+CONTINUE\r\n")
        h.feed(big)
        #expect(h.link.position?.offset == 100 + Int64(pre.count + big.count))
    }

    @Test("a protocol error inside a chunked command discards it; the error names the command's offset")
    func protocolErrorDiscards() {
        var h = connected()
        let big = cmd("SET", "big", String(repeating: "v", count: 300))
        var broken = big
        broken[broken.count - 2] = UInt8(ascii: "x")   // no CRLF after the payload
        h.feed(Array(broken.prefix(200)))
        h.feed(Array(broken.dropFirst(200)))
        #expect(h.actions.contains(.discardUnfinished))
        #expect(h.closes.first?.message.contains("in the command at master offset 101") == true)
        #expect(h.link.position?.offset == 100)
    }

    @Test("a long command name or first arguments are released too (no classification needs them)")
    func longKeptArgumentsReleased() {
        var h = connected()
        let longName = String(repeating: "N", count: 300)
        let c = cmd(longName, String(repeating: "k", count: 300), "v")
        for b in c { h.feed([b]) }
        #expect(h.unfinished.count > 0)
        #expect(h.link.input.available == 0)
        #expect(h.streamed == c)
    }

    @Test("a command of many small arguments is released argument by argument")
    func manyArguments() {
        var h = connected()
        let c = RESPEncoder.command(["RPUSH", "list"] + (0..<500).map(String.init))
        var at = 0
        while at < c.count {
            h.feed(Array(c[at..<min(c.count, at + 10)]))
            at += 10
            #expect(h.link.input.available <= ChunkedCommandTests.threshold + 10 + 16)
        }
        #expect(h.streamed == c)
        #expect(h.link.position?.offset == 100 + Int64(c.count))
    }
}

@Suite("RESP command scanner: releasing bytes")
struct ScannerReleaseTests {
    @Test("releasing in every split gives the same command and keeps short kept arguments", arguments: [1, 2, 9, 33])
    func releaseEverySplit(piece: Int) throws {
        let frame = cmd("SELECT", "12") + []
        let big = cmd("SET", "key", String(repeating: "z", count: 700))
        for c in [frame, big] {
            var scanner = RESPCommandScanner()
            var held: [UInt8] = []
            var result: RESPCommandScan?
            var at = 0
            while result == nil {
                held += c[at..<min(c.count, at + piece)]
                at += piece
                result = try held.withUnsafeBytes { try scanner.scan($0) }
                if result == nil {
                    let n = min(scanner.releasableBytes, held.count)
                    held.withUnsafeBytes { scanner.release(n, from: $0) }
                    held.removeFirst(n)
                }
            }
            let r = try #require(result)
            #expect(r.byteCount == held.count)
            let name = held.withUnsafeBytes { f in r.withArgument(0, in: f) { Array($0) } }
            #expect(name == Array((c == frame ? "SELECT" : "SET").utf8))
            #expect(held.withUnsafeBytes { f in r.withArgument(1, in: f) { Array($0) } } == Array((c == frame ? "12" : "key").utf8))
            if c == big {
                #expect(r.argumentRange(2) == nil)
                #expect(held.withUnsafeBytes { f in r.withArgument(2, in: f) { _ in true } } == nil)
            }
        }
    }
}
