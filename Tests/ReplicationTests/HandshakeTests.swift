import Base
import Testing
import RESP
@testable import Replication

@Suite("Replica link: handshake and PSYNC replies")
struct HandshakeTests {
    @Test("the whole handshake without AUTH, byte-exactly and with Redis's state names")
    func handshakeNoAuth() {
        var h = Harness(port: 7777)
        h.handle(.connecting(now: h.now))
        h.handle(.connected(now: h.now))
        #expect(h.sent == cmd("PING"))
        h.feed("+PONG\r\n")
        #expect(h.sent == cmd("PING") + cmd("REPLCONF", "listening-port", "7777") + cmd("REPLCONF", "capa", "eof", "capa", "psync2") + cmd("REPLCONF", "version", "9.1.2"))
        h.feed("+OK\r")
        #expect(h.link.state == .receivePortReply)
        h.feed("\n+OK\r\n")
        #expect(h.link.state == .receiveVersionReply)
        h.feed("+OK\r\n")
        #expect(h.link.state == .receivePsyncReply)
        #expect(h.sent.suffix(cmd("PSYNC", "?", "-1").count) == ArraySlice(cmd("PSYNC", "?", "-1")))
        #expect(h.states == [.connecting, .receivePingReply, .sendHandshake, .receivePortReply, .receiveCapaReply, .receiveVersionReply, .sendPsync, .receivePsyncReply])
    }

