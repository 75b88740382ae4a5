import Keyspace
import NIOCore
import RDB
@testable import ReplicaServer
import Testing
import TestSupport

/// The serving hot path: replies encoded into a connection's `ReplyBuffer` equal the reference encoding
/// (into a byte array) for every kind of reply, commands are looked up from raw bytes in any letter case,
/// and the parser's in-place form gives the same commands as its reference form, drip-fed.
struct HotPathTests {
    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// A list whose elements need one, two and three LEB128 length bytes.
    static let list = PackedBytes([b("a"), [], Array(repeating: 7, count: 200), Array(repeating: 9, count: 20_000), b("z")])

    static let replies: [Reply] = [
        .simple("OK"), .error("ERR bad\r\nline"), .integer(0), .integer(9), .integer(10), .integer(-1), .integer(Int64.min),
        .integer(Int64.max), .bulk([]), .bulk(Array(repeating: 0x41, count: 70_000)), .null, .nullArray,
        .array([.integer(1), .bulk(b("x")), .array([])]), .set([.bulk(b("m"))]), .map([(.bulk(b("k")), .double(1.5))]),
        .double(-0.0), .double(.infinity), .doubleText("3.14"), .verbatim("a\r\nb"),
        .listRange(list, 0..<5), .listRange(list, 1..<4), .listRange(list, 3..<5), .listRange(list, 4..<5), .listRange(list, 2..<2),
    ]

    @Test(arguments: [2, 3]) func replyBufferEncodesAsTheReference(resp: Int) {
        var out = ReplyBuffer()
        defer { out.deallocate() }
        var reference: [UInt8] = []
        for r in Self.replies {
            r.encode(to: &out, resp3: resp == 3)
            reference += r.encoded(protocolVersion: resp)
        }
        let sent = out.take(ByteBufferAllocator())
        #expect(Array(sent.readableBytesView) == reference)
        #expect(out.isEmpty)
        // Emptied (and shrunk after the 70 KB bulk): the next batch starts from nothing.
        Reply.integer(42).encode(to: &out, resp3: false)
        #expect(Array(out.take(ByteBufferAllocator()).readableBytesView) == Self.b(":42\r\n"))
    }

    @Test func listRangeMatchesTheElements() {
        let all = Self.list.elements
        for lo in 0...all.count {
            for hi in lo...all.count {
                var expected: [UInt8] = Self.b("*\(hi - lo)\r\n")
                for e in all[lo..<hi] { expected += Self.b("$\(e.count)\r\n") + e + Self.b("\r\n") }
                var out = ReplyBuffer()
                Reply.listRange(Self.list, lo..<hi).encode(to: &out, resp3: false)
                #expect(Array(out.take(ByteBufferAllocator()).readableBytesView) == expected, "range \(lo)..<\(hi)")
                out.deallocate()
            }
        }
    }

    @Test func commandLookupFromRawBytes() {
        #expect(CommandTable.lookup(Self.b("GET"))?.name == "get")
        #expect(CommandTable.lookup(Self.b("gEt"))?.family == .strings)
        #expect(CommandTable.lookup(Self.b("HSET"))?.isWrite == true)
        #expect(CommandTable.lookup(Self.b("auth"))?.noAuth == true)
        #expect(CommandTable.lookup(Self.b("CLIENT"))?.hasSubcommands == true)
        #expect(CommandTable.lookup(Self.b("GEORADIUSBYMEMBER_RO"))?.family == .misc)
        #expect(CommandTable.lookup(Self.b("get\0")) == nil)
        #expect(CommandTable.lookup(Self.b("ge")) == nil)
        #expect(CommandTable.lookup([]) == nil)
        #expect(CommandTable.lookup(Array(repeating: 0x61, count: 300)) == nil)
        // Every name the table lists is found, with its own spec.
        for name in CommandTable.allNames {
            #expect(CommandTable.lookup(Self.b(name.uppercased()))?.spec.name == name)
        }
    }

