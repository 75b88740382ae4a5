// Helpers for the follow integration tests: the built `redis-replica` binary as a child process,
// an independent raw replica connection that records the master's stream, and a background writer.
#if canImport(Glibc)
import Base
import Glibc
#endif
import Foundation
import ReplicaStore
import TestSupport

enum ReplicaBinary {
    /// `$REDIS_REPLICA_BIN`, else `redis-replica` next to the test bundle, else `<root>/.build/debug`.
    static func path() throws -> String {
        if let env = ProcessInfo.processInfo.environment["REDIS_REPLICA_BIN"], !env.isEmpty { return env }
        var candidates: [URL] = []
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        var dir = argv0.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("redis-replica"))
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(TestPaths.packageRoot.appendingPathComponent(".build/debug/redis-replica"))
        for c in candidates where FileManager.default.isExecutableFile(atPath: c.path) { return c.path }
        throw HarnessError("redis-replica binary not found (looked in \(candidates.map(\.path))); run `swift build` first")
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Polls `condition` every 50 ms until it is true or `timeout` seconds pass.
func waitUntil(_ timeout: Double, _ what: String, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(50_000)
    }
    throw HarnessError("timed out after \(timeout) s waiting for \(what)")
}

/// `redis-replica follow` running as a child process with its log in a file.
final class Follower {
    let master: RedisServerProcess
    let dir: String
    let logURL: URL
    let listeningPort: Int
    var extra: [String]
    var environment: [String: String]?
    private(set) var process: Process?

    init(master: RedisServerProcess, dir: String, listeningPort: Int, extra: [String] = [], environment: [String: String]? = nil) {
        self.master = master
        self.dir = dir
        self.listeningPort = listeningPort
        self.extra = extra
        self.environment = environment
        logURL = URL(fileURLWithPath: dir + ".follow.log")
    }

