"""Read a live server's contents through redis-py into the canonical "rdb-corpus-expected/1" form.

Replies are raw (response callbacks cleared): bytes, ints, lists. Nothing here parses RDB.
"""
import base64


def bstr(b):
    """A byte string in the canonical JSON form: str if valid UTF-8, else {"b64": ...}."""
    if isinstance(b, str):
        b = b.encode()
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(b).decode("ascii")}


def score(raw):
    f = float(raw)
    if f == float("inf"):
        return "inf"
    if f == float("-inf"):
        return "-inf"
    return f  # json writes repr(f): the shortest round-trip form


def _pairs(flat):
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


def _dict(flat):
    return {k.decode(): v for k, v in _pairs(flat)}


def _id(b):
    return b.decode() if isinstance(b, bytes) else b


def database_count(c):
    return int(c.execute_command("CONFIG", "GET", "databases")[1])


def scan_keys(c):
    """All keys of the client's DB (SCAN does not touch keys), sorted by raw bytes."""
    keys, cursor = set(), b"0"
    while True:
        cursor, batch = c.execute_command("SCAN", cursor, "COUNT", 1000)
        keys.update(batch)
        if cursor in (b"0", 0):
            return sorted(keys)


def keyspace(c):
    """INFO keyspace -> {db: (keys, expires)}."""
    text = c.execute_command("INFO", "keyspace").decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("db") and ":" in line:
            name, rest = line.split(":", 1)
            fields = dict(kv.split("=") for kv in rest.split(","))
            out[int(name[2:])] = (int(fields["keys"]), int(fields["expires"]))
    return out


def pre_save_counters(server, policy):
    """OBJECT FREQ (lfu) or OBJECT IDLETIME (lru) of every key, read without touching keys.
    Returns {(db, key): value}."""
    if policy not in ("lfu", "lru"):
        return {}
    c0 = server.client()
    out = {}
    for db, _ in sorted(keyspace(c0).items()):
        c = server.client(db)
        for k in scan_keys(c):
            sub = "FREQ" if policy == "lfu" else "IDLETIME"
            out[(db, k)] = int(c.execute_command("OBJECT", sub, k))
        c.close()
    c0.close()
    return out


def stream_value(c, key, v7, v8=False, nack_zones=None):
    entries = [[_id(eid), [[bstr(f), bstr(v)] for f, v in _pairs(fields)]]
               for eid, fields in c.execute_command("XRANGE", key, "-", "+")]
    info = _dict(c.execute_command("XINFO", "STREAM", key, "FULL", "COUNT", 0))
    out = {
        "entries": entries,
        "length": info["length"],
        "listpack_nodes": info["radix-tree-keys"],
        "last_generated_id": _id(info["last-generated-id"]),
    }
    if v7:
        out["max_deleted_entry_id"] = _id(info["max-deleted-entry-id"])
        out["entries_added"] = info["entries-added"]
        out["recorded_first_entry_id"] = _id(info["recorded-first-entry-id"])
    groups = []
    for graw in info["groups"] or []:
        g = _dict(graw)
        group = {"name": bstr(g["name"]), "last_delivered_id": _id(g["last-delivered-id"])}
        if v7:
            group["entries_read"] = g["entries-read"]  # None when the server reports it unknown
        group["pel_count"] = g["pel-count"]
        # Redis 8.8+ names no consumer ("") for an entry in the group's NACK zone (released by XNACK).
        group["pending"] = [[_id(i), bstr(cn) if cn else None, t, n] for i, cn, t, n in g["pending"]]
        if "nacked-count" in g and g["nacked-count"] > 0:
            # XINFO gives the zone's size and its entries (no consumer), not their order: the order is the
            # one the dataset released them in (`Builder.nack`), checked against what the server reports.
            gname = g["name"] if isinstance(g["name"], bytes) else str(g["name"]).encode()
            zone = (nack_zones or {}).get((key if isinstance(key, bytes) else key.encode(), gname))
            unowned = sorted(p[0] for p in group["pending"] if p[1] is None)
            if zone is None or len(zone) != g["nacked-count"] or sorted(zone) != unowned:
                raise RuntimeError(f"stream {key!r} group {g['name']!r}: NACK zone {zone} but the server reports "
                                   f"{g['nacked-count']} entries without a consumer: {unowned}")
            group["nacked"] = list(zone)
        consumers = []
        for craw in g["consumers"]:
            cd = _dict(craw)
            consumers.append({
                "name": bstr(cd["name"]),
                "seen_time": cd["seen-time"],
                **({"active_time": cd["active-time"]} if v8 else {}),
                "pel_count": cd["pel-count"],
                "pending": [[_id(i), t, n] for i, t, n in cd["pending"]],
            })
        consumers.sort(key=lambda x: _raw(x["name"]))
        group["consumers"] = consumers
        groups.append(group)
    groups.sort(key=lambda x: _raw(x["name"]))
    out["groups"] = groups
    return out


