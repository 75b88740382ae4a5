"""The data written into each fixture server. Deterministic: fixed seed, fixed stream IDs, fixed
far-future expiries. Only wall-clock-dependent things vary between runs (AUX ctime/used-mem,
consumer seen times, PEL delivery times), and the JSON records them as the server reports them.

`v7` selects Redis 7.0 features (FUNCTION LOAD, XADD ms-*, XSETID ENTRIESADDED/MAXDELETEDID,
XGROUP CREATE ENTRIESREAD, DEBUG QUICKLIST-PACKED-THRESHOLD); 6.2 gets everything else.
`v8` (Redis 7.2+ and Valkey 8, implies v7) adds small string sets (listpack-encoded since 7.2) and
streams whose consumers have an active time; `hfe` (Redis 7.4+) adds hash field TTLs (HPEXPIREAT,
HPERSIST), and `hsetex` (Redis 8.0+) HSETEX. `xnack` (Redis 8.8+) adds a stream whose groups hold
entries released by XNACK (the NACK zone, saved as stream type 27); `nack_zones` records each zone's
order, which XINFO does not report.
"""
import random

SEED = 20261125
Y2100 = 4102444800000          # 2100-01-01T00:00:00Z in ms
Y9999 = 253402300799000        # 9999-12-31T23:59:59Z in ms


class Builder:
    def __init__(self, server, v7, v8=False, hfe=None, hsetex=None, xnack=False):
        self.server = server
        self.xnack = xnack
        self.nack_zones = {}  # (key bytes, group bytes) -> [id, ...] in zone order
        self.v7 = v7
        self.v8 = v8
        self.hfe = v8 if hfe is None else hfe
        self.hsetex = self.hfe if hsetex is None else hsetex
        self.clients = {}
        self.expires = {}  # (db, key bytes) -> ms, for 6.2 (no PEXPIRETIME there)
        self.rnd = random.Random(SEED)

    def c(self, db):
        if db not in self.clients:
            self.clients[db] = self.server.client(db)
        return self.clients[db]

    def cmd(self, db, *args):
        return self.c(db).execute_command(*args)

    def expire_at(self, db, key, ms):
        assert self.cmd(db, "PEXPIREAT", key, ms) == 1, key
        self.expires[(db, key if isinstance(key, bytes) else key.encode())] = ms

    def field_expire_at(self, db, key, ms, *fields):
        """HPEXPIREAT on some fields of a hash (Redis 7.4+); each must answer 1 (set)."""
        r = self.cmd(db, "HPEXPIREAT", key, ms, "FIELDS", len(fields), *fields)
        assert r == [1] * len(fields), (key, r)

    def nack(self, db, key, group, mode, *ids, extra=()):
        """XNACK; each id the server released (pending, or FORCE'd from an existing entry) moves to the end
        of the group's zone, as `pelListInsertNacked` does. Returns the count the server answered."""
        n = self.cmd(db, "XNACK", key, group, mode, "IDS", len(ids), *ids, *extra)
        zone = self.nack_zones.setdefault((key.encode(), group.encode()), [])
        for i in ids:
            if i in zone:
                zone.remove(i)
            zone.append(i)
        return n

    def close(self):
        for c in self.clients.values():
            c.close()
        self.clients = {}


# --- all-types ---------------------------------------------------------------------------------

