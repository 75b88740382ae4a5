import Testing
import RDB
@testable import Keyspace

@Suite struct ApplierStringKeyTests {
    @Test func setAndItsOptions() {
        var r = Run()
        r.callAll(["SET a 1", "SET b 2 PXAT 1700000005000", "SET b 3 KEEPTTL", "SET c x NX", "SET c y NX",
                   "SET d z XX", "SET a v2 GET", "SET e v EX 10", "SETEX f 5 v", "PSETEX g 7 v", "SETNX a nope", "SETNX h new"])
        #expect(r.string("a") == "v2")
        #expect(r.string("b") == "3" && r.entry("b")?.expireAtMs == 1_700_000_005_000)
        #expect(r.string("c") == "x")
        #expect(r.entry("d") == nil)
        #expect(r.entry("e")?.expireAtMs == r.now + 10_000)
        #expect(r.entry("f")?.expireAtMs == r.now + 5_000)
        #expect(r.entry("g")?.expireAtMs == r.now + 7)
        #expect(r.string("h") == "new")
        r.call("SET b plain")
        #expect(r.entry("b")?.expireAtMs == nil)
        #expect(!r.diverged)
    }

    /// SET ... IFEQ (Valkey 8.1, Redis 8.4) and IFNE (Redis 8.4), as a master propagates them verbatim.
    @Test func setIfEqualAndIfNotEqual() {
        var r = Run()
        r.callAll(["SET k v", "SET k w IFEQ v", "SET k x IFEQ nope", "SET absent y IFEQ v",
                   "SET n 1 IFNE 9", "SET n 2 IFNE 1", "SET n 3 IFNE 2", "SET n 4 IFNE 3",
                   "SET t v PXAT 1700000005000", "SET t u IFEQ v KEEPTTL", "SET g new IFEQ old GET"])
        #expect(r.string("k") == "w")
        #expect(r.entry("absent") == nil)
        #expect(r.string("n") == "3")
        #expect(r.string("t") == "u" && r.entry("t")?.expireAtMs == 1_700_000_005_000)
        #expect(r.entry("g") == nil)
        #expect(!r.diverged)
        // A list under IFEQ is WRONGTYPE on the master, never propagated: here it is a divergence.
        r.call("RPUSH l a")
        r.call("SET l v IFEQ a")
        #expect(r.applier.divergence?.command == "SET")
        var s = Run()
        s.call("SET k v NX IFEQ v")
        #expect(s.applier.divergence != nil, "NX with IFEQ is a syntax error")
    }

    /// SET ... IFDEQ / IFDNE (Redis 8.4): the condition is on the value's digest, 16 hex digits of its XXH3-64
    /// ("Hello world" -> b6acb9d84a38ff74), compared case-insensitively, as t_string.c `setGenericCommand`.
    @Test func setIfDigestEqualAndNotEqual() {
        var r = Run()
        r.callAll(["SET k Hello_world", "SET h x"])
        r.call([Array("SET".utf8), Array("h".utf8), Array("Hello world".utf8)])
        r.callAll(["SET h changed IFDEQ B6ACB9D84A38FF74",        // matches (upper case too): set
                   "SET h again IFDEQ b6acb9d84a38ff74",          // the value is 'changed' now: not set
                   "SET h kept IFDNE 0000000000000000",           // differs: set
                   "SET absent v IFDEQ b6acb9d84a38ff74",         // IFDEQ needs the key
                   "SET fresh v IFDNE b6acb9d84a38ff74",          // IFDNE sets a missing key
                   "SET fresh2 v IFDNE short"])                   // the length is checked only for a key that exists
        #expect(r.string("h") == "kept")
        #expect(r.entry("absent") == nil)
        #expect(r.string("fresh") == "v" && r.string("fresh2") == "v")
        #expect(!r.diverged)
        var s = Run()
        s.callAll(["SET k v", "SET k w IFDEQ short"])
        #expect(s.applier.divergence?.command == "SET", "a digest of another length is an error for an existing key")
    }

