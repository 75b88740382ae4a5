import Base
import Foundation
import RDB
import Testing
import TestSupport
@testable import ReplicaStore

/// Against a real redis-server 7.0 (and 6.2 when tools/install-deps fetched it): take the master's
/// full-sync RDB over a raw replica handshake, check that its AUX `repl-id`/`repl-offset` equal the
/// `+FULLRESYNC` position, store it, record stream bytes, reopen, and get `+CONTINUE` for the stored
/// position from the master.
@Suite(.serialized) struct RealServerTests {
    /// A raw replica connection: handshake, PSYNC, the RDB payload.
    struct FullSync {
        var replid: String
        var offset: Int64
        var rdb: [UInt8]
    }

    static func handshake(_ c: RedisClient) throws {
        let r = try c.call("REPLCONF", "capa", "eof", "capa", "psync2")
        #expect(r.string == "OK")
    }

    /// Reads a line, skipping the bare "\n" keepalives a master sends while preparing the RDB.
    static func line(_ c: RedisClient) throws -> String {
        while true {
            var l = try c.readLine()
            while l.first == 10 { l.removeFirst() }
            if !l.isEmpty { return String(decoding: l, as: UTF8.self) }
        }
    }

    static func fullSync(_ server: RedisServerProcess) throws -> (RedisClient, FullSync) {
        let c = try server.client(timeout: 30)
        try handshake(c)
        try c.sendRaw(Array("PSYNC ? -1\r\n".utf8))
        let reply = try line(c)
        let parts = reply.split(separator: " ")
        try #require(parts.count == 3 && parts[0] == "+FULLRESYNC", "reply \(reply)")
        let id = String(parts[1])
        let off = try #require(Int64(parts[2]))
        let pre = try line(c)
        let rdb: [UInt8]
        if pre.hasPrefix("$EOF:") {
            let mark = Array(pre.utf8.dropFirst(5))
            var got: [UInt8] = []
            while got.count < mark.count || Array(got.suffix(mark.count)) != mark { got += try c.readSome() }
            rdb = Array(got.dropLast(mark.count))
        } else {
            let len = try #require(Int(pre.dropFirst()), "preamble \(pre)")
            rdb = try c.readExactly(len)
        }
        return (c, FullSync(replid: id, offset: off, rdb: rdb))
    }

    static func masterOffset(_ c: RedisClient) throws -> Int64 {
        try #require(Int64(try c.info("replication")["master_repl_offset"] ?? ""))
    }

    /// The whole loop against one server binary.
    static func resumeAfterRestart(binary: String, diskless: Bool) throws {
        let server = try RedisServerProcess(binary: binary, extraArguments: [
            "--repl-diskless-sync", diskless ? "yes" : "no", "--repl-diskless-sync-delay", "0",
        ])
        defer { server.stop() }
        let admin = try server.client()
        for i in 0..<50 { _ = try admin.call("SET", "k\(i)", String(repeating: "x", count: i)) }
        // A first replica creates the backlog, so the next full sync starts at a non-zero offset.
        let (first, _) = try fullSync(server)
        _ = try admin.call("SELECT", "2")
        for i in 0..<20 { _ = try admin.call("RPUSH", "list", "item\(i)") }
        first.close()

        let (link, sync) = try fullSync(server)
        #expect(sync.offset > 0)
        // The RDB carries the FULLRESYNC position in its AUX fields.
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var store = try ReplicaStore.open(directory: dir, fsync: .always)
        let w = try store.beginFullSync(replid: sync.replid, offset: sync.offset)
        try w.write(sync.rdb)
        try w.finish()
        let snap = try store.publish(w)
        let aux = try #require(snap.aux, "the full-sync RDB has no repl AUX fields")
        #expect(aux.replid == sync.replid)
        #expect(aux.offset == sync.offset)
        // repl-stream-db is the db the master last propagated to (the first replica saw SELECT 2);
        // the master forces a SELECT before the next command after a full sync anyway.
        #expect(aux.streamDB == 2)
        #expect(store.position == ReplicationPosition(replid: sync.replid, offset: sync.offset, streamDB: aux.streamDB ?? 0))

        // Stream: writes to db 3; read exactly what the master's offset says was sent.
        _ = try admin.call("SELECT", "3")
        for i in 0..<30 { _ = try admin.call("SET", "s\(i)", "v\(i)") }
        _ = try admin.call("INCR", "counter")
        let target = try masterOffset(admin)
        // After a diskless transfer the master streams only once a REPLCONF ACK arrives after it has
        // reaped the RDB child (an earlier ACK is ignored); real replicas ACK every second, so do we.
        try link.setTimeout(1)
        var received: [UInt8]?
        for _ in 0..<30 where received == nil {
            try link.sendRaw(RedisClient.encode([Array("REPLCONF".utf8), Array("ACK".utf8), Array(String(sync.offset).utf8)]))
            received = try? link.readExactly(Int(target - sync.offset))
        }
        let stream = try #require(received, "the master did not stream after REPLCONF ACK")
        #expect(stream.starts(with: Array("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n".utf8)))
        try store.append(stream, streamDB: 3)
        link.close()
        try store.close()

        // "Restart": reopen the directory and resume with PSYNC id offset+1.
        store = try reopen(directory: dir, fsync: .always)
        let pos = try #require(store.position)
        #expect(pos == ReplicationPosition(replid: sync.replid, offset: target, streamDB: 3))
        try store.close()
        let again = try server.client(timeout: 30)
        try handshake(again)
        try again.sendRaw(Array("PSYNC \(pos.replid) \(pos.psyncOffset)\r\n".utf8))
        let reply = try line(again)
        #expect(reply.hasPrefix("+CONTINUE"), "master answered \(reply)")
        again.close()
    }