def _raw(js):
    if isinstance(js, dict):
        return base64.b64decode(js["b64"])
    return js.encode()


def field_expiries(c, key):
    """`field_expire_at_ms` of a hash (Redis 7.4+): [[field, unix_ms], ...] for the fields with a
    TTL (HPEXPIRETIME), sorted by field bytes; None when no field has one."""
    fields = sorted(c.execute_command("HKEYS", key))
    if not fields:
        return None
    times = c.execute_command("HPEXPIRETIME", key, "FIELDS", len(fields), *fields)
    out = [[bstr(f), t] for f, t in zip(fields, times) if t != -1]
    if any(t < 0 for _, t in out):
        raise RuntimeError(f"key {key!r}: HPEXPIRETIME answered {times}")
    return out or None


def key_value(c, key, typ, v7, v8=False, nack_zones=None):
    if typ == "string":
        return bstr(c.execute_command("GET", key))
    if typ == "list":
        return [bstr(x) for x in c.execute_command("LRANGE", key, 0, -1)]
    if typ == "set":
        return [bstr(x) for x in sorted(c.execute_command("SMEMBERS", key))]
    if typ == "zset":
        flat = c.execute_command("ZRANGE", key, 0, -1, "WITHSCORES")
        pairs = sorted(((float(s), m, s) for m, s in _pairs(flat)), key=lambda t: (t[0], t[1]))
        return [[bstr(m), score(s)] for _, m, s in pairs]
    if typ == "hash":
        return [[bstr(f), bstr(v)] for f, v in sorted(_pairs(c.execute_command("HGETALL", key)))]
    if typ == "stream":
        return stream_value(c, key, v7, v8, nack_zones)
    if typ == "array":
        # Redis 8.10: ARSCAN lists the elements present, by index; ARNEXT is the insert cursor plus one (0: none,
        # nil: the cursor at 2^64-2).
        pairs = c.execute_command("ARSCAN", key, 0, 2 ** 64 - 2)  # [[index, value], ...]
        nxt = c.execute_command("ARNEXT", key)
        return {"insert_idx": None if nxt == 0 else (2 ** 64 - 2 if nxt is None else int(nxt) - 1),
                "elements": [[int(i), bstr(v)] for i, v in pairs]}
    raise ValueError(f"unexpected type {typ} for key {key!r}")


def functions(c, v7):
    if not v7:
        return []
    libs = []
    for raw in c.execute_command("FUNCTION", "LIST", "WITHCODE"):
        d = _dict(raw)
        fns = []
        for fraw in d["functions"]:
            fd = _dict(fraw)
            fns.append({
                "name": fd["name"].decode(),
                "description": fd["description"].decode() if fd["description"] is not None else None,
                "flags": sorted(x.decode() for x in fd["flags"]),
            })
        fns.sort(key=lambda x: x["name"])
        libs.append({
            "library_name": d["library_name"].decode(),
            "engine": d["engine"].decode(),
            "functions": fns,
            "library_code": d["library_code"].decode(),
        })
    libs.sort(key=lambda x: x["library_name"])
    return libs