    func start(masterPort: UInt16? = nil) throws {
        // A negative listeningPort omits --listening-port (follow then announces --port, or its failover guard).
        let announce = listeningPort >= 0 ? ["--listening-port", String(listeningPort)] : []
        let args = ["follow", "--master", "127.0.0.1:\(masterPort ?? master.port)", "--dir", dir,
                    "--repl-timeout", "20"] + announce + extra
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "REDIS_REPLICA_MASTERAUTH")
        if let environment { env.merge(environment) { $1 } }
        process = try ChildProcess.start(try ReplicaBinary.path(), args, environment: env, outputPath: logURL)
    }

    /// A follower of `master` in a new temporary directory, serving reads on a free port (`--port`, also
    /// announced as its listening port), started. The caller stops it, then removes the directory.
    static func startServing(_ master: RedisServerProcess, extra: [String] = []) throws
        -> (follower: Follower, port: UInt16, tmp: TemporaryDirectory) {
        let tmp = try TestPaths.makeTemporaryDirectory()
        do {
            let port = try FreePort.allocate()
            let follower = Follower(master: master, dir: tmp.file("data").path, listeningPort: Int(port),
                                    extra: ["--port", String(port)] + extra)
            try follower.start()
            return (follower, port, tmp)
        } catch {
            tmp.remove()
            throw error
        }
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard let p = process else { return -1 }
        process = nil
        let r = ChildProcess.terminate(p, timeout: 20)
        return r.reason == .exit ? r.status : 128 + r.status
    }

    func kill9() {
        guard let p = process else { return }
        process = nil
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// Waits for the process to exit by itself; returns its exit status.
    func waitForExit(timeout: Double) throws -> Int32 {
        guard let p = process else { return -1 }
        try waitUntil(timeout, "follow to exit") { !p.isRunning }
        process = nil
        return p.terminationStatus
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    func count(_ needle: String) -> Int { log.components(separatedBy: needle).count - 1 }

    /// The master's view of this replica: `offset` from `slaveN:...,port=<listeningPort>,state=online,offset=N`.
    func ackedOffset(info: [String: String]) -> Int64? {
        for (k, v) in info where k.hasPrefix("slave") && v.contains("port=\(listeningPort),") {
            guard v.contains("state=online") else { return nil }
            for part in v.split(separator: ",") where part.hasPrefix("offset=") {
                return Int64(part.dropFirst(7))
            }
        }
        return nil
    }

    /// Waits until the follower reports a streaming link (its snapshot is published) and the master's
    /// `master_repl_offset` equals what this replica has ACKed; returns it.
    ///
    /// The follower's own state matters: a diskless master marks the replica online with ACK offset 0 as soon
    /// as its RDB child finishes writing, while the bytes may still be in flight, and `master_repl_offset` can
    /// be 0 too, so the master's view alone can look "caught up" in the middle of the transfer.
    @discardableResult
    func waitCaughtUp(timeout: Double = 30) throws -> Int64 {
        let client = try master.client()
        var offset: Int64 = -1
        try waitUntil(timeout, "the replica to catch up (log: \(logURL.path))") {
            guard FollowerState.read(directory: dir)?.link == .streaming else { return false }
            let info = try client.info("replication")
            guard let m = info["master_repl_offset"].flatMap({ Int64($0) }), let a = ackedOffset(info: info) else { return false }
            offset = m
            return a == m
        }
        return offset
    }
}

/// Reads a stopped follower's data directory.
struct StoredState {
    var position: ReplicationPosition?
    var replid2: String?
    var logStart: Int64?
    var log: [UInt8]
    var snapshotSize: Int64?

    static func read(_ dir: String) throws -> StoredState {
        // A redis-server being spawned by a parallel test holds a copy of the LOCK descriptor until
        // its exec (O_CLOEXEC): retry `.locked` briefly, nothing else.
        let deadline = Date().addingTimeInterval(5)
        var opened: ReplicaStore?
        while opened == nil {
            do {
                opened = try ReplicaStore.open(directory: dir, fsync: .no)
            } catch let e as StoreError where e.code == .locked && Date() < deadline {
                usleep(10_000)
            }
        }
        let store = opened!
        defer { try? store.close() }
        var bytes: [UInt8] = []
        var start: Int64?
        try store.forEachLogRecord { e in
            if start == nil { start = e.startOffset }
            bytes += e.payload
            return true
        }
        let m = store.currentManifest
        return StoredState(position: store.position, replid2: store.replid2?.replid,
                           logStart: start ?? m?.snapshot.offset, log: bytes, snapshotSize: m?.snapshot.size)
    }
}

extension StoredState {
    /// Whether the stored position is `offset`, the master's offset when the follower had caught up,
    /// or past it by master PINGs only: a master sends `PING` every repl-ping-replica-period (10 s) even
    /// when no client writes, so one can land between the catch-up check and the follower's stop.
    func isAt(caughtUp offset: Int64) -> Bool {
        guard let end = position?.offset, end >= offset else { return false }
        let ping = Array("*1\r\n$4\r\nPING\r\n".utf8)
        let extra = Int(end - offset)
        guard extra % ping.count == 0, extra <= log.count else { return false }
        return log.suffix(extra).elementsEqual(repeatElement(ping, count: extra / ping.count).joined())
    }

    /// The log without the trailing PINGs that `isAt(caughtUp:)` allows past `offset`.
    func log(upTo offset: Int64) -> [UInt8] {
        guard let end = position?.offset, end >= offset, Int(end - offset) <= log.count else { return log }
        return Array(log.dropLast(Int(end - offset)))
    }
}

/// The dataset of a master at a moment when no writes run (between loading it and the full sync):
/// what the stored snapshot must hold.
struct QuietDataset {
    var digest: String
    var keys: Int
    var binary: String

    static func of(_ master: RedisServerProcess) throws -> QuietDataset {
        let c = try master.client(timeout: 120)
        defer { c.close() }
        var keys = 0
        for (_, value) in try c.info("keyspace") {
            for part in value.split(separator: ",") where part.hasPrefix("keys=") { keys += Int(part.dropFirst(5)) ?? 0 }
        }
        return QuietDataset(digest: try master.debugDigest(), keys: keys, binary: master.binaryPath)
    }

    /// Checks the follower's stored snapshot without the follower or this project's reader: the
    /// master version's own redis-check-rdb accepts it, and a fresh server of that version loading it
    /// has the master's DEBUG DIGEST and key count.
    func expectStored(in dir: String) throws -> [String] {
        // Read-only (ReplicaStore.inspect, as `status` does): works while follow runs.
        guard let file = try ReplicaStore.inspect(directory: dir).snapshot?.file else { return ["no snapshot in the manifest"] }
        let path = dir + "/" + file
        var problems: [String] = []
        let url = URL(fileURLWithPath: path)
        let (status, output) = try RedisServerProcess.checkRDB(url, binary: RedisServerProcess.checkRDBBinary(for: binary))
        if status != 0 || !output.contains("RDB looks OK") { problems.append("redis-check-rdb: status \(status): \(output)") }
        let loaded = try RedisServerProcess.loadedDigest(of: url, binary: binary)
        if loaded.digest != digest { problems.append("loaded DEBUG DIGEST \(loaded.digest), master had \(digest)") }
        if loaded.keys != keys { problems.append("loaded \(loaded.keys) keys, master had \(keys)") }
        return problems
    }
}

/// An independent replica connection (`PSYNC ? -1` without `capa eof`, so the RDB is disk-based) that skips
/// the RDB and records every stream byte, ACKing once a second so the master keeps it.
final class StreamRecorder: @unchecked Sendable {
    let client: RedisClient
    /// The FULLRESYNC offset: the first recorded byte is `startOffset + 1`.
    let startOffset: Int64
    let replid: String
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var running = true
    private var thread: Thread?

    init(port: UInt16) throws {
        client = try RedisClient(port: port, timeout: 30)
        try client.sendRaw(RedisClient.encode([Array("PSYNC".utf8), Array("?".utf8), Array("-1".utf8)]))
        var line = try client.readLine()
        while line.first == 10 { line.removeFirst() }
        let parts = String(decoding: line, as: UTF8.self).split(separator: " ")
        guard parts.count == 3, parts[0] == "+FULLRESYNC", let off = Int64(parts[2]) else {
            throw HarnessError("unexpected PSYNC reply \(String(decoding: line, as: UTF8.self))")
        }
        replid = String(parts[1])
        startOffset = off
        var pre = try client.readLine()
        while pre.first == 10 { pre.removeFirst() }
        guard pre.first == UInt8(ascii: "$"), let len = Int(String(decoding: pre.dropFirst(), as: UTF8.self)) else {
            throw HarnessError("unexpected RDB preamble \(String(decoding: pre, as: UTF8.self))")
        }
        var left = len
        while left > 0 {
            let chunk = try client.readExactly(min(left, 1 << 20))
            left -= chunk.count
        }
        try client.setTimeout(0.2)
        let t = Thread { [self] in self.loop() }
        thread = t
        t.start()
    }

    private func loop() {
        var lastAck = Date()
        while lock.withLock({ running }) {
            if let chunk = try? client.readSome() {
                lock.withLock { bytes += chunk }
            }
            if Date().timeIntervalSince(lastAck) >= 1 {
                lastAck = Date()
                let off = lock.withLock { startOffset + Int64(bytes.count) }
                try? client.sendRaw(RedisClient.encode(["REPLCONF", "ACK", String(off)].map { Array($0.utf8) }))
            }
        }
    }

    /// Stream bytes recorded so far.
    var recorded: [UInt8] { lock.withLock { bytes } }

    /// Waits until the recording reaches master offset `end`, then returns the bytes of offsets (from, end].
    func range(from: Int64, to end: Int64, timeout: Double = 20) throws -> [UInt8] {
        try waitUntil(timeout, "the recorder to reach offset \(end)") {
            lock.withLock { startOffset + Int64(bytes.count) >= end }
        }
        guard from >= startOffset else { throw HarnessError("recording starts at \(startOffset + 1), after \(from + 1)") }
        return lock.withLock { Array(bytes[Int(from - startOffset)..<Int(end - startOffset)]) }
    }

    func stop() {
        lock.withLock { running = false }
        while thread?.isExecuting == true { usleep(10_000) }
        client.close()
    }
}

/// Writes to the master from a background thread until stopped: SETs across dbs, MULTI/EXEC, INCR,
/// EXPIRE, PUBLISH; deterministic from its seed.
final class BackgroundWriter: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private var count = 0
    private var thread: Thread?
    private var failure: Error?

    /// Commands written so far.
    var commands: Int { lock.withLock { count } }

    /// Waits (polling, with a deadline) until `n` more commands than now have been written: a
    /// stretch of stream the test can rely on, instead of a fixed sleep.
    func waitForMore(_ n: Int, timeout: Double = 20) throws {
        let target = commands + n
        try waitUntil(timeout, "\(n) more commands from the background writer") {
            if let failure = lock.withLock({ self.failure }) { throw failure }
            return commands >= target
        }
    }

    init(port: UInt16, seed: UInt64) throws {
        let client = try RedisClient(port: port)
        let t = Thread { [self] in
            var rng = SeededRandom(seed: seed)
            var n = 0
            while lock.withLock({ running }) {
                do {
                    let k = rng.next() % 5000
                    switch rng.next() % 10 {
                    case 0: try client.call("SELECT", String(rng.next() % 4))
                    case 1:
                        try client.call("MULTI")
                        try client.call("SET", "m:\(k)", "v\(n)")
                        try client.call("INCR", "counter")
                        try client.call("EXEC")
                    case 2: try client.call("EXPIRE", "key:\(k)", "1000")
                    case 3: try client.call("PUBLISH", "chan", "msg\(n)")
                    case 4: try client.call("LPUSH", "list:\(k % 10)", String(repeating: "x", count: Int(rng.next() % 200)))
                    default: try client.call("SET", "key:\(k)", "value-\(n)-\(rng.next())")
                    }
                    n += 1
                    lock.withLock { count = n }
                    if n % 50 == 0 { usleep(1000) }
                } catch {
                    lock.withLock { failure = error; running = false }
                }
            }
            client.close()
        }
        thread = t
        t.start()
    }

    func stop() throws {
        lock.withLock { running = false }
        while thread?.isExecuting == true { usleep(10_000) }
        if let failure { throw failure }
    }
}

extension RedisServerProcess {
    func stat(_ name: String) throws -> Int64 {
        let c = try client()
        defer { c.close() }
        return Int64(try c.info("stats")[name] ?? "") ?? -1
    }

    func replicationInfo() throws -> [String: String] {
        let c = try client()
        defer { c.close() }
        return try c.info("replication")
    }
}

extension NSLock {
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