    /// DELEX (Redis 8.4): the plain form arrives verbatim, a conditional one as DEL; the conditions applied
    /// exactly all the same. "12345" is int-encoded on the master and hashed as its text: f34099ede96b5581
    /// (DIGEST on a real Redis 8).
    @Test func delexWithAndWithoutConditions() {
        var r = Run()
        r.callAll(["SET a 1", "DELEX a", "SET n 12345", "SET m x", "SET q y",
                   "DELEX n IFDEQ F34099EDE96B5581", "DELEX m IFEQ nope", "DELEX m IFNE nope", "DELEX q IFDNE f34099ede96b5581",
                   "DELEX missing IFDEQ short"])
        #expect(r.entry("a") == nil && r.entry("n") == nil && r.entry("m") == nil && r.entry("q") == nil)
        #expect(!r.diverged)
        for bad in ["DELEX k IFDEQ short", "DELEX k IFXX v", "DELEX k IFEQ"] {
            var s = Run()
            s.callAll(["SET k v", bad])
            #expect(s.applier.divergence?.command == "DELEX", "\(bad)")
        }
    }

    /// MSETEX (Valkey 9.1) in the forms a valkey-server 9.1.2 master propagates (relative expiries rewritten
    /// to PXAT; NX, XX and KEEPTTL kept), with the states that master reached for the same commands.
    @Test func msetexAsValkey91Propagates() {
        var r = Run()
        r.callAll(["SET t v PXAT 1700000005000", "MSETEX 1 t w",                      // no option: the TTL goes
                   "SET u v PXAT 1700000005000", "MSETEX 1 u w XX",                   // XX alone: the TTL goes too
                   "SET k v PXAT 1700000005000", "MSETEX 2 k w k2 x KEEPTTL",         // KEEPTTL keeps it
                   "MSETEX 2 a 1 b 2 PXAT 1700000009000",
                   "MSETEX 2 t z t last",                                            // the last duplicate wins
                   "RPUSH l x", "MSETEX 1 l s",                                      // any type is overwritten
                   "MSETEX 2 a no fresh no NX",                                      // a exists: nothing is set
                   "MSETEX 2 a yes fresh no XX",                                     // fresh is missing: nothing
                   "MSETEX 2 n1 1 n2 2 NX PXAT 4102444800000"])
        #expect(r.string("t") == "last" && r.entry("t")?.expireAtMs == nil)
        #expect(r.string("u") == "w" && r.entry("u")?.expireAtMs == nil)
        #expect(r.string("k") == "w" && r.entry("k")?.expireAtMs == 1_700_000_005_000 && r.entry("k2")?.expireAtMs == nil)
        #expect(r.string("a") == "1" && r.entry("a")?.expireAtMs == 1_700_000_009_000 && r.entry("b")?.expireAtMs == 1_700_000_009_000)
        #expect(r.string("l") == "s")
        #expect(r.entry("fresh") == nil)
        #expect(r.string("n1") == "1" && r.entry("n2")?.expireAtMs == 4_102_444_800_000)
        #expect(!r.diverged)
        // What valkey-server 9.1.2 refuses with a syntax error (never propagated) is a divergence here.
        for bad in ["MSETEX 1 k v PX 1000 KEEPTTL", "MSETEX 1 k v NX XX", "MSETEX 3 a b", "MSETEX 1 k v EX 0", "MSETEX 0 k v"] {
            var s = Run()
            s.call(bad)
            #expect(s.applier.divergence?.command == "MSETEX", "\(bad)")
        }
    }

