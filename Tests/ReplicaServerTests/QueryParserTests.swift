import Testing
@testable import ReplicaServer
import TestSupport

/// The query parser against Redis's `processMultibulkBuffer` / `processInlineBuffer` behaviour and texts.
@Suite struct QueryParserTests {
    let parser = QueryParser(maxBulkLength: 512 << 20, queryBufferLimit: 1 << 30)

    func parse(_ s: String, auth: Bool = false) -> QueryParser.Outcome {
        Array(s.utf8).withUnsafeBytes { parser.parse($0, authRequired: auth) }
    }

    func args(_ strings: String...) -> [[UInt8]] { strings.map { Array($0.utf8) } }

    @Test func multibulkAndInline() {
        #expect(parse("*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n") == .command(args("ECHO", "a\r\n"), consumed: 23))
        #expect(parse("PING hello\r\n") == .command(args("PING", "hello"), consumed: 12))
        #expect(parse("set \"a b\" 'c\\'d' \"\\x41\\n\"\n") == .command(args("set", "a b", "c'd", "A\n"), consumed: 26))
        #expect(parse("\r\n") == .command([], consumed: 2))
        #expect(parse("*0\r\n") == .command([], consumed: 4))
    }

    /// Every prefix of a valid pipeline is "need more" and consumes nothing; the whole parses to each command.
    @Test(arguments: [1 as UInt64, 2, 3]) func dripFed(seed: UInt64) {
        let cmds = [args("SET", "k", String(repeating: "v", count: 300)), args("PING"), args("CLIENT", "SETNAME", "x")]
        var wire: [UInt8] = []
        for c in cmds { wire += RedisClient.encode(c) }
        var rng = SeededRandom(seed: seed)
        var buffer: [UInt8] = []
        var got: [[[UInt8]]] = []
        var i = 0
        while i < wire.count {
            let n = Int(rng.next() % 7) + 1
            buffer += wire[i..<min(wire.count, i + n)]
            i += n
            while true {
                let o = buffer.withUnsafeBytes { parser.parse($0, authRequired: false) }
                guard case .command(let a, let used) = o else {
                    #expect(o == .needMore)
                    break
                }
                got.append(a)
                buffer.removeFirst(used)
            }
        }
        #expect(got == cmds)
        #expect(buffer.isEmpty)
    }

    @Test func redisErrorTexts() {
        #expect(parse("*x\r\n") == .protocolError("Protocol error: invalid multibulk length"))
        #expect(parse("*3000000000\r\n") == .protocolError("Protocol error: invalid multibulk length"))
        #expect(parse("*11\r\n", auth: true) == .protocolError("Protocol error: unauthenticated multibulk length"))
        #expect(parse("*1\r\n*1\r\n") == .protocolError("Protocol error: expected '$', got '*'"))
        #expect(parse("*1\r\n$-1\r\n") == .protocolError("Protocol error: invalid bulk length"))
        #expect(parse("*1\r\n$536870913\r\n") == .protocolError("Protocol error: invalid bulk length"))
        #expect(parse("*1\r\n$16385\r\n", auth: true) == .protocolError("Protocol error: unauthenticated bulk length"))
        #expect(parse("set \"a\n") == .protocolError("Protocol error: unbalanced quotes in request"))
        #expect(parse(String(repeating: "a", count: 64 * 1024 + 1)) == .protocolError("Protocol error: too big inline request"))
        #expect(parse("*" + String(repeating: "1", count: 64 * 1024 + 1)) == .protocolError("Protocol error: too big mbulk count string"))
        // A bulk length under proto-max-bulk-len but over the query buffer limit is refused before buffering.
        let small = QueryParser(maxBulkLength: 512 << 20, queryBufferLimit: 1 << 20)
        let o = Array("*1\r\n$2000000\r\n".utf8).withUnsafeBytes { small.parse($0, authRequired: false) }
        #expect(o == .protocolError(QueryParser.queryBufferLimitError))
    }

    @Test func unknownCommandText() {
        let r = Errors.unknownCommand(args("foo", "a", "b\r\nc"))
        #expect(r == .error("ERR unknown command 'foo', with args beginning with: 'a' 'b\r\nc' "))
        #expect(r.encoded(protocolVersion: 2) == Array("-ERR unknown command 'foo', with args beginning with: 'a' 'b  c' \r\n".utf8))
    }
}
