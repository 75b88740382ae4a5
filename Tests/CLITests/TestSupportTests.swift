// Tests of the test helpers themselves (Tests/TestSupport): real redis-server processes and the
// RESP client, against Debian's Redis 7.0 and, when installed, Redis 6.2.14.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

@Suite("TestSupport")
struct TestSupportTests {
    @Test("starts Debian's redis-server, SET/GET binary-safe, INFO, stop reaps the pid")
    func serverLifecycle() throws {
        let server = try RedisServerProcess()
        let pid = server.pid
        #expect(pid > 0)
        #expect(kill(pid, 0) == 0)
        let client = try server.client()
        #expect(try client.ping())
        let binaryValue: [UInt8] = [0, 1, 2, 0xff, 13, 10, 0x80, 65]
        #expect(try client.command([Array("SET".utf8), [0xfe, 0x00, 0x41], binaryValue]) == .simple("OK"))
        #expect(try client.command([Array("GET".utf8), [0xfe, 0x00, 0x41]]) == .bulk(binaryValue))
        #expect(try client.command("GET", "missing") == .bulk(nil))
        #expect(try client.command("INCRBY", "n", "41") == .integer(41))
        #expect(try client.command("INCR", "\u{e9}t\u{e9}") == .integer(1))
        try client.call("SET", "s", "text")
        let wrongType = try client.command("LPUSH", "s", "x")
        #expect(wrongType.isError)
        #expect(throws: RedisServerError.self) { try client.call("LPUSH", "s", "x") }

        let info = try client.info("server")
        #expect(info["redis_version"]?.hasPrefix("7.") == true)
        #expect(info["tcp_port"] == String(server.port))
        #expect(info["process_id"] == String(pid))
        let keyspace = try client.info("keyspace")
        #expect(keyspace["db0"]?.hasPrefix("keys=4,") == true)

        server.stop()
        #expect(!server.isRunning)
        #expect(server.pid == 0)
        // Reaped (not a zombie): the pid no longer exists.
        let alive = kill(pid, 0)
        let err = errno
        #expect(alive == -1 && err == ESRCH)
        #expect(throws: (any Error).self) { _ = try server.client(timeout: 1) }
    }

    @Test("nested arrays, nil arrays, pipelining and a read timeout")
    func replyShapes() throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let c = try server.client(timeout: 5)
        try c.call("RPUSH", "l", "a", "b", "")
        #expect(try c.command("LRANGE", "l", "0", "-1") == .array([.bulk(Array("a".utf8)), .bulk(Array("b".utf8)), .bulk([])]))
        // Nested: XRANGE returns [[id, [field, value]]].
        try c.call("XADD", "st", "1-1", "f", "v")
        let x = try c.command("XRANGE", "st", "-", "+")
        #expect(x == .array([.array([.bulk(Array("1-1".utf8)), .array([.bulk(Array("f".utf8)), .bulk(Array("v".utf8))])])]))
        // Null array: BLPOP timing out.
        #expect(try c.command("BLPOP", "nothing", "0.05") == .array(nil))
        // Pipelining.
        try c.send([Array("PING".utf8)])
        try c.send([Array("ECHO".utf8), [0, 0xff]])
        #expect(try c.readReply() == .simple("PONG"))
        #expect(try c.readReply() == .bulk([0, 0xff]))
        // Read timeout: no reply pending.
        try c.setTimeout(0.2)
        #expect(throws: SocketError.self) { _ = try c.readReply() }
    }

    @Test("kill9 leaves no process; restart loads the RDB from the same directory")
    func kill9AndRestart() throws {
        let server = try RedisServerProcess()
        let c = try server.client()
        try c.call("SET", "k", "v")
        try c.call("SAVE")
        c.close()
        #expect(FileManager.default.fileExists(atPath: server.rdbPath.path))
        let oldPid = server.pid
        server.kill9()
        #expect(!server.isRunning)
        try server.restart()
        #expect(server.pid != oldPid)
        #expect(try server.client().command("GET", "k") == .bulk(Array("v".utf8)))
        server.stop()
    }

    @Test("extra config arguments reach the server")
    func extraArguments() throws {
        let server = try RedisServerProcess(extraArguments: ["--maxmemory-policy", "allkeys-lfu", "--databases", "32"])
        defer { server.stop() }
        let c = try server.client()
        #expect(try c.command("CONFIG", "GET", "maxmemory-policy")
            == .array([.bulk(Array("maxmemory-policy".utf8)), .bulk(Array("allkeys-lfu".utf8))]))
        #expect(try c.command("SELECT", "31") == .simple("OK"))
        #expect(try c.command("CONFIG", "GET", "save") == .array([.bulk(Array("save".utf8)), .bulk([])]))
    }

    @Test("a bad config argument fails fast with the server's log")
    func badConfig() throws {
        #expect(throws: RedisServerProcessError.self) {
            _ = try RedisServerProcess(extraArguments: ["--no-such-option", "1"])
        }
    }

    @Test("two servers get different ports")
    func twoServers() throws {
        let a = try RedisServerProcess()
        let b = try RedisServerProcess()
        #expect(a.port != b.port)
        #expect(try a.client().ping())
        #expect(try b.client().ping())
        a.stop(); b.stop()
    }

    @Test("starts Redis 6.2.14 (REDIS_62_SERVER_BIN)",
          .enabled(if: RedisServerProcess.redis62BinaryPath != nil, "Redis 6.2 not installed: run tools/install-deps"))
    func redis62() throws {
        let path = try #require(RedisServerProcess.redis62BinaryPath)
        #expect(try RedisServerProcess.version(ofBinary: path) == "6.2.14")
        let server = try RedisServerProcess(binary: path)
        defer { server.stop() }
        let c = try server.client()
        try c.call("SET", "k", "v")
        #expect(try c.command("GET", "k") == .bulk(Array("v".utf8)))
        #expect(try c.info("server")["redis_version"] == "6.2.14")
    }

    @Test("paths: package root, fixtures, shared corpus, temp dirs")
    func paths() throws {
        #expect(FileManager.default.fileExists(atPath: TestPaths.packageRoot.appendingPathComponent("Package.swift").path))
        #expect(TestPaths.fixturesDirectory.lastPathComponent == "Fixtures")
        if let corpus = TestPaths.sharedCorpusDirectory {
            #expect(FileManager.default.fileExists(atPath: corpus.appendingPathComponent("MANIFEST.tsv").path))
        }
        var kept: URL?
        try TestPaths.withTemporaryDirectory { dir in
            kept = dir
            try Data([1, 2, 3]).write(to: dir.appendingPathComponent("f"))
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("f").path))
        }
        #expect(kept != nil && !FileManager.default.fileExists(atPath: kept!.path))
    }

    @Test("INFO parsing")
    func infoParsing() {
        let parsed = RedisClient.parseInfo("# Server\r\nredis_version:7.0.15\r\n\r\nrole:master\r\nx:a:b\r\n")
        #expect(parsed == ["redis_version": "7.0.15", "role": "master", "x": "a:b"])
    }
}