    @Test("AUTH with user and password goes first in the burst; the password never appears in a log")
    func handshakeAuth() {
        var h = Harness(password: "s3cret", user: "repl")
        h.handle(.connecting(now: h.now))
        h.handle(.connected(now: h.now))
        h.feed("-NOAUTH Authentication required.\r\n")
        #expect(h.link.state == .receiveAuthReply)
        #expect(h.sent == cmd("PING") + cmd("AUTH", "repl", "s3cret") + cmd("REPLCONF", "listening-port", "6380") + cmd("REPLCONF", "capa", "eof", "capa", "psync2") + cmd("REPLCONF", "version", "9.1.2"))
        h.feed("+OK\r\n-ERR unknown\r\n-ERR nope\r\n-ERR Unrecognized REPLCONF option: version\r\n")
        #expect(h.link.state == .receivePsyncReply)
        for a in h.actions { if case .log(_, let m) = a { #expect(!m.contains("s3cret")) } }
    }

    @Test("AUTH refused is fatal (no retry)")
    func authFails() {
        var h = Harness(password: "wrong")
        h.handle(.connecting(now: h.now))
        h.handle(.connected(now: h.now))
        h.feed("+PONG\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        #expect(h.actions.contains { if case .fatal(let f) = $0 { return f.kind == .authenticationFailed } else { return false } })
        #expect(h.link.state == .connect)
        #expect(h.closes.isEmpty)
    }

    @Test("a master that needs a password we do not have is fatal, not a SYNC retry loop", arguments: ["-NOAUTH Authentication required.", "-NOPERM this user has no permissions to run the 'psync' command"])
    func psyncNoAuth(reply: String) {
        var h = Harness()
        h.handshake()
        h.feed(reply + "\r\n")
        #expect(h.actions.contains { if case .fatal(let f) = $0 { return f.kind == .authenticationFailed } else { return false } })
        #expect(!h.actions.contains { if case .fallingBackToSync = $0 { return true } else { return false } })
    }

    @Test("PING replies Redis accepts, and one it does not", arguments: ["+PONG", "-NOAUTH Authentication required.", "-NOPERM this user has no permissions", "-ERR operation not permitted"])
    func pingReplies(reply: String) {
        var h = Harness()
        h.handle(.connecting(now: h.now))
        h.handle(.connected(now: h.now))
        h.feed(reply + "\r\n")
        #expect(h.link.state == .receivePortReply)
    }

    @Test("an unexpected PING error closes the connection for a retry")
    func pingError() {
        var h = Harness()
        h.handle(.connecting(now: h.now))
        h.handle(.connected(now: h.now))
        h.feed("-ERR something else\r\n")
        #expect(h.closes.map(\.kind) == [.masterError])
        #expect(h.link.state == .connect)
    }

    @Test("PSYNC with a cached position asks for offset+1")
    func psyncCached() {
        var h = Harness(position: ReplicationPosition(replid: replidA, offset: 1000, streamDB: 3))
        h.handshake()
        #expect(h.sent.suffix(cmd("PSYNC", replidA, "1001").count) == ArraySlice(cmd("PSYNC", replidA, "1001")))
    }

    @Test("+CONTINUE without a new id keeps the id; keepalive newlines before it are skipped")
    func continueSameId() {
        var h = Harness(position: ReplicationPosition(replid: replidA, offset: 1000, streamDB: 3))
        h.handshake()
        h.feed("\n\n\n+CONTINUE\r\n")
        #expect(h.link.state == .connected)
        #expect(h.actions.contains(.partialResyncAccepted(position: ReplicationPosition(replid: replidA, offset: 1000, streamDB: 3), previousReplid: replidA, newReplid: nil)))
        // The db persisted with the offset is used: no SELECT is re-sent after +CONTINUE.
        h.feed(cmd("SET", "k", "v"))
        #expect(h.appends.last?.db == 3)
        #expect(h.appends.last?.endOffset == 1000 + Int64(cmd("SET", "k", "v").count))
    }

    @Test("+CONTINUE <same id> is not a change; +CONTINUE <new id> adopts it")
    func continueNewId() {
        var h = Harness(position: ReplicationPosition(replid: replidA, offset: 50, streamDB: 0))
        h.handshake()
        h.feed("+CONTINUE \(replidA)\r\n")
        #expect(h.actions.contains(.partialResyncAccepted(position: ReplicationPosition(replid: replidA, offset: 50, streamDB: 0), previousReplid: replidA, newReplid: nil)))
        var g = Harness(position: ReplicationPosition(replid: replidA, offset: 50, streamDB: 0))
        g.handshake()
        g.feed("+CONTINUE \(replidB)\r\n")
        #expect(g.actions.contains(.partialResyncAccepted(position: ReplicationPosition(replid: replidB, offset: 50, streamDB: 0), previousReplid: replidA, newReplid: replidB)))
        #expect(g.link.position?.replid == replidB)
        // The next reconnect asks with the new id.
        g.handle(.disconnected(now: g.now))
        g.handshake()
        #expect(g.sent.suffix(cmd("PSYNC", replidB, "51").count) == ArraySlice(cmd("PSYNC", replidB, "51")))
    }

    @Test("-NOMASTERLINK and -LOADING mean retry later", arguments: ["-NOMASTERLINK Can't SYNC while not connected with my master", "-LOADING Redis is loading the dataset in memory"])
    func retryLater(reply: String) {
        var h = Harness()
        h.handshake()
        h.feed(reply + "\r\n")
        #expect(h.closes.map(\.kind) == [.masterNotReady])
        #expect(h.link.state == .connect)
    }

    @Test("any other PSYNC error falls back to SYNC")
    func syncFallback() {
        var h = Harness()
        h.handshake()
        h.feed("-ERR unknown command 'PSYNC'\r\n")
        #expect(h.actions.contains(.fallingBackToSync(reply: "-ERR unknown command 'PSYNC'")))
        #expect(h.sent.suffix(6) == ArraySlice(bytes("SYNC\r\n")))
        h.feed("$3\r\nabc")
        #expect(h.actions.contains(.beginFullSync(replid: nil, offset: 0, transfer: .sized(length: 3))))
        #expect(h.rdb == bytes("abc"))
    }

    @Test("malformed +FULLRESYNC and +CONTINUE are protocol errors", arguments: [
        "+FULLRESYNC abc 10", "+FULLRESYNC \(replidA)", "+FULLRESYNC \(replidA) -5", "+CONTINUE xyz", "what?",
    ])
    func badPsyncReplies(reply: String) {
        var h = Harness(position: ReplicationPosition(replid: replidA, offset: 1, streamDB: 0))
        h.handshake()
        h.feed(reply + "\r\n")
        #expect(h.closes.map(\.kind) == [.protocolError])
    }

    @Test("+CONTINUE in reply to PSYNC ? -1 is a protocol error")
    func continueWithoutCache() {
        var h = Harness()
        h.handshake()
        h.feed("+CONTINUE\r\n")
        #expect(h.closes.map(\.kind) == [.protocolError])
    }

    @Test("repl-timeout applies to the handshake")
    func handshakeTimeout() {
        var h = Harness(timeout: 5)
        h.handle(.connecting(now: h.now))
        h.handle(.tick(now: h.now + 5 * sec))
        #expect(h.closes.isEmpty)
        h.handle(.tick(now: h.now + 6 * sec))
        #expect(h.closes.map(\.kind) == [.timeout])
        #expect(h.link.state == .connect)
    }
}
