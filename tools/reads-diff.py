#!/usr/bin/env python3
"""Differential read test for `follow --port` (issue 10 item 3), through redis-py.

  reads-diff.py workload --master PORT --seed N    # a seeded workload of every type on the master
  reads-diff.py compare  --master PORT --replica PORT --seed N [--resp 2|3] [--master-version 7|8]

`compare` runs one seeded list of read commands against the master and against our port and compares
the parsed replies (redis-py's RESP parser, no response callbacks). Orders that Redis leaves to its hash
tables are compared as multisets; commands whose reply is random are checked for shape and membership;
SCAN-family cursors are followed to the end and the whole iteration compared as a set. Exits 1 with the
seed and every difference on a mismatch.
"""
import argparse
import random
import sys

import redis
from redis.exceptions import ResponseError


def conn(port, resp=2):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=resp, decode_responses=False)
    return r.connection_pool.get_connection()


def call(c, *args):
    """Sends one command, returns the parsed reply or ('ERR', text) for an error reply."""
    c.send_command(*args)
    try:
        return c.read_response()
    except ResponseError as e:
        return ("ERROR", str(e))


def workload(port, seed, arrays=False):
    rnd = random.Random(seed)
    r = redis.Redis(host="127.0.0.1", port=port)
    word = lambda n: "".join(rnd.choice("abcdefgh") for _ in range(n))
    for db in (0, 1):
        r2 = redis.Redis(host="127.0.0.1", port=port, db=db)
        q = r2.pipeline(transaction=False)
        for i in range(40):
            q.set(f"s:{i}", rnd.choice([str(rnd.randint(-1000, 100000)), word(rnd.randint(0, 60)), "x" * rnd.randint(40, 100)]))
        for i in range(5):
            q.setbit(f"bits:{i}", rnd.randint(0, 200), 1)
            q.setbit(f"bits:{i}", rnd.randint(0, 200), 1)
            q.append(f"bits:{i}", word(3))
        for i in range(8):
            n = rnd.choice([3, 20, 150])
            q.rpush(f"l:{i}", *[rnd.choice([word(2), str(rnd.randint(0, 9))]) for _ in range(n)])
        for i in range(8):
            n = rnd.choice([3, 50, 200])
            long = i % 4 == 3
            q.hset(f"h:{i}", mapping={f"f{j}": (word(80) if long and j == 0 else word(rnd.randint(0, 10))) for j in range(n)})
        for i in range(8):
            kind = i % 3
            n = rnd.choice([4, 60, 600])
            if kind == 0:
                members = [str(rnd.randint(0, 100000)) for _ in range(n)]
            else:
                members = [word(rnd.randint(1, 6)) for _ in range(n)]
            q.sadd(f"set:{i}", *members)
        for i in range(8):
            n = rnd.choice([5, 40, 200])
            q.zadd(f"z:{i}", {word(rnd.randint(1, 5)) + str(j): rnd.randint(-20, 20) / 2 for j in range(n)})
        for i in range(3):
            q.zadd(f"lex:{i}", {word(rnd.randint(1, 4)): 0 for _ in range(30)})
        for i in range(4):
            for j in range(rnd.randint(1, 30)):
                q.xadd(f"x:{i}", {"f": word(3), "n": str(j)}, id=f"{1000 + j}-0")
        for i in range(3):
            q.pfadd(f"hll:{i}", *[word(6) for _ in range(rnd.choice([10, 2000]))])
        for i in range(2):
            q.geoadd(f"geo:{i}", [v for _ in range(20) for v in (rnd.uniform(-179, 179), rnd.uniform(-84, 84), word(5))])
        for i in range(0, 40, 3):
            q.expire(f"s:{i}", 100000 + i)
        q.pexpire("s:1", 1)  # expires at once: absent on both sides
        q.execute()
        r2.xgroup_create("x:0", "g1", id="0")
        r2.xgroup_create("x:0", "g2", id="$")
        r2.xreadgroup("g1", "alice", {"x:0": ">"}, count=3)
        r2.xreadgroup("g1", "bob", {"x:0": ">"}, count=2)
        r2.xack("x:0", "g1", "1000-0")
        if db == 0:
            r2.xdel("x:1", "1000-0")
        if arrays:
            # Redis 8.8+ arrays: dense, sparse, a ring, cursors (after a separate random stream, so the
            # draws above stay as they were).
            ar = random.Random(seed * 31 + db)
            vals = ["1", "-5", "1.5", "1.0", "-0.0", "2.50", "abc", "", "a longer value", "x" * 80]
            r2.execute_command("ARSET", "ar:0", 0, *[ar.choice(vals) for _ in range(20)])
            r2.execute_command("ARMSET", "ar:1", 3, "a", 4096, "b", 70000, "c", 10, ar.choice(vals))
            r2.execute_command("ARRING", "ar:2", 5, *[ar.choice(vals) for _ in range(7)])
            r2.execute_command("ARINSERT", "ar:3", "p", "q")
            r2.execute_command("ARSEEK", "ar:3", 2 ** 64 - 1)
            r2.execute_command("ARDEL", "ar:0", 3, 4)
            r2.execute_command("ARSET", "ar:4", 2, "two", "three")
            r2.execute_command("ARSEEK", "ar:4", 0)
            r2.execute_command("ARSET", "ar:5", 0, "0.1", "0.25", "3", "-7", "1e3", "abc", "2.5", "9223372036854775807",
                               "1.75", " 5", "0x10", "-0.0", "1.0", "123456789.123456789", "-2.5", "", "inf", "1e400")
    r.set("reads:done", str(seed))