def strings(b, db=0):
    ints = [0, 1, -1, 127, -128, 128, -129, 255, 32767, -32768, 32768, -32769, 65535,
            2147483647, -2147483648, 2147483648, -2147483649, 4294967296,
            9223372036854775807, -9223372036854775808]
    for i in ints:
        b.cmd(db, "SET", f"s:int:{i}", str(i))
    # Number look-alikes that stay text.
    for name, v in [("lead0", "007"), ("plus", "+1"), ("space", " 1"), ("float", "1.5"),
                    ("big", "99999999999999999999"), ("neg0", "-0"), ("hex", "0x10")]:
        b.cmd(db, "SET", f"s:text:{name}", v)
    b.cmd(db, "SET", "s:empty", "")
    b.cmd(db, "SET", "s:len20", "a" * 20)   # LZF is only tried above 20 bytes
    b.cmd(db, "SET", "s:len21", "a" * 21)
    b.cmd(db, "SET", "s:long-compressible", "redis-replica " * 300)
    b.cmd(db, "SET", "s:random-4k", b.rnd.randbytes(4096))
    b.cmd(db, "SET", "s:binary", b"\x00\x01\xff\xfe\x80 nul\x00 and invalid \xc3\x28 utf-8")
    b.cmd(db, "SET", b"k:\xff\xfe\x00binary-key", b"v:\xc0\xaf")
    b.cmd(db, "SET", "s:utf8", "h\u00e9llo w\u00f6rld \u2603 \U0001F600")
    b.cmd(db, "SET", "k:" + "long-lzf-key-name-" * 8, "value of a key whose name is LZF-compressed")
    b.cmd(db, "SET", "12345", "a key name that is int-encoded in the file")
    b.cmd(db, "SET", "s:incrbyfloat", "10.5")
    b.cmd(db, "INCRBYFLOAT", "s:incrbyfloat", "0.1")
    b.cmd(db, "SET", "s:append", "abc")
    b.cmd(db, "APPEND", "s:append", "def" * 10)
    b.cmd(db, "SETRANGE", "s:setrange", 30, "tail")
    b.cmd(db, "INCR", "s:incr")
    # Bitmaps
    for bit in (0, 7, 8, 1000, 65535):
        b.cmd(db, "SETBIT", "bitmap:sparse", bit, 1)
    b.cmd(db, "BITFIELD", "bitmap:bitfield", "SET", "u8", 0, 255, "SET", "i16", 8, -2, "SET", "u32", 100, 123456789)
    # HyperLogLog: empty, sparse, dense (hll-sparse-max-bytes 3000 by default)
    b.cmd(db, "PFADD", "hll:empty")
    b.cmd(db, "PFADD", "hll:sparse", *[f"e{i}" for i in range(100)])
    for start in range(0, 6000, 500):
        b.cmd(db, "PFADD", "hll:dense", *[f"d{i}" for i in range(start, start + 500)])


