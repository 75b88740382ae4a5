import Base
@testable import CLI
import Foundation
import Keyspace
import RDB
import ReplicaStore
import Testing
import TestSupport

/// `redis-replica snapshot`'s dataset builder on a data directory made here: a base snapshot and a log of
/// known commands (SELECTs, MULTI/EXEC, records holding several commands), checked at every offset.
@Suite("snapshot: the dataset at a position")
struct SnapshotDatasetTests {
    static let replid = "0123456789abcdef0123456789abcdef01234567"
    static let baseOffset: Int64 = 1000
    static let now: Int64 = 1_700_000_000_000

    static func resp(_ words: [String]) -> [UInt8] {
        var out = Array("*\(words.count)\r\n".utf8)
        for w in words { out += Array("$\(w.utf8.count)\r\n\(w)\r\n".utf8) }
        return out
    }

    /// The log, as records of commands (each record ends outside MULTI, as the store's records do).
    static let records: [[[String]]] = [
        [["SELECT", "1"], ["SET", "a", "1"], ["SET", "b", "2"]],
        [["PING"]],
        [["MULTI"], ["SET", "c", "3"], ["INCR", "n"], ["SELECT", "2"], ["RPUSH", "l", "x", "y"], ["EXEC"]],
        [["SET", "in2", "v"], ["SELECT", "0"], ["DEL", "base"], ["HSET", "h", "f", "v"]],
        [["SELECT", "3"], ["SADD", "s", "m1", "m2"], ["ZADD", "z", "1.5", "m"], ["PEXPIREAT", "s", "4102444800000"]],
    ]

    /// The base keyspace: one key in db 0 and one in db 5.
    static func baseKeyspace() -> Keyspace {
        var a = ReplicaApplier()
        a.apply([Array("SET".utf8), Array("base".utf8), Array("0".utf8)], at: 0, nowMs: now)
        a.apply([Array("SELECT".utf8), Array("5".utf8)], at: 0, nowMs: now)
        a.apply([Array("SET".utf8), Array("five".utf8), Array("5".utf8)], at: 0, nowMs: now)
        return a.keyspace
    }

    /// Makes a directory with the base snapshot (repl-stream-db 4) and `records` (plus `extra` records).
    static func makeDirectory(extra: [[[String]]] = []) throws -> (TemporaryDirectory, String, end: Int64) {
        let tmp = try TemporaryDirectory(prefix: "snapshot-dataset")
        let dir = tmp.file("data").path
        let store = try ReplicaStore.open(directory: dir, fsync: .no, options: .init(segmentSize: 150, backgroundSync: false))
        defer { try? store.close() }
        let rdb = try baseKeyspace().rdbBytes(aux: RDBAuxInfo(replication: ReplicationPosition(replid: replid, offset: baseOffset, streamDB: 4)))
        let w = try store.beginFullSync(replid: replid, offset: baseOffset)
        try w.write(rdb)
        try store.publish(w)
        var end = baseOffset
        for record in records + extra {
            end = try store.append(record.flatMap(resp), streamDB: 0)
        }
        return (tmp, dir, end)
    }

    /// The expected dataset at each boundary, computed from the command list (not from the log).
    static func expected() -> [(offset: Int64, keyspace: Keyspace, db: Int)] {
        var a = ReplicaApplier(keyspace: baseKeyspace(), selectedDB: 4)
        var offset = baseOffset
        var out = [(baseOffset, a.keyspace, 4)]
        for record in records {
            for c in record {
                offset += Int64(resp(c).count)
                a.apply(c.map { Array($0.utf8) }, at: offset, nowMs: now)
                if !a.inTransaction { out.append((offset, a.keyspace, a.selectedDB)) }
            }
        }
        return out
    }

    @Test("at every offset from the snapshot's to the end: the last boundary outside MULTI at or before it")
    func everyOffset() throws {
        let (tmp, dir, end) = try Self.makeDirectory()
        defer { tmp.remove() }
        let boundaries = Self.expected()
        #expect(boundaries.last?.offset == end)
        // Inside the MULTI of the third record, the boundary stays before MULTI.
        #expect(boundaries.count == Self.records.flatMap { $0 }.count - 5 + 1)
        for target in Self.baseOffset...end {
            let d = try DatasetAtPosition.build(directory: dir, atOffset: target, nowMs: Self.now)
            let want = boundaries.last { $0.offset <= target }!
            #expect(d.position == ReplicationPosition(replid: Self.replid, offset: want.offset, streamDB: want.db), "at \(target)")
            #expect(d.keyspace == want.keyspace, "at \(target)")
            #expect(d.directoryEnd == end)
        }
        let latest = try DatasetAtPosition.build(directory: dir, nowMs: Self.now)
        #expect(latest.position.offset == end)
        #expect(latest.position.streamDB == 3)
        #expect(latest.keyspace[3, Array("s".utf8)]?.expireAtMs == 4_102_444_800_000)
        #expect(latest.keyspace[0, Array("base".utf8)] == nil)
        #expect(latest.keyspace[1, Array("n".utf8)] != nil)
    }