def scan_all(c, cmd, key=None, extra=()):
    seen = []
    cursor = b"0"
    for _ in range(100000):
        args = [cmd] + ([key] if key is not None else []) + [cursor] + list(extra)
        reply = call(c, *args)
        if isinstance(reply, tuple):
            return reply
        cursor, items = reply
        seen.extend(items)
        if cursor in (b"0", 0):
            break
    if cmd in ("HSCAN", "ZSCAN"):
        return sorted(zip(seen[0::2], seen[1::2]))
    return sorted(seen)


def read_commands(rnd, resp, version, arrays=False):
    """The seeded list of (command args, comparison) pairs. We answer as Redis 7.0; against an 8.x master the
    replies 8.x changed (OBJECT ENCODING thresholds, coordinate digits) are left out or compared by value."""
    cmds = []
    add = lambda how, *a: cmds.append((how, [str(x) if not isinstance(x, bytes) else x for x in a]))
    num = lambda: rnd.choice([0, 1, 2, -1, -2, 5, 10, -100, 1000])
    for db in (0, 1):
        add("exact", "SELECT", db)
        add("exact", "DBSIZE")
        add("bag", "KEYS", "*")
        add("bag", "KEYS", rnd.choice(["s:*", "h:?", "z:[1-3]", "*x*"]))
        add("scan", "SCAN", None, "COUNT", rnd.randint(1, 20))
        add("scan", "SCAN", None, "MATCH", "s:*", "TYPE", "string")
        add("scan", "SCAN", None, "TYPE", "zset")
        for i in range(40):
            k = f"s:{i}"
            add("exact", "GET", k)
            add("exact", "STRLEN", k)
            add("exact", "GETRANGE", k, num(), num())
            add("exact", "TYPE", k)
            add("exact", "EXISTS", k, "nokey", k)
            add("ttl", "TTL", k)
            add("ttl", "PTTL", k)
            add("exact", "EXPIRETIME", k)
            add("exact", "PEXPIRETIME", k)
            add("exact", "OBJECT", "ENCODING", k) if version == 7 else None
            add("dump", "DUMP", k)
        add("exact", "MGET", "s:0", "s:1", "nokey", "l:0", "s:2")
        for i in range(5):
            k = f"bits:{i}"
            add("exact", "GETBIT", k, rnd.randint(0, 250))
            add("exact", "BITCOUNT", k)
            add("exact", "BITCOUNT", k, num(), num())
            add("exact", "BITCOUNT", k, num(), num(), rnd.choice(["BIT", "BYTE"]))
            add("exact", "BITPOS", k, rnd.randint(0, 1))
            add("exact", "BITPOS", k, rnd.randint(0, 1), num(), num(), rnd.choice(["BIT", "BYTE"]))
        for i in range(8):
            k = f"l:{i}"
            add("exact", "LLEN", k)
            add("exact", "LRANGE", k, num(), num())
            add("exact", "LRANGE", k, 0, -1)
            add("exact", "LINDEX", k, num())
            add("exact", "LPOS", k, str(rnd.randint(0, 9)))
            add("exact", "LPOS", k, str(rnd.randint(0, 9)), "RANK", rnd.choice([1, 2, -1, -3]), "COUNT", rnd.randint(0, 5))
            add("exact", "LPOS", k, str(rnd.randint(0, 9)), "MAXLEN", rnd.randint(0, 30), "COUNT", 0)
            add("exact", "LPOS", k, "x", "RANK", 0)
            add("exact", "OBJECT", "ENCODING", k) if version == 7 else None
        for i in range(8):
            k = f"h:{i}"
            add("exact", "HLEN", k)
            add("exact", "HGET", k, f"f{rnd.randint(0, 5)}")
            add("exact", "HMGET", k, "f0", "nofield", f"f{rnd.randint(0, 60)}")
            add("hashbag", "HGETALL", k)
            add("bag", "HKEYS", k)
            add("bag", "HVALS", k)
            add("exact", "HEXISTS", k, f"f{rnd.randint(0, 60)}")
            add("exact", "HSTRLEN", k, f"f{rnd.randint(0, 5)}")
            add("scan", "HSCAN", k, "COUNT", rnd.randint(1, 30))
            add("scan", "HSCAN", k, "MATCH", "f1*")
            add("exact", "OBJECT", "ENCODING", k)
            add("randfield", "HRANDFIELD", k)
            add("randfield", "HRANDFIELD", k, rnd.choice([3, -5, 0, 500]), *(["WITHVALUES"] if rnd.random() < 0.5 else []))
            if version == 8:
                add("exact", "HTTL", k, "FIELDS", 2, "f0", "nofield")
        for i in range(8):
            k = f"set:{i}"
            add("exact", "SCARD", k)
            add("bag", "SMEMBERS", k)
            add("exact", "SISMEMBER", k, "a")
            add("exact", "SMISMEMBER", k, "a", "b", "1")
            add("scan", "SSCAN", k, "COUNT", rnd.randint(1, 30))
            add("exact", "OBJECT", "ENCODING", k) if version == 7 else None
            add("randmember", "SRANDMEMBER", k)
            add("randmember", "SRANDMEMBER", k, rnd.choice([3, -5, 0, 1000]))
        add("bag", "SINTER", "set:1", "set:2")
        add("bag", "SUNION", "set:1", "set:2", "nokey")
        add("bag", "SDIFF", "set:2", "set:1")
        add("exact", "SINTERCARD", 2, "set:1", "set:4", "LIMIT", 3)
        add("exact", "SINTER", "set:1", "s:0")
        for i in range(8):
            k = f"z:{i}"
            add("exact", "ZCARD", k)
            add("exact", "ZRANGE", k, num(), num())
            add("exact", "ZRANGE", k, 0, -1, "WITHSCORES")
            add("exact", "ZRANGE", k, "(-3", 5, "BYSCORE", "LIMIT", rnd.randint(0, 3), rnd.choice([-1, 2, 10]))
            add("exact", "ZRANGE", k, 5, "-inf", "BYSCORE", "REV", "WITHSCORES")
            add("exact", "ZRANGEBYSCORE", k, "-inf", "+inf", "WITHSCORES", "LIMIT", 1, 5)
            add("exact", "ZREVRANGEBYSCORE", k, 3, "(-2")
            add("exact", "ZREVRANGE", k, 0, rnd.randint(0, 10), "WITHSCORES")
            add("exact", "ZCOUNT", k, rnd.randint(-10, 0), f"({rnd.randint(0, 10)}")
            add("exact", "ZSCORE", k, "nomember")
            add("exact", "ZMSCORE", k, "a0", "b1", "nomember")
            add("exact", "ZRANK", k, "a0")
            add("exact", "ZREVRANK", k, "b1")
            add("scan", "ZSCAN", k, "COUNT", rnd.randint(1, 30))
            add("exact", "OBJECT", "ENCODING", k)
            add("randmember", "ZRANDMEMBER", k, rnd.choice([3, -5, 0, 1000]), *(["WITHSCORES"] if rnd.random() < 0.5 else []))
            add("exact", "ZRANGE", k, 0, 1, "BYLEX")
        for i in range(3):
            k = f"lex:{i}"
            add("exact", "ZRANGEBYLEX", k, "-", "+")
            add("exact", "ZRANGEBYLEX", k, "[b", "(f", "LIMIT", 1, 3)
            add("exact", "ZREVRANGEBYLEX", k, "+", "[c")
            add("exact", "ZLEXCOUNT", k, "(a", "[g")
            add("exact", "ZRANGE", k, "[h", "-", "BYLEX", "REV")
            add("exact", "ZRANGEBYLEX", k, "a", "b")
        for i in range(4):
            k = f"x:{i}"
            add("exact", "XLEN", k)
            add("exact", "XRANGE", k, "-", "+")
            add("exact", "XRANGE", k, "(1002", "+", "COUNT", 3)
            add("exact", "XREVRANGE", k, "+", "-", "COUNT", 2)
            add("xinfo", "XINFO", "STREAM", k)
            add("xgroups", "XINFO", "GROUPS", k)
            add("exact", "XREAD", "COUNT", 2, "STREAMS", k, "x:0", "1003", "0-0")
        add("xconsumers", "XINFO", "CONSUMERS", "x:0", "g1")
        add("exact", "XPENDING", "x:0", "g1")
        add("xpending", "XPENDING", "x:0", "g1", "-", "+", 10)
        add("exact", "XPENDING", "x:0", "nogroup")
        add("exact", "XINFO", "CONSUMERS", "x:0", "nogroup")
        for i in range(3):
            add("exact", "PFCOUNT", f"hll:{i}")
        add("exact", "PFCOUNT", "hll:0", "hll:1", "nokey")
        add("exact", "PFCOUNT", "s:5")
        for i in range(2):
            k = f"geo:{i}"
            add("exact", "GEOPOS", k, "nomember")
            add("exact" if version == 7 else "coords", "GEOSEARCH", k, "FROMLONLAT", 0, 0, "BYRADIUS", 5000, "km", "ASC", "WITHCOORD", "WITHDIST", "WITHHASH")
            add("exact", "GEOSEARCH", k, "FROMLONLAT", 10, 10, "BYBOX", 8000, 8000, "km", "DESC", "COUNT", 3)
            add("exact", "GEORADIUS_RO", k, 20, 20, 3000, "mi", "WITHDIST", "ASC")
        if arrays:
            for i in range(6):
                k = f"ar:{i}"
                add("exact", "TYPE", k)
                add("exact", "ARLEN", k)
                add("exact", "ARCOUNT", k)
                add("exact", "ARNEXT", k)
                add("exact", "ARGET", k, rnd.choice([0, 3, 4096, 70000, 5, "007", "+3"]))
                add("exact", "ARMGET", k, 0, 1, 10, 99)
                add("exact", "ARGETRANGE", k, 0, 12)
                add("exact", "ARGETRANGE", k, 12, 0)
                add("exact", "ARSCAN", k, 0, 100000)
                add("exact", "ARSCAN", k, 100000, 0, "LIMIT", 2)
                add("exact", "ARLASTITEMS", k, rnd.choice([1, 3, 5, 50]), *(["REV"] if rnd.random() < 0.5 else []))
                for op in ("SUM", "MIN", "MAX", "AND", "OR", "XOR", "USED"):
                    add("exact", "AROP", k, 0, 100000, op)
                add("exact", "AROP", k, 100000, 0, "SUM")
                add("exact", "AROP", k, 0, 100000, "MATCH", rnd.choice(["1", "1.5", "abc", "x", ""]))
                add("dump", "DUMP", k)
            add("exact", "ARGET", "ar:0", -1)
            add("exact", "ARGET", "ar:0", 2 ** 64 - 1)
            add("exact", "ARGETRANGE", "ar:0", 0, 2000000)
            add("exact", "ARSCAN", "ar:0", 0, 5, "LIMIT", 0)
            add("exact", "ARGET", "s:0", 0)
            add("exact", "ARLASTITEMS", "ar:2", 0)
            add("exact", "ARLASTITEMS", "ar:2", "x")
            add("exact", "ARLASTITEMS", "nokey", 3, "REV")
            add("exact", "AROP", "nokey", 0, 5, "SUM")
            add("exact", "AROP", "nokey", 0, 5, "USED")
            add("exact", "AROP", "ar:5", 0, 5, "AVG")
            add("exact", "AROP", "ar:5", 0, 5, "MATCH")
            add("exact", "AROP", "ar:5", 0, 5, "SUM", "extra")
            add("exact", "AROP", "ar:5", 3, 12, "SUM")
        # errors and wrong types
        add("exact", "GET", "l:0")
        add("exact", "LRANGE", "s:0", 0, 1)
        add("exact", "HGET", "z:0", "x")
        add("exact", "ZRANGE", "z:0", "x", 1)
        add("exact", "ZRANGE", "z:0", 0, 1, "LIMIT", 0, 1)
        add("exact", "ZRANGEBYSCORE", "z:0", "a", 1)
        add("exact", "ZRANGE", "z:0", "a", "b", "BYLEX", "WITHSCORES")
        add("exact", "GETRANGE", "s:0", "x", 1)
        add("exact", "SCAN", "abc")
        add("exact", "SCAN", "0", "COUNT", 0)
        add("exact", "XRANGE", "x:0", "abc", "+")
        add("exact", "SINTERCARD", 0, "set:1")
        add("exact", "LPOS", "l:0", "a", "COUNT", -1)
        add("exact", "GEODIST", "geo:0", "a", "b", "parsec")
    add("exact", "SELECT", 0)
    return cmds


