#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import NIOCore
import ReplicaServer
import ReplicaStore
import Testing
import TestSupport

/// A ReplicaServer in-process over an empty data directory, on a free loopback port.
final class ServerFixture {
    let dir: TemporaryDirectory
    let store: ReplicaStore
    let server: ReplicaServer

    init(password: String? = nil, maxClients: Int = 100, bind: String = "127.0.0.1",
         incompleteTimeout: TimeAmount = .seconds(30)) throws {
        dir = try TestPaths.makeTemporaryDirectory(prefix: "serve-test")
        store = try ReplicaStore.open(directory: dir.url.path, fsync: .no)
        var config = ServerConfiguration(port: 0, bindAddress: bind, password: password, maxClients: maxClients,
                                         incompleteCommandTimeout: incompleteTimeout, masterHost: "10.0.0.1", masterPort: 6379)
        config.pollInterval = .milliseconds(20)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        server = ReplicaServer(configuration: config, store: store, logger: logger, linkStatus: {
            LinkStatus(roleState: "connect", linkUp: false, syncInProgress: false, downSinceSeconds: 7)
        })
        try server.start()
    }

    var port: UInt16 { UInt16(server.boundPort) }

    func client() throws -> RedisClient { try RedisClient(port: port, timeout: 5) }

    deinit {
        server.stop()
        try? store.close()
        dir.remove()
    }
}

/// Reads until the peer closes; returns everything read.
func readToClose(_ c: RedisClient) -> [UInt8] {
    var out: [UInt8] = []
    while let chunk = try? c.readSome(), !chunk.isEmpty { out += chunk }
    return out
}

