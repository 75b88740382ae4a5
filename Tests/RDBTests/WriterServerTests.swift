import Base
import Testing
import Foundation
import RDB
import RDBTools
import TestSupport

/// Files written by `RDBWriter` loaded by real servers: Debian's redis-check-rdb and redis-server 7.0
/// (RDB 7-10), and Redis 6.2 (RDB 7-9) when its binary is available. Every key is checked through the client.
@Suite(.serialized) struct WriterServerTests {
    /// Compares what the server holds with `entries` key by key; returns the differences.
    static func differences(_ entries: [RDBEntry], client: RedisClient, hasPExpireTime: Bool) throws -> [String] {
        var problems: [String] = []
        func note(_ e: RDBEntry, _ what: String) { problems.append("db \(e.db) key \(RDBError.quote(e.key)): \(what)") }
        let dbs = Set(entries.map(\.db)).sorted()
        for db in dbs {
            try client.call("SELECT", String(db))
            let inDB = entries.filter { $0.db == db }
            let size = try client.call("DBSIZE").integer
            if size != Int64(inDB.count) { problems.append("db \(db): DBSIZE \(size ?? -1), expected \(inDB.count)") }
            for e in inDB {
                let k = e.key
                let type = try client.call([Array("TYPE".utf8), k]).string
                if type != e.value.typeName { note(e, "TYPE \(type ?? "nil"), expected \(e.value.typeName)"); continue }
                if hasPExpireTime {
                    let t = try client.call([Array("PEXPIRETIME".utf8), k]).integer
                    if t != (e.expireAtMs ?? -1) { note(e, "PEXPIRETIME \(t ?? 0), expected \(e.expireAtMs ?? -1)") }
                } else {
                    let t = try client.call([Array("PTTL".utf8), k]).integer ?? 0
                    if (e.expireAtMs != nil) != (t > 0) { note(e, "PTTL \(t), expected expiry \(String(describing: e.expireAtMs))") }
                }
                switch e.value {
                case .string(let s):
                    if try client.call([Array("GET".utf8), k]).bytes != s { note(e, "GET differs") }
                case .list(let items):
                    let got = try client.call([Array("LRANGE".utf8), k, Array("0".utf8), Array("-1".utf8)]).array?.compactMap(\.bytes)
                    if got != items { note(e, "LRANGE differs (\(got?.count ?? -1) vs \(items.count) items)") }
                case .set(let members):
                    let got = try client.call([Array("SMEMBERS".utf8), k]).array?.compactMap(\.bytes) ?? []
                    if Set(got) != Set(members) || got.count != Set(members).count { note(e, "SMEMBERS differs") }
                case .sortedSet(let members):
                    let got = try client.call([Array("ZRANGE".utf8), k, Array("0".utf8), Array("-1".utf8), Array("WITHSCORES".utf8)]).array ?? []
                    var pairs: [Bytes: Double] = [:]
                    var i = 0
                    while i + 1 < got.count {
                        pairs[got[i].bytes ?? []] = Double(got[i + 1].string ?? "") ?? .nan
                        i += 2
                    }
                    let want = Dictionary(members.map { ($0.member, $0.score) }, uniquingKeysWith: { a, _ in a })
                    if pairs.count != want.count || want.contains(where: { pairs[$0.key] != $0.value }) {
                        note(e, "ZRANGE WITHSCORES differs")
                    }
                case .hash(let fields):
                    let got = try client.call([Array("HGETALL".utf8), k]).array ?? []
                    var map: [Bytes: Bytes] = [:]
                    var i = 0
                    while i + 1 < got.count {
                        map[got[i].bytes ?? []] = got[i + 1].bytes ?? []
                        i += 2
                    }
                    let want = Dictionary(fields.map { ($0.field, $0.value) }, uniquingKeysWith: { a, _ in a })
                    if map != want { note(e, "HGETALL differs") }
                case .stream(let s):
                    let got = try client.call([Array("XRANGE".utf8), k, Array("-".utf8), Array("+".utf8)]).array ?? []
                    let ids = got.compactMap { $0.array?.first?.string }
                    if ids != s.entries.map(\.id.description) { note(e, "XRANGE ids differ") }
                    for (entry, reply) in zip(s.entries, got) {
                        let flat = reply.array?.last?.array?.compactMap(\.bytes) ?? []
                        if flat != entry.fields.flatMap({ [$0.0, $0.1] }) { note(e, "XRANGE fields differ at \(entry.id)") }
                    }
                    let info = try client.call([Array("XINFO".utf8), Array("STREAM".utf8), k]).array ?? []
                    if let idx = info.firstIndex(where: { $0.string == "last-generated-id" }), idx + 1 < info.count,
                       info[idx + 1].string != s.lastID.description {
                        note(e, "last-generated-id \(info[idx + 1].string ?? "nil"), expected \(s.lastID)")
                    }
                    let groups = try client.call([Array("XINFO".utf8), Array("GROUPS".utf8), k]).array ?? []
                    if groups.count != s.groups.count { note(e, "XINFO GROUPS count \(groups.count)") }
                    for g in s.groups {
                        let pending = try client.call([Array("XPENDING".utf8), k, g.name, Array("-".utf8), Array("+".utf8),
                                                       Array("1000".utf8)]).array ?? []
                        let got = pending.compactMap { p -> (String, String, Int64)? in
                            guard let a = p.array, a.count == 4, let id = a[0].string, let c = a[1].string,
                                  let n = a[3].integer else { return nil }
                            return (id, c, n)
                        }
                        var want: [(String, String, Int64)] = []
                        for p in g.pending {
                            let owner = g.consumers.first { $0.pendingIDs.contains(p.id) }.map { String(decoding: $0.name, as: UTF8.self) } ?? "?"
                            want.append((p.id.description, owner, Int64(p.deliveryCount)))
                        }
                        if got.map({ "\($0.0) \($0.1) \($0.2)" }) != want.map({ "\($0.0) \($0.1) \($0.2)" }) {
                            note(e, "XPENDING of group \(String(decoding: g.name, as: UTF8.self)) differs: \(got) vs \(want)")
                        }
                    }
                case .array(let a):
                    // Redis 8.10: ARCOUNT, each element's ARGET, and ARNEXT (the insert cursor plus one, 0 for none).
                    let count = try client.call([Array("ARCOUNT".utf8), k]).integer ?? -1
                    if count != Int64(a.elements.count) { note(e, "ARCOUNT \(count), expected \(a.elements.count)") }
                    for el in a.elements {
                        let got = try client.call([Array("ARGET".utf8), k, Array(String(el.index).utf8)]).bytes
                        if got != el.value { note(e, "ARGET \(el.index) differs") }
                    }
                    let next = try client.call([Array("ARNEXT".utf8), k])
                    let want = a.insertIndex.map { $0 == UInt64.max - 1 ? nil : String($0 + 1) } ?? "0"
                    if next.string != want && next.integer.map(String.init) != want { note(e, "ARNEXT \(next), expected \(want ?? "nil")") }
                case .module:
                    break
                }
            }
        }
        return problems
    }

