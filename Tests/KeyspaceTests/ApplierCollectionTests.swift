import Testing
import RDB
@testable import Keyspace

@Suite struct ApplierCollectionTests {
    @Test func lists() {
        var r = Run()
        r.callAll(["RPUSH l a b c", "LPUSH l x y", "LPUSHX none a", "RPUSHX l z", "LPOP l", "RPOP l 2", "LSET l -1 B",
                   "LINSERT l BEFORE B ins", "LINSERT l AFTER nothere q", "RPUSH l a a a", "LREM l 2 a", "LREM l -1 a"])
        #expect(r.list("l") == ["x", "ins", "B", "a"])
        r.callAll(["LTRIM l 1 -2", "RPUSH m 1 2", "LMOVE l m LEFT RIGHT", "RPOPLPUSH m m", "PEXPIREAT m 1800000000000", "LMOVE m m LEFT LEFT"])
        #expect(r.list("l") == ["B"] && r.list("m") == ["ins", "1", "2"])
        #expect(r.entry("m")?.expireAtMs == 1_800_000_000_000)
        r.callAll(["LPOP l", "LTRIM m 5 10"])
        #expect(r.entry("l") == nil && r.entry("m") == nil && !r.diverged)
    }

    @Test func sets() {
        var r = Run()
        r.callAll(["SADD s a b c", "SADD t b c d", "SREM s a", "SMOVE t s d", "SINTERSTORE i s t", "SUNIONSTORE u s t",
                   "SDIFFSTORE d s t", "SINTERSTORE e s nothere", "SREM t b c"])
        #expect(r.set("s") == ["b", "c", "d"] && r.set("i") == ["b", "c"] && r.set("u") == ["b", "c", "d"])
        #expect(r.set("d") == ["d"] && r.entry("e") == nil && r.entry("t") == nil && !r.diverged)
    }

    @Test func zaddFlagsAndArithmetic() {
        var r = Run()
        r.callAll(["ZADD z 1 a 2 b 3 c", "ZADD z NX 10 a 4 d", "ZADD z XX 20 b 5 e", "ZADD z GT 1 c", "ZADD z LT 1 c",
                   "ZADD z XX CH INCR 0.5 a", "ZINCRBY z -1 d", "ZADD z GT CH 5 e"])
        #expect(r.zset("z") == ["a:1.5", "c:1.0", "d:3.0", "e:5.0", "b:20.0"].sorted { Double($0.split(separator: ":")[1])! < Double($1.split(separator: ":")[1])! })
        r.callAll(["ZADD inf +inf x", "ZADD ninf -inf x", "ZUNIONSTORE sum 2 inf ninf", "ZINTERSTORE w 2 z z WEIGHTS 2 3 AGGREGATE MAX"])
        #expect(r.zset("sum") == ["x:0.0"])  // inf + -inf = 0 as in zunionInterAggregate
        #expect(r.zset("w")?.first == "c:3.0")
        r.callAll(["ZREMRANGEBYSCORE z (1 3", "ZPOPMAX z", "ZDIFFSTORE df 1 z", "ZRANGESTORE rs w 0 1", "ZRANGESTORE rl w +inf 40 BYSCORE REV LIMIT 0 1"])
        #expect(r.zset("z") == ["c:1.0", "e:5.0"])
        #expect(r.zset("df") == ["c:1.0", "e:5.0"])
        #expect(r.zset("rs")?.count == 2 && r.zset("rl") == ["b:60.0"])
        r.callAll(["ZADD lex 0 a 0 b 0 c 0 d", "ZREMRANGEBYLEX lex [b (d", "ZREMRANGEBYRANK w 0 -2", "ZPOPMIN lex 5"])
        #expect(r.entry("lex") == nil && r.zset("w") == ["b:60.0"] && !r.diverged)
        r.call("ZADD z INCR 1 a 2 b")
        #expect(r.applier.divergence?.command == "ZADD")
    }

    @Test func setsFeedZStores() {
        var r = Run()
        r.callAll(["SADD s a b", "ZADD z 2 a", "ZUNIONSTORE u 2 s z WEIGHTS 1 10", "ZINTERSTORE i 2 s z AGGREGATE MIN"])
        #expect(r.zset("u") == ["b:1.0", "a:21.0"] && r.zset("i") == ["a:1.0"] && !r.diverged)
    }

    @Test func hashesWithFieldTTLs() {
        var r = Run()
        r.callAll(["HSET h a 1 b 2", "HMSET h c 3", "HSETNX h a x", "HSETNX h d 4", "HDEL h c", "HINCRBY h a 10",
                   "HPEXPIREAT h 1800000000000 FIELDS 2 a nothere", "HPEXPIREAT h 1700000000000 NX FIELDS 1 a",
                   "HPEXPIREAT h 1900000000000 GT FIELDS 2 a b", "HINCRBY h a 1", "HPERSIST h FIELDS 1 b"])
        #expect(r.hash("h") == ["a=12@1900000000000", "b=2", "d=4"])
        r.call("HSET h a 5")  // HSET drops the TTL
        #expect(r.hash("h")?.first == "a=5")
        r.callAll(["HSETEX h PXAT 1800000000000 FIELDS 1 n v", "HSETEX h FNX EX 10 FIELDS 1 n w", "HGETEX h PERSIST FIELDS 1 n",
                   "HGETEX h EX 5 FIELDS 1 d", "HGETDEL h FIELDS 2 a b"])
        #expect(r.hash("h") == ["d=4@\(r.now + 5000)", "n=v"] && !r.diverged)
    }

    @Test func wrongTypeDiverges() {
        var r = Run()
        r.callAll(["SET s x", "SADD s m"])
        #expect(r.applier.divergence == Divergence(offset: 2, command: "SADD", reason: "WRONGTYPE Operation against a key holding the wrong kind of value"))
        #expect(r.string("s") == "x")
    }
}