    @Test("offsets before the snapshot or past the end are errors naming both offsets")
    func outOfRange() throws {
        let (tmp, dir, end) = try Self.makeDirectory()
        defer { tmp.remove() }
        let before = #expect(throws: SnapshotBuildError.self) { try DatasetAtPosition.build(directory: dir, atOffset: 999) }
        #expect(before?.code == .beforeSnapshot)
        #expect(before?.message.contains("999") == true && before?.message.contains("1000") == true)
        let past = #expect(throws: SnapshotBuildError.self) { try DatasetAtPosition.build(directory: dir, atOffset: end + 1) }
        #expect(past?.code == .pastEnd)
        #expect(past?.message.contains("\(end + 1)") == true && past?.message.contains("\(end)") == true)
    }

    @Test("a diverged dataset is refused, naming the offset and the command; an offset before it still works")
    func diverged() throws {
        let (tmp, dir, end) = try Self.makeDirectory(extra: [[["SELECT", "1"], ["LPUSH", "a", "x"]], [["SET", "later", "1"]]])
        defer { tmp.remove() }
        let e = #expect(throws: SnapshotBuildError.self) { try DatasetAtPosition.build(directory: dir) }
        #expect(e?.code == .diverged)
        let bad = Self.expected().last!.offset + Int64(Self.resp(["SELECT", "1"]).count + Self.resp(["LPUSH", "a", "x"]).count)
        #expect(e?.message.contains("offset \(bad)") == true, "\(e?.message ?? "")")
        #expect(e?.message.contains("LPUSH") == true)
        #expect(end > bad)
        let ok = try DatasetAtPosition.build(directory: dir, atOffset: bad - 1)
        #expect(ok.position.offset == bad - Int64(Self.resp(["LPUSH", "a", "x"]).count))
        // Nothing is written from it.
        let out = tmp.file("out.rdb").path
        let r = try CLIRunner.run(["snapshot", "--dir", dir, "--out", out])
        #expect(r.status == 1)
        #expect(r.stderr.contains("diverged") && r.stderr.contains("LPUSH"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// Every file name and its bytes.
    static func contents(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        }
        return out
    }