    /// The in-place parse, drip-fed a pipeline: each command's arguments equal the reference parse's, with
    /// the name given as a range of the buffer.
    @Test(arguments: [1 as UInt64, 2, 3]) func inPlaceParseDripFed(seed: UInt64) {
        let parser = QueryParser(maxBulkLength: 512 << 20, queryBufferLimit: 1 << 30)
        let cmds: [[[UInt8]]] = [[Self.b("GET"), Self.b("key:1")], [Self.b("lrange"), Self.b("l"), Self.b("0"), Self.b("99")],
                                 [Self.b("PING")], [Self.b("ECHO"), []], [Self.b("SET"), Self.b("k"), Array(repeating: 0x76, count: 300)]]
        var wire: [UInt8] = []
        for c in cmds { wire += RedisClient.encode(c) }
        wire += Self.b("INLINE 'a b' c\r\n")
        var rng = SeededRandom(seed: seed)
        var buffer: [UInt8] = []
        var got: [[[UInt8]]] = []
        var args: [[UInt8]] = []
        var i = 0
        while i < wire.count {
            let n = Int(rng.next() % 9) + 1
            buffer += wire[i..<min(wire.count, i + n)]
            i += n
            while true {
                let step = buffer.withUnsafeBytes { raw -> QueryParser.Step in
                    let s = parser.parse(raw, authRequired: false, into: &args)
                    if case .command(_, let r?) = s {
                        #expect(args[0].isEmpty)
                        args[0] = Array(UnsafeRawBufferPointer(rebasing: raw[r]))
                    }
                    return s
                }
                guard case .command(let used, _) = step else {
                    #expect(step == .needMore)
                    break
                }
                got.append(args)
                buffer.removeFirst(used)
            }
        }
        #expect(got == cmds + [[Self.b("INLINE"), Self.b("a b"), Self.b("c")]])
        #expect(buffer.isEmpty)
    }

    /// Arguments refilled from the pool: each command's arguments are its own, and an argument still held
    /// after its command (as a reply may hold one) keeps its bytes while later commands reuse the pool.
    @Test func argumentPoolReusesWithoutSharing() {
        let parser = QueryParser(maxBulkLength: 512 << 20, queryBufferLimit: 1 << 30)
        var args: [[UInt8]] = []
        var pool = QueryParser.ArgumentPool()
        var held: [[UInt8]] = []
        for i in 0..<50 {
            let cmd = [Self.b("GET"), Self.b("key:\(i)"), Array(repeating: UInt8(i), count: i * 100)]
            let wire = RedisClient.encode(cmd)
            let step = wire.withUnsafeBytes { parser.parse($0, authRequired: false, into: &args, pool: &pool) }
            #expect(step == .command(consumed: wire.count, nameRange: 8..<11))
            #expect(Array(args.dropFirst()) == Array(cmd.dropFirst()))
            if i % 3 == 0 { held.append(args[1]) }
        }
        #expect(held == stride(from: 0, to: 50, by: 3).map { Self.b("key:\($0)") })
    }

    /// A large sorted set's kept order: equal to `sorted`, renewed when the set changes, and a copy taken
    /// before a change keeps the order of its own version.
    @Test func largeSortedSetKeepsItsOrderPerVersion() {
        var rng = SeededRandom(seed: 7)
        var z = ZSetValue()
        for i in 0..<300 { z.set(Self.b("m\(i)"), Double(rng.next() % 50)) }
        let first = z.sortedKeepingOrder
        #expect(first.map(\.member) == z.sorted.map(\.member))
        #expect(z.sortedKeepingOrder.map(\.member) == first.map(\.member))
        let before = z
        z.set(Self.b("new"), -1)
        #expect(z.sortedKeepingOrder.first?.member == Self.b("new"))
        #expect(z.sortedKeepingOrder.map(\.member) == z.sorted.map(\.member))
        #expect(before.sortedKeepingOrder.map(\.member) == first.map(\.member))
        z.remove(Self.b("new"))
        #expect(z.sortedKeepingOrder.map(\.member) == first.map(\.member))
        var small = ZSetValue()
        small.set(Self.b("b"), 1)
        small.set(Self.b("a"), 1)
        #expect(small.sortedKeepingOrder.map(\.member) == [Self.b("a"), Self.b("b")])
    }
}