def normalize(how, reply, master):
    if isinstance(reply, tuple):
        return reply
    if how == "bag" and isinstance(reply, (list, set)):
        return sorted(reply)
    if how == "hashbag":
        if isinstance(reply, dict):
            return sorted(reply.items())
        return sorted(zip(reply[0::2], reply[1::2]))
    if how == "xinfo" and isinstance(reply, (list, dict)):
        d = dict(zip(reply[0::2], reply[1::2])) if isinstance(reply, list) else dict(reply)
        d.pop(b"radix-tree-keys", None)
        d.pop(b"radix-tree-nodes", None)
        return sorted(d.items(), key=lambda kv: kv[0])
    if how == "coords" and isinstance(reply, list):
        # 7.2+ prints coordinates with the shortest round-trip digits, 7.0 (which we answer as) with %.17Lf.
        return [[x if not isinstance(x, list) else [round(float(c), 9) for c in x] for x in item] for item in reply]
    if how == "xgroups" and isinstance(reply, list):
        # entries-read (and the lag computed from it) is not in what a 7.0 master propagates for XREADGROUP
        # (XCLAIM ... LASTID, no XGROUP SETID ... ENTRIESREAD), so a replica fed by the stream has none.
        out = []
        for g in reply:
            d = dict(zip(g[0::2], g[1::2])) if isinstance(g, list) else dict(g)
            d.pop(b"entries-read", None)
            d.pop(b"lag", None)
            out.append(sorted(d.items()))
        return out
    if how == "xconsumers":
        out = []
        for c in reply:
            d = dict(zip(c[0::2], c[1::2])) if isinstance(c, list) else dict(c)
            d.pop(b"idle", None)
            d.pop(b"inactive", None)
            out.append(sorted(d.items()))
        return out
    if how == "xpending":
        return [e[:2] + e[3:] for e in reply]
    return reply


