import RDB
import Testing
@testable import Keyspace

/// A -0 score in a small sorted set: Redis 7.0+ listpacks store it as the integer 0, while 6.2 and older
/// ziplists keep the text "-0" (found by the end-to-end differential test against a 6.2 master). The
/// keyspace takes the rule from the version of the file it was loaded from.
@Suite struct ZSetNegativeZeroTests {
    func scores(_ r: Run, _ key: String) -> [Double] {
        guard case .zset(let z)? = r.entry(key)?.value else { return [] }
        return z.sorted.map(\.score)
    }

    @Test func redis7ListpackStoresZero() {
        var r = Run()
        r.callAll(["ZADD k -0 a", "ZADD k 1 b", "ZUNIONSTORE u 1 k", "ZRANGESTORE s k 0 -1"])
        for key in ["k", "u", "s"] { #expect(scores(r, key).map(\.sign) == [.plus, .plus], "\(key)") }
    }

    @Test func before7ZiplistKeepsNegativeZero() throws {
        var ks = Keyspace()
        ks.zsetKeepsNegativeZero = true
        var r = Run(applier: ReplicaApplier(keyspace: ks))
        r.callAll(["ZADD k -0 a", "ZADD k 1 b", "ZUNIONSTORE u 1 k", "ZRANGESTORE s k 0 -1", "ZADD k 0 a"])
        for key in ["k", "u", "s"] { #expect(scores(r, key).map(\.sign) == [.minus, .plus], "\(key)") }
    }

    /// `SORT … STORE` turns the sorted set it reads into a skiplist whatever its size (Redis `sort.c`, every
    /// version), so a -0 added later stays -0 there (found by the keyspace differential test against 7.0,
    /// seed 519: `SORT zset:1 STORE list:1 ALPHA`, then `ZADD zset:1 LT -3 m4 -0 m0`).
    @Test func sortedByStoreKeepsNegativeZeroAfter() {
        var r = Run()
        r.callAll(["ZADD k 1 b", "ZADD other 1 b", "SORT k STORE dst ALPHA", "ZADD k -0 a", "ZADD other -0 a"])
        #expect(scores(r, "k").map(\.sign) == [.minus, .plus])
        #expect(scores(r, "other").map(\.sign) == [.plus, .plus])
        if case .zset(let z)? = r.entry("k")?.value, case .table = z.storage {} else { Issue.record("k is not a table") }
        if case .zset(let z)? = r.entry("other")?.value, case .packed = z.storage {} else { Issue.record("other is not packed") }
    }

    /// A new member that makes a listpack too long converts it first, then goes into the skiplist with its exact
    /// score (`zsetAdd`): the 129th member added with -0 keeps -0 (keyspace differential seed 591 against 7.0).
    @Test func theMemberThatConvertsKeepsNegativeZero() {
        var r = Run()
        r.callAll(["ZADD k " + (0..<128).map { "1 n\($0)" }.joined(separator: " "), "ZADD k -0 a",
                   "ZADD small 1 b", "ZADD small -0 a"])
        #expect(scores(r, "k").first?.sign == .minus)
        #expect(scores(r, "small").map(\.sign) == [.plus, .plus])
    }

    /// Redis 7.2.0–7.2.4 build a `ZRANGESTORE … BYSCORE`/`BYLEX` destination as a skiplist (redis#13148), so
    /// a -0 added to it later stays -0, as on a real 7.2.4 replica (keyspace differential seed 1807:
    /// `ZRANGESTORE zset:1 zset:1 (0 +inf BYSCORE LIMIT 0 2`, later `ZINCRBY zset:0 -0 m2`). Rank ranges,
    /// other versions and Valkey from 7.2.6 build a listpack.
    @Test func zrangestoreByScoreOnRedis724BuildsASkiplist() {
        let cases: [(SourceVersion?, Bool)] = [
            (SourceVersion(field: "redis-ver", value: "7.2.4", rdbVersion: 11), true),
            (SourceVersion(field: "redis-ver", value: "7.1.242", rdbVersion: 11), true),
            (SourceVersion(field: "valkey-ver", value: "7.2.5", rdbVersion: 11), true),
            (SourceVersion(field: "redis-ver", value: "7.2.5", rdbVersion: 11), false),
            (SourceVersion(field: "valkey-ver", value: "7.2.6", rdbVersion: 11), false),
            (SourceVersion(field: "redis-ver", value: "7.4.1", rdbVersion: 12), false),
            (nil, false),
        ]
        for (source, skiplist) in cases {
            var ks = Keyspace()
            ks.sourceVersion = source
            var r = Run(applier: ReplicaApplier(keyspace: ks))
            r.callAll(["ZADD src 1 b 2 c", "ZRANGESTORE s src 0 +inf BYSCORE", "ZRANGESTORE l src [a + BYLEX",
                       "ZRANGESTORE r src 0 -1", "ZINCRBY s -0 a", "ZINCRBY l -0 a", "ZINCRBY r -0 a"])
            let label = source.map { "\($0.field) \($0.value)" } ?? "no version"
            for key in ["s", "l"] {
                #expect(scores(r, key).first?.sign == (skiplist ? .minus : .plus), "\(label): \(key)")
                if case .zset(let z)? = r.entry(key)?.value, case .table = z.storage {
                    #expect(skiplist, "\(label): \(key) is a table")
                } else {
                    #expect(!skiplist, "\(label): \(key) is packed")
                }
            }
            #expect(scores(r, "r").first?.sign == .plus, "\(label): a rank range builds a listpack")
        }
    }

    /// The version comes from the loaded file's `redis-ver` (or `valkey-ver`, which wins) and is written back
    /// into a file of the same RDB version, so a snapshot of a 7.2.4 master's dataset keeps the rule on reload.
    @Test func theSourceVersionSurvivesASnapshot() throws {
        var ks = Keyspace()
        ks[0, Array("k".utf8)] = KeyEntry(value: .string(Array("v".utf8)))
        ks.sourceVersion = SourceVersion(field: "redis-ver", value: "7.2.4", rdbVersion: 11)
        let same = try Keyspace.load(rdb: try ks.rdbBytes(options: RDBWriterOptions(rdbVersion: 11)))
        #expect(same.sourceVersion == SourceVersion(field: "redis-ver", value: "7.2.4", rdbVersion: 11))
        #expect(same.sourceVersion?.zrangestoreBuildsSkiplist == true)
        let other = try Keyspace.load(rdb: try ks.rdbBytes(options: RDBWriterOptions(rdbVersion: 12)))
        #expect(other.sourceVersion == SourceVersion(field: "redis-ver", value: "7.4.0", rdbVersion: 12))
        // Valkey 7.2 writes `valkey-ver` into REDIS0011 files; we write it after our `redis-ver`.
        ks.sourceVersion = SourceVersion(field: "valkey-ver", value: "7.2.5", rdbVersion: 11)
        let valkey = try Keyspace.load(rdb: try ks.rdbBytes(options: RDBWriterOptions(rdbVersion: 11)))
        #expect(valkey.sourceVersion == SourceVersion(field: "valkey-ver", value: "7.2.5", rdbVersion: 11))
        #expect(valkey.sourceVersion?.zrangestoreBuildsSkiplist == true)
    }

    @Test func theRuleComesFromTheFileVersion() throws {
        var ks = Keyspace()
        ks[0, Array("k".utf8)] = KeyEntry(value: .string(Array("v".utf8)))
        for version in [9, 10] {
            let loaded = try Keyspace.load(rdb: try ks.rdbBytes(options: RDBWriterOptions(rdbVersion: version)))
            #expect(loaded.zsetKeepsNegativeZero == (version <= 9), "RDB \(version)")
        }
    }
}