    @Test("read-only: no lock taken and no file changed; works while a writer holds the directory open")
    func readOnly() throws {
        let (tmp, dir, end) = try Self.makeDirectory()
        defer { tmp.remove() }
        let view = try StoreReadView.open(directory: dir)
        // The writer's lock is free while the view is open, and the writer appends meanwhile.
        let store = try ReplicaStore.open(directory: dir, fsync: .no, options: .init(backgroundSync: false))
        let out = tmp.file("live.rdb").path
        let r = try CLIRunner.run(["snapshot", "--dir", dir, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let newEnd = try store.append(Self.resp(["SET", "while", "open"]), streamDB: 3)
        #expect(view.position.offset == end)
        view.close()
        let d = try DatasetAtPosition.build(directory: dir)
        #expect(d.position.offset == newEnd)
        #expect(d.keyspace[3, Array("while".utf8)] != nil)
        try store.close()
        let written = try Keyspace.load(rdb: Array(try Data(contentsOf: URL(fileURLWithPath: out))))
        #expect(try written == DatasetAtPosition.build(directory: dir, atOffset: end).keyspace)
        // With the writer gone: building and the command change no file and leave none behind.
        let before = try Self.contents(dir)
        let again = try DatasetAtPosition.build(directory: dir)
        #expect(again.position.offset == newEnd)
        #expect(try CLIRunner.run(["snapshot", "--dir", dir, "--out", tmp.file("stopped.rdb").path]).status == 0)
        #expect(try Self.contents(dir) == before)
    }

    @Test("RDB output: the position in the AUX fields, the version chosen, an existing file refused without --force")
    func rdbOutput() throws {
        let (tmp, dir, end) = try Self.makeDirectory()
        defer { tmp.remove() }
        let out = tmp.file("out.rdb").path
        var r = try CLIRunner.run(["snapshot", "--dir", dir, "--out", out, "--rdb-version", "9"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("offset \(end)"))
        let reader = try RDBReader(path: out)
        var aux: [String: String] = [:]
        var header: RDBHeader?
        var loader = KeyspaceLoader()
        while let rec = try reader.next() {
            if case .header(let h) = rec { header = h }
            if case .aux(let k, let v) = rec { aux[String(decoding: k, as: UTF8.self)] = String(decoding: v, as: UTF8.self) }
            try loader.consume(rec)
        }
        #expect(header?.version == 9)
        #expect(aux["repl-id"] == Self.replid)
        #expect(aux["repl-offset"] == String(end))
        #expect(aux["repl-stream-db"] == "3")
        #expect(loader.keyspace == (try DatasetAtPosition.build(directory: dir)).keyspace)
        r = try CLIRunner.run(["snapshot", "--dir", dir, "--out", out, "--at-offset", "1000"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("already exists"))
        r = try CLIRunner.run(["snapshot", "--dir", dir, "--out", out, "--at-offset", "1000", "--force"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Keyspace.load(rdb: Array(try Data(contentsOf: URL(fileURLWithPath: out)))) == Self.baseKeyspace())
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.url.path).filter { $0.contains(".tmp") }.isEmpty)
        r = try CLIRunner.run(["snapshot", "--dir", dir, "--out", out, "--force", "--at-offset", "5"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("before the base snapshot's offset 1000"))
    }

    static var sqlite3: String? {
        ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test("SQLite output records the position in meta", .enabled(if: sqlite3 != nil, "sqlite3 shell not installed"))
    func sqliteOutput() throws {
        let (tmp, dir, end) = try Self.makeDirectory()
        defer { tmp.remove() }
        let out = tmp.file("out.db").path
        let at = Self.expected()[3].offset
        let r = try CLIRunner.run(["snapshot", "--dir", dir, "--out", out, "--format", "sqlite", "--at-offset", String(at + 1)])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(at < end)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.sqlite3!)
        p.arguments = ["-readonly", out,
                       "SELECT key || '=' || value FROM meta WHERE key IN ('repl_id','repl_offset','repl_stream_db') ORDER BY key; SELECT count(*) FROM keys;"]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let want = Self.expected()[3]
        #expect(text == "repl_id=\(Self.replid)\nrepl_offset=\(at)\nrepl_stream_db=\(want.db)\n\(want.keyspace.keyCount)\n")
    }

    /// A log with clock records: a 6.2 master's relative TTLs are made absolute at their arrival time, not
    /// at the time the snapshot is built.
    @Test func relativeTTLsUseTheirArrivalTime() throws {
        let tmp = try TemporaryDirectory(prefix: "snapshot-arrival")
        let dir = tmp.file("data").path
        let clock = ArrivalClock()
        var options = ReplicaStore.Options(segmentSize: 150, backgroundSync: false)
        options.clock = { clock.read() }
        options.recordArrivalTime = true
        let store = try ReplicaStore.open(directory: dir, fsync: .no, options: options)
        let rdb = try Keyspace().rdbBytes(aux: RDBAuxInfo(replication: ReplicationPosition(replid: Self.replid, offset: Self.baseOffset, streamDB: 0)))
        let w = try store.beginFullSync(replid: Self.replid, offset: Self.baseOffset)
        try w.write(rdb)
        try store.publish(w)
        clock.set(Self.now)
        let first = try store.append(Self.resp(["SETEX", "a", "100", "v"]), streamDB: 0)
        clock.set(Self.now + 7000)
        try store.append(Self.resp(["SET", "b", "v", "PX", "500"]), streamDB: 0)
        try store.close()
        let later = Self.now + 86_400_000
        let d = try DatasetAtPosition.build(directory: dir, nowMs: later)
        #expect(d.keyspace[0, Array("a".utf8)]?.expireAtMs == Self.now + 100_000)
        #expect(d.keyspace[0, Array("b".utf8)]?.expireAtMs == Self.now + 7500)
        let atFirst = try DatasetAtPosition.build(directory: dir, atOffset: first, nowMs: later)
        #expect(atFirst.keyspace[0, Array("a".utf8)]?.expireAtMs == Self.now + 100_000)
        #expect(atFirst.keyspace[0, Array("b".utf8)] == nil)
    }
}

/// The store's wall clock in a test, set by hand.
final class ArrivalClock: @unchecked Sendable {
    private let lock = Lock()
    private var ms: Int64 = 0
    func set(_ v: Int64) { lock.withLock { ms = v } }
    func read() -> Int64 { lock.withLock { ms } }
}