def lists(b, db=0):
    b.cmd(db, "RPUSH", "l:small", "a", "b", "c", "", b"\x00\xff")
    b.cmd(db, "RPUSH", "l:ints", *[str(i) for i in [0, 5, 127, 128, -1, 4095, 4096, -4096, -4097,
                                                     32767, 32768, -32769, 8388607, 8388608, -8388609,
                                                     2147483647, 2147483648, -2147483649,
                                                     9223372036854775807, -9223372036854775808]])
    b.cmd(db, "RPUSH", "l:one", "x")
    b.cmd(db, "RPUSH", "l:multi-node", *[f"element-{i:05d}-{'x' * (i % 40)}" for i in range(700)])
    b.cmd(db, "LPUSH", "l:lpushed", *[str(i) for i in range(50)])
    if b.v7:
        # 7.0 makes PLAIN quicklist nodes only for elements >= 1 GB unless this test-only
        # threshold is lowered (7.2.6 in the shared corpus was made the same way).
        assert b.cmd(db, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", 8193) == b"OK"
    big = (b"big-element-" * 1000)[:10000]
    b.cmd(db, "RPUSH", "l:big-elements", big, b.rnd.randbytes(12000), big + b"2")
    b.cmd(db, "RPUSH", "l:plain-between", *[f"small-{i}" for i in range(20)])
    b.cmd(db, "RPUSH", "l:plain-between", b"P" * 9000)
    b.cmd(db, "RPUSH", "l:plain-between", *[f"small-{i}" for i in range(20, 40)])


def sets(b, db=0):
    b.cmd(db, "SADD", "set:int16", 1, 2, 3, -300, 32767, -32768)
    b.cmd(db, "SADD", "set:int32", 1, 70000, -2147483648, 2147483647)
    b.cmd(db, "SADD", "set:int64", 1, 2 ** 40, -(2 ** 63), 2 ** 63 - 1)
    b.cmd(db, "SADD", "set:ht-by-count", *range(0, 1200, 2))   # > set-max-intset-entries 512
    b.cmd(db, "SADD", "set:strings", "apple", "banana", "cherry", "")
    b.cmd(db, "SADD", "set:ht-by-size", "m" * 100, "short")
    b.cmd(db, "SADD", "set:binary", b"\xff", b"\x00", b"\x80\x81", "plain")
    b.cmd(db, "SADD", "set:mixed", 1, 2, "three")
    if b.v8:
        # 7.2+: small sets of strings are listpacks (SET_LISTPACK 20); > set-max-listpack-entries 128
        # members or a member > 64 bytes makes a hashtable.
        b.cmd(db, "SADD", "set:listpack-100", *[f"member-{i}" for i in range(100)])
        b.cmd(db, "SADD", "set:ht-200-strings", *[f"member-{i}" for i in range(200)])


SPECIAL_SCORES = ["inf", "-inf", "0", "5e-324", "2.2250738585072014e-308", "1e-300",
                  "1.7976931348623157e+308", "-1e308", "9007199254740993", "123456789012345678",
                  "-42", "3.14159", "0.1"]


def zsets(b, db=0):
    args = []
    for i, s in enumerate(SPECIAL_SCORES):
        args += [s, f"m{i:02d}"]
    b.cmd(db, "ZADD", "z:small-special", *args)
    b.cmd(db, "ZADD", "z:equal-scores", 1, "c", 1, "a", 1, "b", 2, "d")
    b.cmd(db, "ZADD", "z:binary", 1, b"\xff\x00", 2, b"\x80")
    big = []
    for i in range(200):  # > zset-max-listpack-entries 128: skiplist
        big += [str(i * 1.5), f"member-{i:04d}"]
    big += args
    b.cmd(db, "ZADD", "z:skiplist-special", *big)
    b.cmd(db, "ZADD", "z:skiplist-by-size", 1, "x" * 100, 2, "y")
    b.cmd(db, "GEOADD", "geo:cities", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania",
          -122.4194, 37.7749, "San Francisco")


def hashes(b, db=0):
    b.cmd(db, "HSET", "h:small", "f1", "v1", "f2", "2", "f3", "", "num", "12345")
    b.cmd(db, "HSET", "h:ht-by-count", *[x for i in range(600) for x in (f"field-{i:04d}", f"value-{i}")])
    b.cmd(db, "HSET", "h:ht-by-value", "short", "s", "long", "L" * 100)
    b.cmd(db, "HSET", "h:binary", b"\xff\xfe", b"\x00\x01", "text", b"\xc3\x28")


# Field expiries are far in the future (2100+ and 9999), so the files stay valid.
F2100 = Y2100 + 456
# The largest field expiry Redis accepts: HFE_MAX_ABS_TIME_MSEC = (2^48 - 1) >> 2 ms (year 4199);
# 9999-12-31 is refused ("invalid expire time").
FMAX = (2 ** 48 - 1) >> 2


def hash_field_ttls(b, db=0):
    """Hashes with field TTLs (Redis 7.4+): listpackex (type 25) and hashtable (type 24)."""
    b.cmd(db, "HSET", "hfe:lp-some", "a", "1", "b", "two", "c", "", "d", "12345")
    b.field_expire_at(db, "hfe:lp-some", F2100, "a", "c")
    b.cmd(db, "HSET", "hfe:lp-all", "x", "1", "y", "2", "z", "3")
    b.field_expire_at(db, "hfe:lp-all", F2100 + 1, "x")
    b.field_expire_at(db, "hfe:lp-all", F2100 + 86_400_000, "y", "z")
    # > hash-max-listpack-value 64: hashtable with field TTLs (HASH_METADATA, type 24).
    b.cmd(db, "HSET", "hfe:ht-by-value", "short", "s", "long", "L" * 100, "plain", "no ttl")
    b.field_expire_at(db, "hfe:ht-by-value", F2100 + 2, "short", "long")
    # > hash-max-listpack-entries 512: hashtable by count, every 50th field with a TTL.
    b.cmd(db, "HSET", "hfe:ht-by-count", *[x for i in range(600) for x in (f"f{i:04d}", f"v{i}")])
    b.field_expire_at(db, "hfe:ht-by-count", F2100 + 3, *[f"f{i:04d}" for i in range(0, 600, 50)])
    # TTLs set, then all removed by HPERSIST (still listpackex), and one of two persisted.
    b.cmd(db, "HSET", "hfe:persisted-all", "p", "1", "q", "2")
    b.field_expire_at(db, "hfe:persisted-all", F2100, "p", "q")
    assert b.cmd(db, "HPERSIST", "hfe:persisted-all", "FIELDS", 2, "p", "q") == [1, 1]
    b.cmd(db, "HSET", "hfe:persisted-one", "p", "1", "q", "2")
    b.field_expire_at(db, "hfe:persisted-one", F2100, "p", "q")
    assert b.cmd(db, "HPERSIST", "hfe:persisted-one", "FIELDS", 1, "p") == [1]
    # A key TTL and a field TTL on the same hash.
    b.cmd(db, "HSET", "hfe:key-and-field-ttl", "f", "v", "g", "w")
    b.field_expire_at(db, "hfe:key-and-field-ttl", F2100 + 4, "f")
    b.expire_at(db, "hfe:key-and-field-ttl", Y2100 + 10 * 86_400_000)


def hash_ttl(b):
    """The hash-ttl dataset: the all-types field-TTL hashes plus more variants."""
    hash_field_ttls(b, 0)
    # HSETEX (8.0+) sets values and their TTL at once.
    if b.hsetex:
        assert b.cmd(0, "HSETEX", "hfe:hsetex", "PXAT", F2100 + 5, "FIELDS", 2, "k1", "v1", "k2", "v2") == 1
    # Binary fields and values, integer values, one field at the largest accepted expiry.
    b.cmd(0, "HSET", "hfe:binary", b"\xff\xfe", b"\x00\x01", "int", "-42", "big", "9223372036854775807")
    b.field_expire_at(0, "hfe:binary", FMAX, b"\xff\xfe")
    b.field_expire_at(0, "hfe:binary", F2100 + 6, "int")
    # Every field a different TTL, ms apart.
    b.cmd(0, "HSET", "hfe:ms-apart", *[x for i in range(20) for x in (f"m{i:02d}", str(i))])
    for i in range(20):
        b.field_expire_at(0, "hfe:ms-apart", F2100 + i, f"m{i:02d}")
    # Hashtable where every field has a TTL.
    b.cmd(0, "HSET", "hfe:ht-all", *[x for i in range(10) for x in (f"g{i}", "V" * (70 + i))])
    b.field_expire_at(0, "hfe:ht-all", F2100 + 7, *[f"g{i}" for i in range(10)])
    # A listpackex hash in another DB, and a plain hash for contrast.
    b.cmd(1, "HSET", "db1:hfe", "f", "v", "g", "w")
    b.field_expire_at(1, "db1:hfe", F2100 + 8, "g")
    b.cmd(1, "HSET", "db1:plain-hash", "f", "v")


def streams(b, db=0):
    v7 = b.v7
    # Explicit IDs, duplicate field names, binary fields.
    b.cmd(db, "XADD", "st:basic", "1-1", "field", "value")
    b.cmd(db, "XADD", "st:basic", "1-2", "a", "1", "b", "2")
    b.cmd(db, "XADD", "st:basic", "2-0", "dup", "first", "dup", "second")
    b.cmd(db, "XADD", "st:basic", "3-0", b"\xff\x00", b"\x80binary")
    b.cmd(db, "XADD", "st:basic", "18446744073709551615-0", "max", "ms")
    if v7:
        b.cmd(db, "XADD", "st:ms-star", "1000-*", "f", "1")
        b.cmd(db, "XADD", "st:ms-star", "1000-*", "f", "2")
        b.cmd(db, "XADD", "st:ms-star", "2000-*", "f", "3")

    # Consumer groups with PELs, XCLAIM, XACK, XDEL of a pending entry, CREATECONSUMER.
    s = "st:groups"
    for i in range(1, 21):
        b.cmd(db, "XADD", s, f"{i}-0", "n", str(i), "sq", str(i * i))
    b.cmd(db, "XGROUP", "CREATE", s, "g1", "0")
    b.cmd(db, "XGROUP", "CREATE", s, "g2", "0")
    b.cmd(db, "XGROUP", "CREATE", s, "g3-arbitrary", "7-0")  # entries_read unknown on 7.0
    b.cmd(db, "XREADGROUP", "GROUP", "g1", "alice", "COUNT", 5, "STREAMS", s, ">")
    b.cmd(db, "XREADGROUP", "GROUP", "g1", "bob", "COUNT", 3, "STREAMS", s, ">")
    b.cmd(db, "XACK", s, "g1", "2-0", "4-0")
    b.cmd(db, "XCLAIM", s, "g1", "bob", 0, "1-0")     # delivery count 2, moves 1-0 to bob
    b.cmd(db, "XDEL", s, "3-0")                        # deleted while pending in g1
    b.cmd(db, "XGROUP", "CREATECONSUMER", s, "g2", "idle-carol")
    b.cmd(db, "XREADGROUP", "GROUP", "g2", "dave", "COUNT", 2, "STREAMS", s, ">")
    b.cmd(db, "XREADGROUP", "GROUP", "g3-arbitrary", "erin", "COUNT", 1, "STREAMS", s, ">")
    b.cmd(db, "XGROUP", "CREATE", s, b"g\xff-binary-name", "$")

    if b.xnack:
        # Redis 8.8+: XNACK releases pending entries into the group's NACK zone (no consumer, delivery time
        # 0, the mode's delivery count), in release order; XCLAIM takes one back out, XACK drops one.
        s = "st:nack"
        for i in range(1, 13):
            b.cmd(db, "XADD", s, f"{i}-0", "job", f"j{i}")
        b.cmd(db, "XGROUP", "CREATE", s, "workers", "0")
        b.cmd(db, "XGROUP", "CREATE", s, "audit", "0")
        b.cmd(db, "XREADGROUP", "GROUP", "workers", "w1", "COUNT", 4, "STREAMS", s, ">")
        b.cmd(db, "XREADGROUP", "GROUP", "workers", "w2", "COUNT", 4, "STREAMS", s, ">")
        b.cmd(db, "XREADGROUP", "GROUP", "audit", "a1", "COUNT", 2, "STREAMS", s, ">")
        assert b.nack(db, s, "workers", "FAIL", "3-0") == 1
        assert b.nack(db, s, "workers", "SILENT", "1-0", "6-0") == 2
        assert b.nack(db, s, "workers", "FATAL", "10-0", extra=("FORCE",)) == 1      # never delivered: FORCE
        assert b.nack(db, s, "workers", "FAIL", "7-0", extra=("RETRYCOUNT", 9)) == 1
        assert b.nack(db, s, "workers", "FAIL", "3-0") == 1                          # again: to the zone's end
        b.cmd(db, "XCLAIM", s, "workers", "w3", 0, "6-0")                           # claimed: leaves the zone
        b.nack_zones[(s.encode(), b"workers")].remove("6-0")
        b.cmd(db, "XACK", s, "workers", "10-0")                                      # acknowledged: gone
        b.nack_zones[(s.encode(), b"workers")].remove("10-0")
        assert b.nack(db, s, "audit", "SILENT", "2-0") == 1

    # Several listpack nodes (stream-node-max-entries 100) with deletions.
    s = "st:multi-listpack"
    for i in range(1, 251):
        b.cmd(db, "XADD", s, f"{1000 + i}-{i % 3}", "i", str(i), "payload", "p" * (i % 17))
    for i in range(5, 251, 10):
        b.cmd(db, "XDEL", s, f"{1000 + i}-{i % 3}")
    b.cmd(db, "XGROUP", "CREATE", s, "reader", "1100-0")
    b.cmd(db, "XREADGROUP", "GROUP", "reader", "r1", "COUNT", 30, "STREAMS", s, ">")

    # Empty stream made by XGROUP CREATE ... MKSTREAM; a stream whose entries were all deleted.
    b.cmd(db, "XGROUP", "CREATE", "st:empty-mkstream", "g", "$", "MKSTREAM")
    for i in range(1, 4):
        b.cmd(db, "XADD", "st:all-deleted", f"5-{i}", "f", "v")
    b.cmd(db, "XDEL", "st:all-deleted", "5-1", "5-2", "5-3")

    # XSETID (7.0: with ENTRIESADDED and MAXDELETEDID).
    b.cmd(db, "XADD", "st:setid", "10-1", "f", "v")
    b.cmd(db, "XADD", "st:setid", "10-2", "f", "v")
    if v7:
        b.cmd(db, "XSETID", "st:setid", "500-7", "ENTRIESADDED", 40, "MAXDELETEDID", "300-0")
    else:
        b.cmd(db, "XSETID", "st:setid", "500-7")

    # Trimmed stream; on 7.0 a group created with ENTRIESREAD.
    for i in range(1, 31):
        b.cmd(db, "XADD", "st:trimmed", f"{2000 + i}-0", "i", str(i))
    b.cmd(db, "XTRIM", "st:trimmed", "MAXLEN", 10)
    if v7:
        b.cmd(db, "XGROUP", "CREATE", "st:trimmed", "g-entriesread", "2025-0", "ENTRIESREAD", 25)
    else:
        b.cmd(db, "XGROUP", "CREATE", "st:trimmed", "g", "2025-0")


def expiring(b, db=0):
    """A key of each type with a far-future PEXPIREAT."""
    b.cmd(db, "SET", "ttl:string", "expires in 2100")
    b.cmd(db, "RPUSH", "ttl:list", "a", "b")
    b.cmd(db, "SADD", "ttl:set", "a", "b")
    b.cmd(db, "SADD", "ttl:intset", 1, 2)
    b.cmd(db, "ZADD", "ttl:zset", 1, "a")
    b.cmd(db, "HSET", "ttl:hash", "f", "v")
    b.cmd(db, "XADD", "ttl:stream", "1-1", "f", "v")
    for i, k in enumerate(["ttl:string", "ttl:list", "ttl:set", "ttl:intset", "ttl:zset", "ttl:hash", "ttl:stream"]):
        b.expire_at(db, k, Y2100 + i * 86_400_000 + 123)
    b.cmd(db, "SET", "ttl:year-9999", "last second of 9999")
    b.expire_at(db, "ttl:year-9999", Y9999)


LIBS = [
    "#!lua name=mathlib\n"
    "local function add(keys, args) return tonumber(args[1]) + tonumber(args[2]) end\n"
    "redis.register_function('add', add)\n"
    "redis.register_function{function_name='ro_get', callback=function(keys, args) "
    "return redis.call('GET', keys[1]) end, flags={'no-writes'}, description='read-only GET'}\n",
    "#!lua name=strlib\n"
    "redis.register_function('upper', function(keys, args) return string.upper(args[1]) end)\n",
]


def functions(b):
    if b.v7:
        for code in LIBS:
            b.cmd(0, "FUNCTION", "LOAD", code)


def all_types(b):
    strings(b, 0)
    lists(b, 0)
    sets(b, 0)
    zsets(b, 0)
    hashes(b, 0)
    if b.hfe:
        hash_field_ttls(b, 0)
    streams(b, 0)
    expiring(b, 0)
    # Other databases.
    b.cmd(1, "SET", "db1:string", "in db 1")
    b.cmd(1, "RPUSH", "db1:list", "x", "y")
    b.cmd(1, "SET", "db1:ttl", "v")
    b.expire_at(1, "db1:ttl", Y2100 + 1)
    b.cmd(2, "HSET", "db2:hash", "f", "v")
    b.cmd(2, "ZADD", "db2:zset", 1, "a", 2, "b")
    b.cmd(3, "SADD", "db3:set", 1, 2, 3)
    b.cmd(15, "SET", "db15:string", "in the last default DB")
    b.cmd(15, "XADD", "db15:stream", "1-1", "f", "v")
    functions(b)


def hash_templates(b):
    """Redis 8.10 hash templates (run with hash-min-template-entries 2): the all-types content, plus hashes
    that share field sets, change after being templated, and come back from DUMP payloads."""
    all_types(b)
    for i in range(50):
        b.cmd(0, "HSET", f"user:{i}", "name", f"user {i}", "age", str(20 + i), "email", f"u{i}@example.com")
    b.cmd(0, "HSET", "user:extra", "name", "x", "age", "1", "email", "e", "phone", "555")
    b.cmd(0, "HSET", "user:shrunk", "name", "y", "age", "2", "email", "f")
    b.cmd(0, "HDEL", "user:shrunk", "email")
    b.cmd(0, "HSET", "user:grown", "name", "z", "age", "3")
    b.cmd(0, "HSET", "user:grown", "zip", "75001")
    b.cmd(0, "HSET", "tmpl:numeric", "1", "one", "2", "two", "10", "ten", "-5", "minus five")
    b.cmd(0, "HSET", "tmpl:empty-field", "", "empty name", "a", "")
    b.cmd(0, "HSET", "tmpl:binary", b"\x00", b"\xff\x00", b"\xff", b"\x01", b"\xc3\x28", b"")
    b.cmd(0, "HSET", "tmpl:array", "short", "s", "long", "L" * 200)
    b.cmd(0, "HSET", "tmpl:big", *[x for i in range(1000) for x in (f"f{i:04d}", f"v{i}")])
    b.cmd(0, "HSET", "tmpl:one", "only", "1")
    b.cmd(0, "HSET", "tmpl:ttl", "a", "1", "b", "2")
    b.expire_at(0, "tmpl:ttl", Y2100 + 7)
    b.cmd(1, "HSET", "db1:user", "name", "in db 1", "age", "99", "email", "d@b.one")
    b.cmd(1, "HSET", "db1:other", "p", "1", "q", "2")
    for src, dst in (("user:0", "restored:lp"), ("tmpl:array", "restored:array"), ("tmpl:numeric", "restored:numeric")):
        payload = b.c(0).execute_command("DUMP", src)
        b.cmd(0, "RESTORE", dst, 0, payload)


def arrays(b):
    """Redis 8.10 arrays: every value encoding (inline integers, floats that print back as written, short
    strings, heap strings) and the strings that only look numeric, sparse and dense parts, every insert-cursor
    state, a TTL, another database, a DUMP/RESTORE copy. No index near 2^64: 8.10's DEBUG DIGEST walks every
    index below the largest."""
    b.cmd(0, "ARSET", "ar:values", 0, "0", "-17", "9223372036854775807", "-9223372036854775808",
          "2305843009213693951", "2305843009213693952", "1.5", "1.0", "-0.0", "0.001", "2.50", "1e5", "0.0000001",
          "12345678901234567000.0", "4611686018427387904.0", "3.14159", "007", "", "abc", "sevench",
          "eight ch", "a longer value, stored as a heap string", b"\x00\xff\x01", "x" * 200)
    b.cmd(0, "ARMSET", "ar:sparse", 5, "five", 4096, "a slice further", 100000, "far", 70000, "between")
    b.cmd(0, "ARINSERT", "ar:inserted", "a", "b", "c")
    b.cmd(0, "ARDEL", "ar:inserted", 1)
    b.cmd(0, "ARRING", "ar:ring", 3, "r1", "r2", "r3", "r4", "r5")
    b.cmd(0, "ARSET", "ar:seek-none", 2, "v")
    b.cmd(0, "ARINSERT", "ar:seek-none", "w")
    b.cmd(0, "ARSEEK", "ar:seek-none", 0)
    b.cmd(0, "ARSET", "ar:seek-last", 0, "v")
    b.cmd(0, "ARSEEK", "ar:seek-last", 2 ** 64 - 1)
    b.cmd(0, "ARSET", "ar:seek-far", 0, "v")
    b.cmd(0, "ARSEEK", "ar:seek-far", 10 ** 12)
    b.cmd(0, "ARSET", "ar:ttl", 0, "v")
    b.expire_at(0, "ar:ttl", Y2100 + 9)
    b.cmd(0, "ARSET", "ar:big", 0, *[str(i * 3) if i % 2 else f"value {i}" for i in range(2000)])
    b.cmd(1, "ARINSERT", "db1:array", "in db 1")
    payload = b.c(0).execute_command("DUMP", "ar:values")
    b.cmd(0, "RESTORE", "ar:restored", 0, payload)
    b.cmd(0, "SET", "s:plain", "a string beside the arrays")


# --- small content for lfu / lru / repl-aux ----------------------------------------------------

def small(b, db=0):
    b.cmd(db, "SET", "s:text", "hello")
    b.cmd(db, "SET", "s:int", 12345)
    b.cmd(db, "SET", "s:long", "long compressible value " * 20)
    b.cmd(db, "RPUSH", "l:list", "a", "b", "c")
    b.cmd(db, "SADD", "set:strings", "a", "b")
    b.cmd(db, "SADD", "set:ints", 1, 2, 3)
    b.cmd(db, "ZADD", "z:zset", 1, "a", 2, "b")
    b.cmd(db, "HSET", "h:hash", "f", "v")
    b.cmd(db, "XADD", "st:stream", "1-1", "f", "v")
    b.cmd(db, "XGROUP", "CREATE", "st:stream", "g", "0")
    b.cmd(db, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "st:stream", ">")
    b.cmd(db, "SET", "ttl:string", "v")
    b.expire_at(db, "ttl:string", Y2100)
    if b.hfe:
        b.cmd(db, "HSET", "hfe:hash", "f", "v", "g", "w")
        b.field_expire_at(db, "hfe:hash", F2100, "g")
    if db == 0:
        functions(b)


def restore_copies(b, source, prefix, values, option):
    """RESTORE copies of `source` with `option` (FREQ/IDLETIME) set to each of `values`."""
    payload = b.cmd(0, "DUMP", source)
    for v in values:
        assert b.cmd(0, "RESTORE", f"{prefix}:{v}", 0, payload, option, v) == b"OK"


LFU_VALUES = [0, 1, 2, 100, 254, 255]
LRU_VALUES = [1, 63, 64, 1000, 16383, 16384, 100000, 5000000]  # 6/14/32-bit length encodings


def lfu(b):
    small(b)
    restore_copies(b, "s:text", "lfu", LFU_VALUES, "FREQ")
    for _ in range(300):
        b.cmd(0, "GET", "s:long")  # LFU counter grows (logarithmically, randomly): read before SAVE


def lru_prepare(b):
    small(b)


def lru_before_save(b):
    """Run right before SAVE: idle times drift by one second per second."""
    restore_copies(b, "s:text", "idle", LRU_VALUES, "IDLETIME")


def repl_data_before(b):
    small(b, 0)
    b.cmd(1, "SET", "db1:k", "v")


def repl_data_after(b):
    """Written through the master after the replica connected; the last write is in DB 2."""
    b.cmd(0, "SET", "after-sync", "1")
    b.cmd(0, "XADD", "st:stream", "2-1", "f", "v2")
    b.cmd(2, "SET", "db2:last-write", "the replication stream's current DB is 2")