@Suite(.serialized) struct ServerCommandTests {
    @Test func connectionCommands() throws {
        let f = try ServerFixture()
        let c = try f.client()
        defer { c.close() }
        #expect(try c.command("PING") == .simple("PONG"))
        #expect(try c.command("PING", "hi") == .bulk(Array("hi".utf8)))
        #expect(try c.command("PING", "a", "b") == .error("ERR wrong number of arguments for 'ping' command"))
        #expect(try c.command("ECHO", "x y") == .bulk(Array("x y".utf8)))
        #expect(try c.command("SET", "k", "v") == .error("READONLY You can't write against a read only replica."))
        #expect(try c.command("SET", "k") == .error("ERR wrong number of arguments for 'set' command"))
        // Redis 8.2's stream deletion commands are writes, refused as a real 8.2 replica refuses them.
        #expect(try c.command("XDELEX", "s", "IDS", "1", "1-0") == .error("READONLY You can't write against a read only replica."))
        #expect(try c.command("XACKDEL", "s", "g", "IDS", "1", "1-0") == .error("READONLY You can't write against a read only replica."))
        #expect(try c.command("XDELEX", "s", "IDS", "1") == .error("ERR wrong number of arguments for 'xdelex' command"))
        // Every other write command of Redis 7.2/7.4/8.2 and Valkey 8.1/9.1 (COMMAND of each, read from the real
        // servers), with the answers of a real 8.2.3 replica: vector sets are refused whatever their arguments.
        for cmd in [["VADD", "k", "VALUES", "2", "1", "2", "e"], ["VADD"], ["VREM", "k", "e"], ["VSETATTR", "k", "e", "{}"],
                    ["DELIFEQ", "k", "v"], ["MSETEX", "1", "k", "v", "PX", "100"], ["DELEX", "k"], ["DELEX", "k", "IFEQ", "v"],
                    ["INCREX", "k"], ["XNACK", "s", "g", "c", "IDS", "1", "1-0"], ["ARSET", "a", "0", "v"],
                    ["XGROUP", "CREATE", "s", "g", "0"], ["XGROUP", "SETID", "s", "g", "0"], ["XGROUP", "DESTROY", "s", "g"],
                    ["XGROUP", "CREATECONSUMER", "s", "g", "c"], ["XGROUP", "DELCONSUMER", "s", "g", "c"],
                    ["FUNCTION", "FLUSH", "ASYNC"], ["FUNCTION", "RESTORE", "x"]] {
            #expect(try c.command(cmd) == .error("READONLY You can't write against a read only replica."), "\(cmd)")
        }
        #expect(try c.command("XGROUP", "CREATE", "s") == .error("ERR wrong number of arguments for 'xgroup|create' command"))
        #expect(try c.command("XGROUP") == .error("ERR wrong number of arguments for 'xgroup' command"))
        #expect(try c.command("FUNCTION", "LOAD") == .error("ERR wrong number of arguments for 'function|load' command"))
        #expect(try c.command("FUNCTION", "DELETE") == .error("ERR wrong number of arguments for 'function|delete' command"))
        #expect(try c.command("MSETEX", "1", "k") == .error("ERR wrong number of arguments for 'msetex' command"))
        #expect(try c.command("NOPE", "a", "b") == .error("ERR unknown command 'NOPE', with args beginning with: 'a' 'b' "))
        #expect(try c.command("SELECT", "3") == .simple("OK"))
        #expect(try c.command("SELECT", "16") == .error("ERR DB index is out of range"))
        #expect(try c.command("SELECT", "x") == .error("ERR value is not an integer or out of range"))
        #expect(try c.command("CLIENT", "GETNAME") == .bulk(nil))
        #expect(try c.command("CLIENT", "SETNAME", "a b") == .error("ERR Client names cannot contain spaces, newlines or special characters."))
        #expect(try c.command("CLIENT", "SETNAME", "tester") == .simple("OK"))
        #expect(try c.command("CLIENT", "GETNAME") == .bulk(Array("tester".utf8)))
        let id = try #require(try c.command("CLIENT", "ID").integer)
        let info = try #require(try c.command("CLIENT", "INFO").string)
        #expect(info.hasPrefix("id=\(id) addr=127.0.0.1:"))
        #expect(info.contains(" name=tester ") && info.contains(" db=3 ") && info.contains(" resp=2 "))
        #expect(try c.command("CLIENT", "LIST").string?.contains("id=\(id) ") == true)
        #expect(try c.command("CLIENT", "BOGUS") == .error("ERR unknown subcommand 'BOGUS'. Try CLIENT HELP."))
        #expect(try c.command("AUTH", "pw") == .error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"))
        let time = try #require(try c.command("TIME").array)
        #expect(time.count == 2 && abs((Int64(time[0].string ?? "") ?? 0) - Int64(Date().timeIntervalSince1970)) <= 2)
        #expect(try c.command("COMMAND", "COUNT").integer ?? 0 > 100)
        let cmdInfo = try #require(try c.command("COMMAND", "INFO", "nosuchcommand", "ping").array)
        #expect(cmdInfo.first == .bulk(nil) && cmdInfo[1].array?.first == .bulk(Array("ping".utf8)))
        #expect(try c.command("ROLE") == .array([.bulk(Array("slave".utf8)), .bulk(Array("10.0.0.1".utf8)), .integer(6379),
                                                 .bulk(Array("connect".utf8)), .integer(-1)]))
        let repl = try c.info("replication")
        #expect(repl["role"] == "slave" && repl["master_host"] == "10.0.0.1" && repl["master_port"] == "6379")
        #expect(repl["master_link_status"] == "down" && repl["master_link_down_since_seconds"] == "7")
        #expect(repl["connected_slaves"] == "0" && repl["master_repl_offset"] == "0" && repl["second_repl_offset"] == "-1")
        let all = try c.info()
        for field in ["redis_version", "connected_clients", "used_memory", "loading", "total_connections_received", "master_replid"] {
            #expect(all[field] != nil, "INFO lacks \(field)")
        }
        // RESP3 after HELLO 3: a map reply.
        try c.sendRaw(RedisClient.encode([Array("HELLO".utf8), Array("3".utf8)]))
        var hello: [UInt8] = []
        try waitFor { hello += (try? c.readSome()) ?? []; return hello.count >= 100 }
        #expect(String(decoding: hello, as: UTF8.self).hasPrefix("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"))
        #expect(try c.command("CLIENT", "GETNAME") == .bulk(Array("tester".utf8)))
        #expect(try c.command("RESET") == .simple("RESET"))
        #expect(try c.command("CLIENT", "GETNAME") == .bulk(nil))
        #expect(try c.command("QUIT") == .simple("OK"))
        #expect(readToClose(c).isEmpty)
    }

    @Test func password() throws {
        let f = try ServerFixture(password: "s3cret")
        let c = try f.client()
        defer { c.close() }
        #expect(try c.command("PING") == .error("NOAUTH Authentication required."))
        #expect(try c.command("INFO") == .error("NOAUTH Authentication required."))
        #expect(try c.command("AUTH", "wrong") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        #expect(try c.command("AUTH", "other", "s3cret") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        #expect(try c.command("HELLO", "2").description.contains("NOAUTH HELLO must be called with the client already authenticated"))
        #expect(try c.command("AUTH", "default", "s3cret") == .simple("OK"))
        #expect(try c.command("PING") == .simple("PONG"))
        #expect(try c.command("RESET") == .simple("RESET"))
        #expect(try c.command("PING") == .error("NOAUTH Authentication required."))
        #expect(try c.command("HELLO", "2", "AUTH", "default", "s3cret").array?.count == 14)
        #expect(try c.command("PING") == .simple("PONG"))
        // Before AUTH, more than 10 arguments is a protocol error, then the connection is closed.
        let d = try f.client()
        defer { d.close() }
        try d.send((0..<11).map { _ in Array("x".utf8) })
        #expect(String(decoding: readToClose(d), as: UTF8.self) == "-ERR Protocol error: unauthenticated multibulk length\r\n")
    }

    @Test func badClientsAreClosedOthersUnaffected() throws {
        let f = try ServerFixture(maxClients: 3, incompleteTimeout: .milliseconds(300))
        let good = try f.client()
        defer { good.close() }
        let garbage = try f.client()
        try garbage.sendRaw(Array("*1\r\n*1\r\n".utf8))
        #expect(String(decoding: readToClose(garbage), as: UTF8.self) == "-ERR Protocol error: expected '$', got '*'\r\n")
        garbage.close()
        let huge = try f.client()
        try huge.sendRaw(Array("*1\r\n$999999999999\r\n".utf8))
        #expect(String(decoding: readToClose(huge), as: UTF8.self) == "-ERR Protocol error: invalid bulk length\r\n")
        huge.close()
        // A command that never finishes is closed after the timeout.
        let slow = try f.client()
        try slow.sendRaw(Array("*2\r\n$4\r\nECHO\r\n$10\r\nabc".utf8))
        let started = Date()
        #expect(readToClose(slow).isEmpty)
        #expect(Date().timeIntervalSince(started) < 4)
        slow.close()
        // maxclients 3: good + two more; the fourth is refused with Redis's text.
        let c2 = try f.client(), c3 = try f.client()
        defer { c2.close(); c3.close() }
        #expect(try c2.ping() && c3.ping())
        let c4 = try f.client()
        #expect(String(decoding: readToClose(c4), as: UTF8.self) == "-ERR max number of clients reached\r\n")
        c4.close()
        #expect(try good.ping())
        #expect(try good.info("stats")["rejected_connections"] == "1")
    }

    /// Protected mode: bound to all interfaces without a password, a client from a non-loopback address
    /// gets Redis's -DENIED text and is closed.
    @Test(.enabled(if: ServerCommandTests.nonLoopbackIPv4() != nil, "no non-loopback IPv4 address on this machine"))
    func protectedMode() throws {
        let ip = try #require(ServerCommandTests.nonLoopbackIPv4())
        let f = try ServerFixture(bind: "0.0.0.0")
        let c = try RedisClient(host: ip, port: f.port, timeout: 5)
        let text = String(decoding: readToClose(c), as: UTF8.self)
        c.close()
        #expect(text.hasPrefix("-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user."))
        #expect(text.hasSuffix("the server to start accepting connections from the outside.\r\n"))
        let local = try f.client()
        defer { local.close() }
        #expect(try local.ping())
    }

    static func nonLoopbackIPv4() -> String? {
        var addrs: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&addrs) == 0, let first = addrs else { return nil }
        defer { freeifaddrs(addrs) }
        var p: UnsafeMutablePointer<ifaddrs>? = first
        while let a = p {
            if let sa = a.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET) {
                var host = [CChar](repeating: 0, count: 64)
                sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &addr, &host, 64)
                }
                let s = String(cString: host)
                if !s.hasPrefix("127.") { return s }
            }
            p = a.pointee.ifa_next
        }
        return nil
    }
}

func waitFor(_ timeout: Double = 5, _ cond: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try cond() { return }
        usleep(20_000)
    }
}

@Suite struct ServerBackpressureTests {
    /// A client that pipelines without reading is no longer read once its replies pass the high-water
    /// mark; when it reads, the rest of its commands are answered, in order.
    @Test func pipelineWithoutReading() throws {
        let f = try ServerFixture()
        let c = try f.client()
        defer { c.close() }
        let payload = String(repeating: "e", count: 10_000)
        let n = 2000   // 20 MB of ECHO replies
        var wire: [UInt8] = []
        for _ in 0..<n { wire += RedisClient.encode([Array("ECHO".utf8), Array(payload.utf8)]) }
        let bytes = wire
        let sender = Thread { try? c.sendRaw(bytes) }
        sender.start()
        usleep(500_000)
        let other = try f.client()
        defer { other.close() }
        #expect(try other.ping())
        var got = 0
        while got < n {
            guard case .bulk(let b?) = try c.readReply(), b.count == payload.utf8.count else { break }
            got += 1
        }
        #expect(got == n)
    }
}
