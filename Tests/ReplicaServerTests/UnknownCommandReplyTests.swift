import Foundation
import Keyspace
import Testing
@testable import ReplicaServer
import TestSupport

/// The unknown command / subcommand replies echo the client's bytes as Redis does (server.c
/// `commandCheckExistence`: `'%.128s'` and `'%.*s' ` per argument while the list is under 128 bytes, so an
/// argument ends at its first NUL byte; CR and LF become spaces), not as UTF-8. Every expected reply below is
/// what Debian's redis-server 7.0.15 sent for the same bytes (captured with a python3 socket).
@Suite(.serialized) struct UnknownCommandReplyTests {
    static func s(_ text: String) -> [UInt8] { Array(text.utf8) }
    static func rep(_ byte: UInt8, _ n: Int) -> [UInt8] { Array(repeating: byte, count: n) }
    static let argsPrefix = s("', with args beginning with: ")

    /// (command as sent, the reply redis-server 7.0.15 sent, byte for byte).
    static let cases: [([[UInt8]], [UInt8])] = [
        ([[0x66, 0xFF, 0x6F, 0xC3], [0x61, 0xFE], [0xE2, 0x82]],
         s("-ERR unknown command 'f") + [0xFF, 0x6F, 0xC3] + argsPrefix + [0x27, 0x61, 0xFE] + s("' '") + [0xE2, 0x82] + s("' \r\n")),
        ([s("no\0pe"), s("a\0b"), s("c")], s("-ERR unknown command 'no', with args beginning with: 'a' 'c' \r\n")),
        ([s("x\r\ny"), s("a\rb\nc")], s("-ERR unknown command 'x  y', with args beginning with: 'a b c' \r\n")),
        ([rep(0x6E, 200), rep(0xFF, 100), rep(0xFE, 100), s("z")],
         s("-ERR unknown command '") + rep(0x6E, 128) + argsPrefix + [0x27] + rep(0xFF, 100) + s("' '") + rep(0xFE, 25) + s("' \r\n")),
        ([s("q")] + Array(repeating: rep(0xC0, 10), count: 20),
         s("-ERR unknown command 'q") + argsPrefix + Array((0..<10).map { _ in [0x27] + rep(0xC0, 10) + s("' ") }.joined()) + s("\r\n")),
        ([s("q"), rep(0x61, 126), s("b")], s("-ERR unknown command 'q") + argsPrefix + [0x27] + rep(0x61, 126) + s("' \r\n")),
        ([s("q"), rep(0x61, 125), s("b"), s("c")], s("-ERR unknown command 'q") + argsPrefix + [0x27] + rep(0x61, 125) + s("' \r\n")),
        ([s("q"), [], []], s("-ERR unknown command 'q', with args beginning with: '' '' \r\n")),
        ([s("client"), s("b") + [0xFF] + s("ogus\0x"), s("y")], s("-ERR unknown subcommand 'b") + [0xFF] + s("ogus'. Try CLIENT HELP.\r\n")),
        ([s("command"), [0x80]], s("-ERR unknown subcommand '") + [0x80] + s("'. Try COMMAND HELP.\r\n")),
    ]

    @Test func repliesAreRedisBytes() {
        for (args, expected) in Self.cases {
            let reply = args[0] == Self.s("client") || args[0] == Self.s("command")
                ? Errors.unknownSubcommand(args[1], String(decoding: args[0], as: UTF8.self))
                : Errors.unknownCommand(args)
            #expect(reply.encoded(protocolVersion: 2) == expected, "\(args.map { $0.prefix(8) })")
            #expect(reply.encoded(protocolVersion: 3) == expected)
            #expect(reply.isError)
        }
    }

    /// Through a served port, each command drip-fed one byte at a time, and an inline command.
    @Test func overTheWireDripFed() throws {
        let fixture = try ServerFixture()
        for (args, expected) in Self.cases {
            let c = try fixture.client()
            for byte in RedisClient.encode(args) { try c.sendRaw([byte]) }
            var got: [UInt8] = []
            while !(got.count >= 2 && got.suffix(2) == [13, 10]) { got += try c.readSome() }
            #expect(got == expected, "\(args.map { $0.prefix(8) })")
        }
        let c = try fixture.client()
        for byte in Self.s("fo") + [0xFF] + Self.s("o bar") + [0xFE] + Self.s("\r\n") { try c.sendRaw([byte]) }
        var got: [UInt8] = []
        while !(got.count >= 2 && got.suffix(2) == [13, 10]) { got += try c.readSome() }
        #expect(got == Self.s("-ERR unknown command 'fo") + [0xFF] + Self.s("o', with args beginning with: 'bar") + [0xFE] + Self.s("' \r\n"))
    }

    /// The read commands' unknown subcommands (OBJECT, XGROUP, FUNCTION), answered from a dataset.
    @Test func readSubcommands() {
        let cases: [([[UInt8]], [UInt8])] = [
            ([Self.s("OBJECT"), [0xFE, 0xFF] + Self.rep(0x78, 200)],
             Self.s("-ERR unknown subcommand '") + [0xFE, 0xFF] + Self.rep(0x78, 126) + Self.s("'. Try OBJECT HELP.\r\n")),
            ([Self.s("xgroup"), [0xC3, 0x28, 13, 10]], Self.s("-ERR unknown subcommand '") + [0xC3, 0x28, 32, 32] + Self.s("'. Try XGROUP HELP.\r\n")),
            ([Self.s("function"), [0xFF, 0]], Self.s("-ERR unknown subcommand '") + [0xFF] + Self.s("'. Try FUNCTION HELP.\r\n")),
        ]
        for (args, expected) in cases {
            let s = ClientSession(id: 1, address: "t", localAddress: "t", isLoopback: true, passwordRequired: false)
            let name = String(decoding: args[0], as: UTF8.self).lowercased()
            let reply = ReadCommands.run(name, args, family: ReadCommands.families[name]!, view: .ready(Keyspace()),
                                         session: s, nowMs: 0)
            #expect(reply.encoded(protocolVersion: 2) == expected, "\(name)")
        }
    }
}