def check_expiry_62(c, db, k, exp):
    """6.2 has no PEXPIRETIME: check the expiry the generator set against the live PTTL."""
    pttl = c.execute_command("PTTL", k)
    if exp is None:
        if pttl != -1:
            raise RuntimeError(f"db {db} key {k!r}: PTTL {pttl} but no expiry was recorded")
        return
    t = c.execute_command("TIME")
    now_ms = int(t[0]) * 1000 + int(t[1]) // 1000
    if pttl < 0 or abs(now_ms + pttl - exp) > 5000:
        raise RuntimeError(f"db {db} key {k!r}: PTTL {pttl} does not match PEXPIREAT {exp}")


def databases(server, v7, expires62, counters, policy, v8=False, hfe=None, nack_zones=None):
    """The `databases` array. On 7.0 expiries come from PEXPIRETIME; 6.2 has no PEXPIRETIME, so
    they are the PEXPIREAT values the generator set (`expires62`: {(db, key): ms}), each checked
    against the live PTTL (within 5 s) by the caller."""
    c0 = server.client()
    ks = keyspace(c0)
    out = []
    for db in sorted(ks):
        c = server.client(db)
        keys = []
        for k in scan_keys(c):
            typ = c.execute_command("TYPE", k).decode()
            enc = c.execute_command("OBJECT", "ENCODING", k).decode()
            if v7:
                pe = c.execute_command("PEXPIRETIME", k)
                exp = None if pe == -1 else pe
            else:
                exp = expires62.get((db, k))
                check_expiry_62(c, db, k, exp)
            rec = {"key": bstr(k), "type": typ, "encoding": enc, "expire_at_ms": exp}
            if policy == "lfu":
                rec["lfu_freq"] = counters[(db, k)]
            elif policy == "lru":
                rec["lru_idle_s"] = counters[(db, k)]
            if (v8 if hfe is None else hfe) and typ == "hash":
                fe = field_expiries(c, k)
                if fe is not None:
                    rec["field_expire_at_ms"] = fe
            val = key_value(c, k, typ, v7, v8, nack_zones)
            if typ == "string":
                raw = c.execute_command("GET", k)
                if raw.startswith(b"HYLL") and len(raw) >= 16 and raw[4] in (0, 1):
                    rec["hll"] = {"encoding": "dense" if raw[4] == 0 else "sparse"}
            rec["value"] = val
            keys.append(rec)
        n_exp = sum(1 for r in keys if r["expire_at_ms"] is not None)
        if (len(keys), n_exp) != ks[db]:
            raise RuntimeError(f"db {db}: INFO keyspace says {ks[db]}, scanned {len(keys)} keys / {n_exp} expires")
        out.append({"db": db, "key_count": len(keys), "expires_count": n_exp, "keys": keys})
        c.close()
    c0.close()
    return out


ENCODING_CONFIG = {
    True: ["hash-max-listpack-entries", "hash-max-listpack-value", "set-max-intset-entries",
           "set-max-listpack-entries", "set-max-listpack-value",
           "zset-max-listpack-entries", "zset-max-listpack-value", "list-max-listpack-size",
           "list-compress-depth", "stream-node-max-entries", "stream-node-max-bytes",
           "rdbcompression", "rdbchecksum", "maxmemory-policy", "lfu-log-factor", "lfu-decay-time"],
    False: ["hash-max-ziplist-entries", "hash-max-ziplist-value", "set-max-intset-entries",
            "zset-max-ziplist-entries", "zset-max-ziplist-value", "list-max-ziplist-size",
            "list-compress-depth", "stream-node-max-entries", "stream-node-max-bytes",
            "rdbcompression", "rdbchecksum", "maxmemory-policy", "lfu-log-factor", "lfu-decay-time"],
}


def config(c, v7):
    out = {}
    for name in ENCODING_CONFIG[v7]:
        r = c.execute_command("CONFIG", "GET", name)
        if r:
            out[name] = r[1].decode()
    return out
