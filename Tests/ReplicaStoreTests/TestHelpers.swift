import Base
import TestSupport
import Foundation
import RDB
@testable import ReplicaStore

/// Builds small, well-formed RDB files (version 10) for store tests.
enum TestRDB {
    static func string(_ s: [UInt8]) -> [UInt8] {
        if s.count < 64 { return [UInt8(s.count)] + s }
        precondition(s.count < 16384)
        return [0x40 | UInt8(s.count >> 8), UInt8(s.count & 0xff)] + s
    }

    static func string(_ s: String) -> [UInt8] { string(Array(s.utf8)) }

    /// An integer as Redis saves a numeric AUX value (`rdbSaveAuxFieldStrInt` -> int encoding when it fits).
    static func intString(_ v: Int64) -> [UInt8] {
        if v >= -128 && v <= 127 { return [0xC0, UInt8(bitPattern: Int8(v))] }
        if v >= -32768 && v <= 32767 {
            let u = UInt16(bitPattern: Int16(v))
            return [0xC1, UInt8(u & 0xff), UInt8(u >> 8)]
        }
        if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
            let u = UInt32(bitPattern: Int32(v))
            return [0xC2, UInt8(u & 0xff), UInt8((u >> 8) & 0xff), UInt8((u >> 16) & 0xff), UInt8(u >> 24)]
        }
        return string(String(v))
    }

    /// `REDIS0010`, AUX redis-ver, optional repl AUX, SELECTDB 0, RESIZEDB, string keys, EOF, zero CRC.
    static func make(replid: String?, offset: Int64?, streamDB: Int? = 0, keys: [(String, String)] = [("k", "v")],
                     intEncodedOffset: Bool = true) -> [UInt8] {
        var b = Array("REDIS0010".utf8)
        func aux(_ k: String, _ v: [UInt8]) { b += [250] + string(k) + v }
        aux("redis-ver", string("7.0.15"))
        if let db = streamDB { aux("repl-stream-db", intString(Int64(db))) }
        if let replid { aux("repl-id", string(replid)) }
        if let offset { aux("repl-offset", intEncodedOffset ? intString(offset) : string(String(offset))) }
        aux("aof-base", intString(0))
        b += [254, 0, 251, UInt8(keys.count), 0]
        for (k, v) in keys { b += [0] + string(k) + string(v) }
        b += [255] + [UInt8](repeating: 0, count: 8)
        return b
    }
}

/// RESP-encodes a command, like the master's replication stream.
func resp(_ args: String...) -> [UInt8] {
    var s = "*\(args.count)\r\n"
    for a in args { s += "$\(a.utf8.count)\r\n\(a)\r\n" }
    return Array(s.utf8)
}

func replid(_ c: Character) -> String { String(repeating: c, count: 40) }

/// `n` seeded SETs, a third of them after a SELECT of one of `databases` dbs, each with the db selected
/// after it: `key` names the i-th key, values are `fill` repeated up to `maxValue - 1` times.
func seededSetCommands(_ n: Int, seed: UInt64, databases: UInt64, key: (Int) -> String, fill: String,
                       maxValue: UInt64) -> [([UInt8], Int)] {
    var rng = SeededRandom(seed: seed)
    var db = 0
    return (0..<n).map { i in
        var c: [UInt8] = []
        if rng.next() % 3 == 0 {
            db = Int(rng.next() % databases)
            c += resp("SELECT", String(db))
        }
        c += resp("SET", key(i), String(repeating: fill, count: Int(rng.next() % maxValue)))
        return (c, db)
    }
}

/// Reads back the whole log of an open store.
func logBytes(_ store: ReplicaStore) throws -> [UInt8] {
    var out: [UInt8] = []
    try store.forEachLogRecord { out += $0.payload; return true }
    return out
}

/// Publishes a full sync of `rdb` in a few chunks.
@discardableResult
func fullSync(_ store: ReplicaStore, replid: String, offset: Int64, rdb: [UInt8]) throws -> SnapshotRecord {
    let w = try store.beginFullSync(replid: replid, offset: offset)
    var i = 0
    while i < rdb.count {
        let n = min(7, rdb.count - i)
        try w.write(Array(rdb[i..<(i + n)]))
        i += n
    }
    try w.finish()
    return try store.publish(w)
}

func noBackground(segmentSize: Int64 = 64 << 20) -> ReplicaStore.Options {
    ReplicaStore.Options(segmentSize: segmentSize, backgroundSync: false)
}

/// A fresh empty directory under the system temp dir.
func makeTempDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "replica-store-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// `ReplicaStore.open` for a reopen right after `close()` in a test process that starts
/// redis-servers from parallel tests: a child being spawned (posix_spawn) holds a copy of the
/// LOCK descriptor until its exec closes it (O_CLOEXEC), so the flock can outlive our close by
/// that window. Retries `.locked` only, for at most 5 s; any other error is thrown at once.
func reopen(directory: String, fsync: FsyncPolicy) throws -> ReplicaStore {
    let deadline = Date().addingTimeInterval(5)
    while true {
        do {
            return try ReplicaStore.open(directory: directory, fsync: fsync)
        } catch let e as StoreError where e.code == .locked && Date() < deadline {
            usleep(10_000)
        }
    }
}