def flat_members(reply):
    if isinstance(reply, (list, set)):
        out = []
        for x in reply:
            out.extend(x if isinstance(x, list) else [x])
        return out
    return [reply]


def compare(master_port, replica_port, seed, resp, version, arrays=False):
    rnd = random.Random(seed * 7919 + resp)
    m, o = conn(master_port, resp), conn(replica_port, resp)
    scratch = conn(master_port, 2)
    call(scratch, "SELECT", 9)
    diffs = []
    count = 0
    for how, args in read_commands(rnd, resp, version, arrays):
        count += 1
        if how == "scan":
            cmd, key, extra = args[0], args[1], args[2:]
            key = None if key == "None" else key
            a, b = scan_all(m, cmd, key, extra), scan_all(o, cmd, key, extra)
        elif how in ("randfield", "randmember"):
            a, b = call(m, *args), call(o, *args)
            # Shape and membership: same type and length; every returned string is in the master's key.
            if isinstance(a, tuple) or isinstance(b, tuple) or type(a) != type(b) \
                    or (isinstance(a, list) and len(a) != len(b)):
                if a != b:
                    diffs.append((args, a, b))
                continue
            key = args[1]
            allowed = set()
            for part in (call(m, "HGETALL", key), call(m, "SMEMBERS", key), call(m, "ZRANGE", key, 0, -1, "WITHSCORES")):
                if isinstance(part, dict):
                    part = [x for kv in part.items() for x in kv]
                if isinstance(part, (list, set)):
                    allowed.update(x for p in part for x in (p if isinstance(p, list) else [p]))
            stray = [x for x in flat_members(b) if isinstance(x, bytes) and x not in allowed]
            if stray:
                diffs.append((args, "members not in the key", stray[:5]))
            continue
        else:
            a, b = call(m, *args), call(o, *args)
        if how == "dump" and a != b and isinstance(a, bytes) and isinstance(b, bytes):
            # Our LZF output may differ from Redis's while meaning the same value: RESTORE our payload on
            # the master (db 9, never compared) and check that the master dumps it exactly as the original.
            scratch.send_command("RESTORE", "reads-diff:scratch", 0, b, "REPLACE")
            scratch.read_response()
            redumped = call(scratch, "DUMP", "reads-diff:scratch")
            call(scratch, "DEL", "reads-diff:scratch")
            if redumped == a:
                continue
        if how == "ttl":
            if isinstance(a, int) and isinstance(b, int) and abs(a - b) <= (1 if args[0] == "TTL" else 100):
                continue
        a, b = normalize(how, a, True), normalize(how, b, False)
        if a != b:
            diffs.append((args, a, b))
    for args, a, b in diffs[:40]:
        print(f"DIFF {args}\n  master: {str(a)[:400]}\n  ours:   {str(b)[:400]}")
    print(f"seed {seed} resp {resp}: {count} commands, {len(diffs)} differences")
    return 0 if not diffs else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["workload", "compare"])
    ap.add_argument("--master", type=int, required=True)
    ap.add_argument("--replica", type=int)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--resp", type=int, default=2)
    ap.add_argument("--master-version", type=int, default=7)
    ap.add_argument("--arrays", action="store_true", help="Redis 8.8+: arrays in the workload and the reads")
    a = ap.parse_args()
    if a.mode == "workload":
        workload(a.master, a.seed, a.arrays)
        return 0
    return compare(a.master, a.replica, a.seed, a.resp, a.master_version, a.arrays)


if __name__ == "__main__":
    sys.exit(main())