    static func write(_ entries: [RDBEntry], version: Int, functions: [Bytes] = [],
                      aux: RDBAuxInfo = RDBAuxInfo(ctime: 1_700_000_000), to url: URL) throws {
        let bytes = try WriterSamples.write(entries, options: RDBWriterOptions(rdbVersion: version), functions: functions, aux: aux).bytes
        try Data(bytes).write(to: url)
    }

    static var haveRedis70: Bool { FileManager.default.isExecutableFile(atPath: RedisServerProcess.defaultBinaryPath) }
    static var haveCheckRDB70: Bool { FileManager.default.isExecutableFile(atPath: RedisServerProcess.checkRDBBinaryPath) }
    static var haveRedis62: Bool { RedisServerProcess.redis62BinaryPath != nil }
    static let no70: Comment = "no redis-server 7.0 (REDIS_SERVER_BIN, default /usr/bin/redis-server; tools/install-deps)"
    static let no62: Comment = "no Redis 6.2 binary (set REDIS_62_SERVER_BIN or run tools/install-deps)"

    @Test(.enabled(if: haveCheckRDB70, "no redis-check-rdb 7.0 (REDIS_CHECK_RDB_BIN, default /usr/bin/redis-check-rdb)"),
          arguments: [7, 8, 9, 10])
    func redisCheckRDBAcceptsWrittenFiles(version: Int) throws {
        try TestPaths.withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("v\(version).rdb")
            let entries = WriterSamples.entries(fieldTTL: false, streams: version >= 9)
            try Self.write(entries, version: version, functions: version >= 10 ? [WriterSamples.functionCode] : [], to: url)
            let (status, output) = try RedisServerProcess.checkRDB(url)
            #expect(status == 0, "\(output)")
            #expect(output.contains("RDB looks OK"))
            #expect(output.contains("Checksum OK"))
            #expect(output.contains("[info] \(entries.count) keys read"), "\(output)")
        }
    }

    @Test(.enabled(if: haveRedis70, no70), arguments: [7, 8, 9, 10])
    func redis70LoadsExactlyTheDataset(version: Int) throws {
        try TestPaths.withTemporaryDirectory { dir in
            let entries = WriterSamples.entries(fieldTTL: false, streams: version >= 9)
            try Self.write(entries, version: version, functions: version >= 10 ? [WriterSamples.functionCode] : [],
                           to: dir.appendingPathComponent("w.rdb"))
            let server = try RedisServerProcess(directory: dir, dbFilename: "w.rdb",
                                                extraArguments: ["--sanitize-dump-payload", "yes"])
            defer { server.stop() }
            let client = try server.client()
            let problems = try Self.differences(entries, client: client, hasPExpireTime: true)
            #expect(problems.isEmpty, "\(problems.prefix(20))")
            if version >= 10 {
                let libs = try client.call("FUNCTION", "LIST").array ?? []
                #expect(libs.count == 1)
                #expect(try client.call("FCALL", "myfunc", "0", "hello").string == "hello")
            }
        }
    }

    @Test(.enabled(if: haveRedis62, no62), arguments: [7, 8, 9])
    func redis62LoadsExactlyTheDataset(version: Int) throws {
        let bin = try #require(RedisServerProcess.redis62BinaryPath)
        try TestPaths.withTemporaryDirectory { dir in
            let entries = WriterSamples.entries(fieldTTL: false, streams: version >= 9)
            try Self.write(entries, version: version, to: dir.appendingPathComponent("w.rdb"))
            let server = try RedisServerProcess(binary: bin, directory: dir, dbFilename: "w.rdb",
                                                extraArguments: ["--sanitize-dump-payload", "yes"])
            defer { server.stop() }
            let problems = try Self.differences(entries, client: try server.client(), hasPExpireTime: false)
            #expect(problems.isEmpty, "\(problems.prefix(20))")
        }
    }

    /// A replica restarted on a file carrying repl-id / repl-offset / repl-stream-db adopts them
    /// (`loadDataFromDisk` -> INFO replication shows master_replid and master_repl_offset).
    @Test(.enabled(if: haveRedis70, no70))
    func replicationPositionIsWhatRedisReads() throws {
        try TestPaths.withTemporaryDirectory { dir in
            let replID = "0123456789abcdef0123456789abcdef01234567"
            let position = ReplicationPosition(replid: replID, offset: 123_456_789_012, streamDB: 3)
            let url = dir.appendingPathComponent("w.rdb")
            let entries = WriterSamples.entries(fieldTTL: false, streams: true, hints: false)
            try Self.write(entries, version: 10, aux: RDBAuxInfo(ctime: 1_700_000_000, replication: position), to: url)
            if FileManager.default.isExecutableFile(atPath: RedisServerProcess.checkRDBBinaryPath) {
                let (status, output) = try RedisServerProcess.checkRDB(url)
                #expect(status == 0)
                #expect(output.contains("AUX FIELD repl-id = '\(replID)'"), "\(output)")
                #expect(output.contains("AUX FIELD repl-offset = '123456789012'"))
                #expect(output.contains("AUX FIELD repl-stream-db = '3'"))
            }
            // A replica of a master that is not there: it loads the file and keeps its replication id/offset.
            let deadPort = try FreePort.allocate()
            let server = try RedisServerProcess(directory: dir, dbFilename: "w.rdb",
                                                extraArguments: ["--replicaof", "127.0.0.1", String(deadPort)])
            defer { server.stop() }
            let info = try server.client().info("replication")
            #expect(info["master_replid"] == replID, "\(info)")
            #expect(info["master_repl_offset"] == "123456789012", "\(info)")
            #expect(try server.client().call("DBSIZE").integer == Int64(entries.filter { $0.db == 0 }.count))
        }
    }

    /// DEBUG DIGEST and the keys/expires per db of `file` as loaded by `binary`.
    static func digest(binary: String, directory: URL, file: String) throws -> String {
        // Redis 6.2 has no enable-debug-command option (DEBUG is always allowed there).
        let is62 = binary == RedisServerProcess.redis62BinaryPath
        let server = try RedisServerProcess(binary: binary, directory: directory, dbFilename: file,
                                            extraArguments: is62 ? [] : ["--enable-debug-command", "yes"])
        defer { server.stop() }
        let client = try server.client()
        let digest = try client.call("DEBUG", "DIGEST").string ?? "?"
        let keyspace = try client.info("keyspace").sorted { $0.key < $1.key }.map { key, value in
            "\(key):" + value.split(separator: ",").filter { !$0.hasPrefix("avg_ttl") }.joined(separator: ",")
        }
        return digest + " " + keyspace.joined(separator: " ")
    }

    /// Fixtures written by real servers, converted (same version and downgraded where representable),
    /// loaded by the real servers: the same DEBUG DIGEST as the original.
    @Test(.enabled(if: haveRedis70 && haveRedis62, "needs redis-server 7.0 and Redis 6.2 (tools/install-deps)"),
          arguments: ["redis-7.0", "redis-6.2"])
    func convertedFixturesHaveTheOriginalDigest(folder: String) throws {
        let binary = try #require(folder == "redis-7.0" ? RedisServerProcess.defaultBinaryPath
                                                        : RedisServerProcess.redis62BinaryPath)
        try convertedHaveTheOriginalDigest(folder: folder, binary: binary, minimumPairs: 8)
    }

    /// The same for the optional versions' fixtures, each loaded by its own server (tools/install-deps
    /// installs them when it can).
    @Test(.enabled(if: RedisServerProcess.redis72BinaryPath != nil, "REDIS_72_SERVER_BIN not set"))
    func convertedRedis72FixturesHaveTheOriginalDigest() throws {
        try convertedHaveTheOriginalDigest(folder: "redis-7.2", binary: #require(RedisServerProcess.redis72BinaryPath), minimumPairs: 3)
    }

    @Test(.enabled(if: RedisServerProcess.redis74BinaryPath != nil, "REDIS_74_SERVER_BIN not set"))
    func convertedRedis74FixturesHaveTheOriginalDigest() throws {
        try convertedHaveTheOriginalDigest(folder: "redis-7.4", binary: #require(RedisServerProcess.redis74BinaryPath), minimumPairs: 3)
    }

    @Test(.enabled(if: RedisServerProcess.valkey81BinaryPath != nil, "VALKEY_81_SERVER_BIN not set"))
    func convertedValkey81FixturesHaveTheOriginalDigest() throws {
        try convertedHaveTheOriginalDigest(folder: "valkey-8.1", binary: #require(RedisServerProcess.valkey81BinaryPath), minimumPairs: 3)
    }

    /// Redis 8.10's files (RDB 15, streams as type 27 with NACK zones), converted at 15 and loaded by 8.10.
    @Test(.enabled(if: RedisServerProcess.redis810BinaryPath != nil, "REDIS_810_SERVER_BIN not set"))
    func convertedRedis810FixturesHaveTheOriginalDigest() throws {
        try convertedHaveTheOriginalDigest(folder: "redis-8.10", binary: #require(RedisServerProcess.redis810BinaryPath), minimumPairs: 2)
    }

    func convertedHaveTheOriginalDigest(folder: String, binary: String, minimumPairs: Int) throws {
        let pairs = TestPaths.fixturePairs(server: folder)
        #expect(pairs.count >= minimumPairs, "Fixtures/\(folder) holds \(pairs.count) pairs")
        var compared = 0
        try TestPaths.withTemporaryDirectory { dir in
            for (rdb, _) in pairs {
                var original = try Logical.read(path: rdb.path)
                original.functions = []  // DEBUG DIGEST covers keys only; functions are dropped below 10
                try FileManager.default.copyItem(at: rdb, to: dir.appendingPathComponent("orig.rdb"))
                defer { try? FileManager.default.removeItem(at: dir.appendingPathComponent("orig.rdb")) }
                let want = try Self.digest(binary: binary, directory: dir, file: "orig.rdb")
                let natural = original.header?.version ?? 10
                for target in [natural, 9, 8, 7] where target <= natural {
                    if Logical.unrepresentable(original, version: target) != nil { continue }
                    let name = "conv-\(target).rdb"
                    _ = try RDBConvert.convert(input: rdb.path, output: dir.appendingPathComponent(name).path,
                                               options: RDBConvertOptions(rdbVersion: target, dropFunctions: true, sync: false))
                    let got = try Self.digest(binary: binary, directory: dir, file: name)
                    #expect(got == want, "\(folder)/\(rdb.lastPathComponent) as RDB \(target)")
                    compared += 1
                }
            }
        }
        print("\(folder): \(compared) converted files have the original's DEBUG DIGEST")
        #expect(compared >= pairs.count)
    }

    /// A Redis 7.0 dataset downgraded to RDB 9 is what Redis 6.2 loads: same digest as 7.0 had.
    @Test(.enabled(if: haveRedis70 && haveRedis62, "needs redis-server 7.0 and Redis 6.2 (tools/install-deps)"))
    func redis70FixturesDowngradedLoadInRedis62() throws {
        let bin62 = try #require(RedisServerProcess.redis62BinaryPath)
        var compared = 0
        try TestPaths.withTemporaryDirectory { dir in
            for (rdb, _) in TestPaths.fixturePairs(server: "redis-7.0") {
                var original = try Logical.read(path: rdb.path)
                original.functions = []
                guard Logical.unrepresentable(original, version: 9) == nil else { continue }
                try? FileManager.default.removeItem(at: dir.appendingPathComponent("orig.rdb"))
                try FileManager.default.copyItem(at: rdb, to: dir.appendingPathComponent("orig.rdb"))
                let want = try Self.digest(binary: RedisServerProcess.defaultBinaryPath, directory: dir, file: "orig.rdb")
                _ = try RDBConvert.convert(input: rdb.path, output: dir.appendingPathComponent("v9.rdb").path,
                                           options: RDBConvertOptions(rdbVersion: 9, dropFunctions: true, sync: false))
                let got = try Self.digest(binary: bin62, directory: dir, file: "v9.rdb")
                #expect(got == want, "\(rdb.lastPathComponent) as RDB 9 in Redis 6.2")
                compared += 1
            }
        }
        print("redis-7.0 fixtures as RDB 9 in Redis 6.2: \(compared) compared")
        #expect(compared >= 8, "only \(compared) Fixtures/redis-7.0 files compared")
    }
}