    @Test func countersAppendRanges() {
        var r = Run()
        r.callAll(["INCR n", "INCRBY n 41", "DECR n", "DECRBY n -10", "APPEND s abc", "APPEND s def",
                   "SETRANGE s 8 XY", "MSET m1 a m2 b", "MSETNX m2 x m3 y", "MSETNX m4 x m5 y"])
        r.call([Array("SETRANGE".utf8), Array("t".utf8), Array("0".utf8), []])
        #expect(r.string("n") == "51")
        #expect(r.string("s") == "abcdef\0\0XY")
        #expect(r.entry("t") == nil)
        #expect(r.string("m2") == "b" && r.entry("m3") == nil && r.string("m5") == "y")
        // A value that is not an integer: the master would refuse; here it is a divergence.
        r.call("INCR s")
        #expect(r.applier.divergence?.command == "INCR")
        #expect(r.call("SET z 1") == .skipped)
        #expect(r.entry("z") == nil)
    }

    @Test func expiriesKeysAndDatabases() {
        var r = Run()
        r.callAll(["SET k v", "PEXPIREAT k 1700000100000", "PEXPIREAT k 1700000200000 NX", "PEXPIREAT k 1700000050000 GT",
                   "PEXPIREAT k 1700000050000 LT"])
        #expect(r.entry("k")?.expireAtMs == 1_700_000_050_000)
        r.call("EXPIRE k 100")  // a 6.2 master's relative form
        #expect(r.entry("k")?.expireAtMs == r.now + 100_000)
        r.callAll(["PERSIST k", "RENAME k k2", "SET other 1", "RENAMENX k2 other", "COPY k2 k3", "COPY k2 k4 DB 3",
                   "MOVE other 2", "SELECT 2", "SET in2 x", "SWAPDB 2 3", "SELECT 0", "DEL k3 nothere", "UNLINK k2"])
        #expect(r.entry("k") == nil && r.entry("k2") == nil && r.entry("k3") == nil)
        #expect(r.string("k4", db: 2) == "v" && r.string("other", db: 3) == "1" && r.string("in2", db: 3) == "x")
        #expect(r.applier.selectedDB == 0)
        r.callAll(["FLUSHDB", "SELECT 3", "FLUSHDB ASYNC"])
        #expect(r.ks.keyCount == 1)
        r.call("FLUSHALL")
        #expect(r.ks.keyCount == 0)
        r.call("RENAME missing x")
        #expect(r.applier.divergence?.reason == "no such key")
    }

    @Test func multiExecIsAllOrNothing() {
        var r = Run()
        r.callAll(["SET a 1", "MULTI", "SET a 2", "SELECT 1", "SET b 3"])
        #expect(r.string("a") == "1" && r.applier.inTransaction)
        r.call("EXEC")
        #expect(r.string("a") == "2" && r.string("b", db: 1) == "3" && r.applier.selectedDB == 1)
        r.callAll(["MULTI", "SET c 1", "LPUSH b x", "SET d 1", "EXEC"])
        #expect(r.applier.divergence?.command == "LPUSH" && r.applier.divergence?.offset == 9)
        #expect(r.string("c", db: 1) == nil && r.string("b", db: 1) == "3")
    }

    @Test func noOpsAreCountedOnly() {
        var r = Run()
        #expect(r.call("PING") == .ignored)
        #expect(r.call("REPLCONF GETACK *") == .ignored)
        #expect(r.call("PUBLISH ch msg") == .ignored)
        #expect(r.ks.keyCount == 0 && r.applier.commandsSeen == 3)
    }

    @Test func functionsLoadReplaceDelete() {
        var r = Run()
        let lib = "#!lua name=mylib\nredis.register_function('f', function() return 1 end)"
        r.call([Array("FUNCTION".utf8), Array("LOAD".utf8), Array(lib.utf8)])
        r.call([Array("FUNCTION".utf8), Array("LOAD".utf8), Array("REPLACE".utf8), Array((lib + " ").utf8)])
        #expect(r.ks.functions == [Array((lib + " ").utf8)])
        r.call("FUNCTION DELETE mylib")
        #expect(r.ks.functions.isEmpty && !r.diverged)
    }
}