@Suite("TestSupport signals")
struct TestSupportSignalTests {
    @Test("SIGTERM reaches the server: stop() is a clean shutdown, not the SIGKILL fallback")
    func sigtermReachesServer() throws {
        let server = try RedisServerProcess()
        server.stop(timeout: 30)
        // A clean shutdown is logged by the server; after SIGKILL there is no such line.
        #expect(server.log().contains("Received SIGTERM"))
        #expect(server.log().contains("ready to exit, bye bye"))
    }
}

@Suite("Fixtures")
struct FixtureFilesTests {
    /// The committed fixtures and their JSON agree on the file-level facts, read here without any
    /// RDB parsing: size, magic, version digits, and the 8-byte trailer after the 0xFF EOF opcode.
    @Test("every Fixtures/*.rdb matches its JSON's rdb_file facts",
          arguments: ["redis-7.0", "redis-6.2", "redis-8.2", "redis-7.2", "redis-7.4", "valkey-8.1", "redis-8.10"])
    func fileFacts(folder: String) throws {
        let pairs = TestPaths.fixturePairs(server: folder)
        // 8.2 has the lean set: all-types, hash-ttl, nochecksum, lfu, empty; 7.2, 7.4 and Valkey 8.1 three; 8.10 two.
        let datasets = folder == "redis-8.2" ? 5 : folder == "redis-8.10" ? 4 : ["redis-7.2", "redis-7.4", "valkey-8.1"].contains(folder) ? 3 : 8
        #expect(pairs.count >= datasets, "expected the \(datasets) datasets in Fixtures/\(folder)")
        for (rdb, json) in pairs {
            let bytes = [UInt8](try Data(contentsOf: rdb))
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
            #expect(doc["format"] as? String == "rdb-corpus-expected/1")
            #expect(doc["dataset"] as? String == rdb.deletingPathExtension().lastPathComponent)
            let facts = try #require(doc["rdb_file"] as? [String: Any])
            #expect(facts["size"] as? Int == bytes.count, "\(rdb.lastPathComponent)")
            #expect(bytes.count >= 18)
            guard bytes.count >= 18 else { continue }
            let magic = String(decoding: bytes[0..<9], as: UTF8.self)
            #expect(facts["magic"] as? String == magic)
            #expect(facts["rdb_version"] as? Int == Int(magic.dropFirst(5)))
            #expect(facts["rdb_version"] as? Int == ["redis-7.0": 10, "redis-6.2": 9, "redis-8.2": 12, "redis-7.2": 11, "redis-7.4": 12, "valkey-8.1": 11, "redis-8.10": 15][folder])
            #expect(bytes[bytes.count - 9] == 0xFF, "\(rdb.lastPathComponent): no EOF opcode before the checksum")
            var le: UInt64 = 0
            for (i, b) in bytes.suffix(8).enumerated() { le |= UInt64(b) << (8 * UInt64(i)) }
            let hex = String(le, radix: 16)
            #expect(facts["checksum"] as? String == String(repeating: "0", count: 16 - hex.count) + hex)
            let isNoChecksum = rdb.lastPathComponent == "nochecksum.rdb"
            #expect((le == 0) == isNoChecksum, "\(rdb.lastPathComponent): checksum \(hex)")
        }
    }
}