    @Test func redis70DiskSyncAuxEqualsFullResyncAndResumes() throws {
        try Self.resumeAfterRestart(binary: RedisServerProcess.defaultBinaryPath, diskless: false)
    }

    @Test func redis70DisklessSyncAuxEqualsFullResyncAndResumes() throws {
        try Self.resumeAfterRestart(binary: RedisServerProcess.defaultBinaryPath, diskless: true)
    }

    @Test(.enabled(if: RedisServerProcess.redis62BinaryPath != nil,
                   "no Redis 6.2 binary (set REDIS_62_SERVER_BIN or run tools/install-deps)"))
    func redis62AuxEqualsFullResyncAndResumes() throws {
        let bin = try #require(RedisServerProcess.redis62BinaryPath)
        try Self.resumeAfterRestart(binary: bin, diskless: false)
    }

    /// While another client writes as fast as it can, every full sync's AUX repl-offset still equals the
    /// FULLRESYNC offset (the fork and the reply happen in the same event-loop step).
    @Test func auxEqualsFullResyncUnderConcurrentWrites() throws {
        let server = try RedisServerProcess(extraArguments: ["--repl-diskless-sync", "no"])
        defer { server.stop() }
        let stop = ManagedAtomicFlag()
        let finished = DispatchSemaphore(value: 0)
        let port = server.port
        let load = WriteLoadResult()
        let writer = Thread {
            defer { finished.signal() }
            do {
                let c = try RedisClient(port: port)
                defer { c.close() }
                var i = 0
                while !stop.isSet && i < 200_000 {
                    let reply = try c.call("SET", "w\(i % 1000)", String(i))
                    guard reply.string == "OK" else { throw WriteLoadResult.Unexpected(reply: "\(reply)") }
                    i += 1
                    load.wrote()
                }
            } catch {
                load.failed(error)
            }
        }
        writer.start()
        var stopped = false
        func stopWriter() {
            guard !stopped else { return }
            stopped = true
            stop.set()
            finished.wait()
        }
        defer { stopWriter() }
        for _ in 0..<4 {
            let (c, sync) = try Self.fullSync(server)
            let fs = SimulatedFileSystem()
            let store = try ReplicaStore.open(directory: "/d", fsync: .always, fileSystem: fs, options: noBackground())
            let snap = try ReplicaStore_TestPublish(store, sync.replid, sync.offset, sync.rdb)
            #expect(snap.aux?.replid == sync.replid)
            #expect(snap.aux?.offset == sync.offset)
            try store.close()
            c.close()
        }
        let writesDuringSyncs = load.writes
        stopWriter()
        #expect(load.error == nil, "the write load failed: \(load.error.map { "\($0)" } ?? "")")
        #expect(writesDuringSyncs > 0, "no write ran while the full syncs were taken")
    }
}

/// What the write-load thread did: how many SETs succeeded, and the error that stopped it, if any.
final class WriteLoadResult: @unchecked Sendable {
    struct Unexpected: Error { var reply: String }
    private let lock = NSLock()
    private var count = 0
    private var firstError: Error?
    var writes: Int { lock.lock(); defer { lock.unlock() }; return count }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return firstError }
    func wrote() { lock.lock(); count += 1; lock.unlock() }
    func failed(_ e: Error) { lock.lock(); if firstError == nil { firstError = e }; lock.unlock() }
}

func ReplicaStore_TestPublish(_ store: ReplicaStore, _ id: String, _ off: Int64, _ rdb: [UInt8]) throws -> SnapshotRecord {
    try fullSync(store, replid: id, offset: off, rdb: rdb)
}

final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
